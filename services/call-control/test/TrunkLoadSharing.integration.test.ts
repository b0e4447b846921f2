/**
 * Trunk limits held across two call-control instances over a real nats-server: what one instance takes on a
 * trunk, the other counts from its load reports; when the calls end, the other sees them gone.
 */
import { busLayer } from "@b2bua/bus"
import { InstanceId, type Trunk } from "@b2bua/contracts"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { TrunkLimits } from "../src/routing/TrunkLimits.js"
import { shareTrunkLoad } from "../src/routing/TrunkLoadSharing.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

const trunk: Trunk = { name: "carrier", limits: { maxCalls: 2 } }

/** Polls `check` every 50 ms until it holds (at most `withinMs`): the reports arrive every 500 ms. */
const eventually = (check: () => boolean, withinMs = 3000) =>
  Effect.gen(function* () {
    const deadline = Date.now() + withinMs
    while (!check()) {
      if (Date.now() > deadline) return false
      yield* Effect.sleep(50)
    }
    return true
  })

it("a trunk's calls on one instance count against its limit on the other", () =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const first = new TrunkLimits()
        const second = new TrunkLimits()
        // Each instance has its own connection, open for the whole test.
        const bus1 = yield* Layer.build(busLayer({ servers: nats.url, name: "cc1" }))
        const bus2 = yield* Layer.build(busLayer({ servers: nats.url, name: "cc2" }))
        yield* shareTrunkLoad(InstanceId("cc1"), first).pipe(Effect.provide(bus1))
        yield* shareTrunkLoad(InstanceId("cc2"), second).pipe(Effect.provide(bus2))
        expect(second.check(trunk, Date.now()).ok).toBe(true)
        first.take(trunk, Date.now())
        second.take(trunk, Date.now())
        // Each holds one call locally: with the other's report, both are at the trunk's limit of 2.
        expect(yield* eventually(() => !first.check(trunk, Date.now()).ok)).toBe(true)
        expect(yield* eventually(() => !second.check(trunk, Date.now()).ok)).toBe(true)
        expect(second.check(trunk, Date.now())).toEqual({
          ok: false,
          reason: "trunk carrier at its limit of 2 calls",
        })
        // The first instance's call ends: its next report frees the slot on the second at once.
        first.release("carrier")
        expect(yield* eventually(() => second.check(trunk, Date.now()).ok, 1500)).toBe(true)
      }),
    ),
  ))
