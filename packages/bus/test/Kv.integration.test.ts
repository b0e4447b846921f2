/** KV listing against a real nats-server: keys and entries see live keys only, filtered by subject. */
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { busLayer, openKv } from "../src/index.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

const bytes = (s: string) => new TextEncoder().encode(s)

it("lists live keys and entries, with a subject filter, without deleted keys", () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const kv = yield* openKv("test-listing")
        expect(yield* kv.keys()).toEqual([])
        yield* kv.put("trunk.b", bytes("B"))
        yield* kv.put("trunk.a", bytes("A"))
        yield* kv.put("route.x", bytes("X"))
        yield* kv.put("trunk.gone", bytes("G"))
        yield* kv.remove("trunk.gone")
        expect(yield* kv.keys()).toEqual(["route.x", "trunk.a", "trunk.b"])
        const trunks = yield* kv.entries("trunk.>")
        expect(trunks.map((e) => [e.key, new TextDecoder().decode(e.value)])).toEqual([
          ["trunk.a", "A"],
          ["trunk.b", "B"],
        ])
      }).pipe(Effect.provide(busLayer({ servers: nats.url, name: "kv-listing" }))),
    ),
  ))
