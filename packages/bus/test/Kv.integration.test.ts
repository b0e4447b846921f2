/** KV listing against a real nats-server: keys and entries see live keys only, filtered by subject. */
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { busLayer, jetStreamReplicasFrom, openKv } from "../src/index.js"

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

it("creates buckets with the bus's JetStream replicas: a single server refuses three copies", () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const refused = yield* openKv("test-replicas").pipe(Effect.flip)
        expect(refused.message).toMatch(/replicas/i)
      }).pipe(Effect.provide(busLayer({ servers: nats.url, name: "kv-replicas", jetStreamReplicas: 3 }))),
    ),
  ))

it("B2BUA_JETSTREAM_REPLICAS: 1 when unset, 1/3/5 accepted, anything else names the variable", () => {
  expect(jetStreamReplicasFrom({})).toBe(1)
  expect(jetStreamReplicasFrom({ B2BUA_JETSTREAM_REPLICAS: "3" })).toBe(3)
  expect(() => jetStreamReplicasFrom({ B2BUA_JETSTREAM_REPLICAS: "2" })).toThrow(
    'B2BUA_JETSTREAM_REPLICAS: expected 1, 3 or 5, got "2"',
  )
})
