/** Streams against a real nats-server: created once, durable publishes acknowledged, duplicates dropped by id. */
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { Bus, busLayer, ensureStream, publishDurable } from "../src/index.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

it("ensures a stream once and drops a re-published message with the same id", () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const definition = {
          name: "T_RECORDS",
          subjects: ["t.rec.>"],
          maxAgeMs: 60_000,
          maxBytes: 1 << 20,
          duplicateWindowMs: 60_000,
        }
        yield* ensureStream(definition)
        yield* ensureStream(definition)
        const bytes = new TextEncoder().encode("record")
        expect(yield* publishDurable("t.rec.a", bytes, { msgId: "call-a" })).toBe(false)
        expect(yield* publishDurable("t.rec.a", bytes, { msgId: "call-a" })).toBe(true)
        expect(yield* publishDurable("t.rec.b", bytes, { msgId: "call-b" })).toBe(false)
        const bus = yield* Bus
        const info = yield* Effect.promise(async () =>
          (await jetstreamManager(bus.connection)).streams.info("T_RECORDS"),
        )
        expect(info.state.messages).toBe(2)
        const unrouted = yield* Effect.flip(publishDurable("nobody.listens", bytes, { timeoutMs: 500 }))
        expect(unrouted._tag).toBe("BusError")
      }).pipe(Effect.provide(busLayer({ servers: nats.url, name: "streams" }))),
    ),
  ))
