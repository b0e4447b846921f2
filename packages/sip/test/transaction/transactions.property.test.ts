/**
 * Random event sequences: the machines never throw, a Terminated machine has no live timer, and once
 * Terminated nothing more happens.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  createInviteClient,
  createInviteServer,
  createNonInviteClient,
  createNonInviteServer,
  DEFAULT_TIMERS,
  stepInviteClient,
  stepInviteServer,
  stepNonInviteClient,
  stepNonInviteServer,
  type TimerName,
} from "../../src/index.js"
import { makeShell } from "./TestClockShell.js"

const status = fc.constantFrom(100, 180, 183, 200, 202, 302, 404, 486, 503, 603)
const wait = fc.integer({ min: 0, max: 40_000 })

type AnyEvent =
  | { readonly _tag: "ResponseReceived"; readonly status: number; readonly response: string }
  | { readonly _tag: "TuResponse"; readonly status: number; readonly response: string }
  | { readonly _tag: "RequestReceived" }
  | { readonly _tag: "AckReceived"; readonly ack: string }
  | { readonly _tag: "TransportError" }

const event: fc.Arbitrary<AnyEvent> = fc.oneof(
  status.map((s) => ({ _tag: "ResponseReceived" as const, status: s, response: String(s) })),
  status.map((s) => ({ _tag: "TuResponse" as const, status: s, response: String(s) })),
  fc.constant({ _tag: "RequestReceived" as const }),
  fc.constant({ _tag: "AckReceived" as const, ack: "ACK" }),
  fc.constant({ _tag: "TransportError" as const }),
)

const machines = {
  inviteClient: (reliable: boolean) =>
    makeShell(
      createInviteClient("R", reliable, DEFAULT_TIMERS),
      stepInviteClient<string>,
      (timer: TimerName) => ({
        _tag: "TimerFired" as const,
        timer: timer as "A" | "B" | "D" | "M",
      }),
    ),
  nonInviteClient: (reliable: boolean) =>
    makeShell(
      createNonInviteClient("R", reliable, DEFAULT_TIMERS),
      stepNonInviteClient<string>,
      (timer: TimerName) => ({
        _tag: "TimerFired" as const,
        timer: timer as "E" | "F" | "K",
      }),
    ),
  inviteServer: (reliable: boolean) =>
    makeShell(
      createInviteServer("R", reliable, DEFAULT_TIMERS),
      stepInviteServer<string>,
      (timer: TimerName) => ({
        _tag: "TimerFired" as const,
        timer: timer as "G" | "H" | "I" | "L",
      }),
    ),
  nonInviteServer: (reliable: boolean) =>
    makeShell(createNonInviteServer("R", reliable, DEFAULT_TIMERS), stepNonInviteServer<string>, () => ({
      _tag: "TimerFired" as const,
      timer: "J" as const,
    })),
}

describe("transaction machines under random events", () => {
  for (const [name, make] of Object.entries(machines)) {
    it(`${name}: never throws, ends with no live timers, is inert once Terminated`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.boolean(),
          fc.array(fc.tuple(event, wait), { maxLength: 12 }),
          async (reliable, script) => {
            await Effect.runPromise(
              Effect.gen(function* () {
                // Each machine accepts its own subset of events; the others are type-checked away here and
                // must be ignored at run time.
                const tx = yield* (make as (r: boolean) => ReturnType<typeof machines.inviteClient>)(reliable)
                const dispatch = tx.dispatch as (e: unknown) => Effect.Effect<void>
                yield* dispatch({ _tag: "Start" })
                for (const [e, ms] of script) {
                  yield* dispatch(e)
                  yield* TestClock.adjust(ms)
                }
                yield* TestClock.adjust("200 seconds")
                if (tx.state() === "Terminated") {
                  expect(tx.liveTimers()).toEqual([])
                  const before = tx.log.length
                  yield* dispatch({ _tag: "TransportError" })
                  expect(tx.log.length).toBe(before)
                }
              }).pipe(Effect.provide(TestClock.layer())),
            )
          },
        ),
        { numRuns: 150 },
      )
    })
  }
})
