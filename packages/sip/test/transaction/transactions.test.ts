/**
 * The four transaction machines, transition by transition (RFC 3261 §17, RFC 6026), with their timers
 * run under Effect's TestClock. Messages are plain strings here: the machines only carry them.
 */
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import {
  createInviteClient,
  createInviteServer,
  createNonInviteClient,
  createNonInviteServer,
  DEFAULT_TIMERS,
  type InviteClientEvent,
  type InviteServerEvent,
  type NonInviteClientEvent,
  type NonInviteServerEvent,
  stepInviteClient,
  stepInviteServer,
  stepNonInviteClient,
  stepNonInviteServer,
  type TimerName,
} from "../../src/index.js"
import { makeShell, sendTimes, tagsOf } from "./TestClockShell.js"

const run = <A>(program: Effect.Effect<A>): Promise<A> =>
  Effect.runPromise(program.pipe(Effect.provide(TestClock.layer())))

const inviteClient = (reliable: boolean) =>
  makeShell(
    createInviteClient("INVITE", reliable, DEFAULT_TIMERS),
    stepInviteClient<string>,
    (timer: TimerName) => ({ _tag: "TimerFired", timer }) as InviteClientEvent<string>,
  )
const nonInviteClient = (reliable: boolean) =>
  makeShell(
    createNonInviteClient("OPTIONS", reliable, DEFAULT_TIMERS),
    stepNonInviteClient<string>,
    (timer: TimerName) => ({ _tag: "TimerFired", timer }) as NonInviteClientEvent<string>,
  )
const inviteServer = (reliable: boolean) =>
  makeShell(
    createInviteServer("INVITE", reliable, DEFAULT_TIMERS),
    stepInviteServer<string>,
    (timer: TimerName) => ({ _tag: "TimerFired", timer }) as InviteServerEvent<string>,
  )
const nonInviteServer = (reliable: boolean) =>
  makeShell(
    createNonInviteServer("BYE", reliable, DEFAULT_TIMERS),
    stepNonInviteServer<string>,
    (timer: TimerName) => ({ _tag: "TimerFired", timer }) as NonInviteServerEvent<string>,
  )

describe("INVITE client transaction (RFC 3261 §17.1.1)", () => {
  it("§17.1.1.2 over UDP retransmits with Timer A doubling from T1, and Timer B times out at 64*T1", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* TestClock.adjust("40 seconds")
        // 0, then every doubling interval: 500, 1000, 2000, 4000, 8000, 16000 → sent at these times.
        expect(sendTimes(tx.log)).toEqual([0, 500, 1500, 3500, 7500, 15500, 31500])
        expect(tagsOf(tx.log, "Timeout")).toEqual([{ at: 32_000, effect: { _tag: "Timeout", timer: "B" } }])
        expect(tx.state()).toBe("Terminated")
        expect(tx.liveTimers()).toEqual([])
      }),
    ))

  it("§17.1.1.2 over a reliable transport sends once and still times out with Timer B", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(true)
        yield* tx.dispatch({ _tag: "Start" })
        yield* TestClock.adjust("40 seconds")
        expect(sendTimes(tx.log)).toEqual([0])
        expect(tagsOf(tx.log, "Timeout").map((r) => r.at)).toEqual([32_000])
      }),
    ))

  it("§17.1.1.2 a provisional response stops retransmissions and Timer B no longer fires", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* TestClock.adjust(1600)
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 180, response: "180" })
        yield* TestClock.adjust("60 seconds")
        expect(sendTimes(tx.log)).toEqual([0, 500, 1500])
        expect(tx.state()).toBe("Proceeding")
        expect(tagsOf(tx.log, "PassToTu").map((r) => r.effect)).toEqual([
          { _tag: "PassToTu", message: "180" },
        ])
        expect(tagsOf(tx.log, "Timeout")).toEqual([])
      }),
    ))

  it("§17.1.1.3 a 486 is passed up once, ACKed, and every retransmission of it is ACKed again until Timer D", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 486, response: "486" })
        yield* TestClock.adjust(1000)
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 486, response: "486" })
        expect(tx.state()).toBe("Completed")
        expect(tagsOf(tx.log, "PassToTu")).toHaveLength(1)
        expect(tagsOf(tx.log, "SendAck").map((r) => r.at)).toEqual([0, 1000])
        yield* TestClock.adjust(31_000)
        expect(tx.state()).toBe("Terminated")
        expect(tagsOf(tx.log, "Terminated").map((r) => r.at)).toEqual([32_000])
      }),
    ))

  it("RFC 6026 §8.4: a 2xx moves to Accepted, 2xx retransmissions reach the TU, Timer M ends it", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 200, response: "200" })
        yield* TestClock.adjust(500)
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 200, response: "200" })
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 180, response: "180 late" })
        expect(tx.state()).toBe("Accepted")
        expect(tagsOf(tx.log, "PassToTu").map((r) => r.effect)).toEqual([
          { _tag: "PassToTu", message: "200" },
          { _tag: "PassToTu", message: "200" },
        ])
        expect(sendTimes(tx.log)).toEqual([0])
        yield* TestClock.adjust(31_500)
        expect(tx.state()).toBe("Terminated")
      }),
    ))

  it("§17.1.4 a transport error terminates and informs the TU", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TransportError" })
        yield* TestClock.adjust("60 seconds")
        expect(tx.state()).toBe("Terminated")
        expect(tagsOf(tx.log, "TransportError")).toHaveLength(1)
        expect(sendTimes(tx.log)).toEqual([0])
      }),
    ))
})

describe("non-INVITE client transaction (RFC 3261 §17.1.2)", () => {
  it("§17.1.2.2 over UDP retransmits with Timer E doubling up to T2, Timer F → timeout at 64*T1", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* nonInviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* TestClock.adjust("40 seconds")
        expect(sendTimes(tx.log)).toEqual([
          0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
        ])
        expect(tagsOf(tx.log, "Timeout").map((r) => [r.at, r.effect])).toEqual([
          [32_000, { _tag: "Timeout", timer: "F" }],
        ])
      }),
    ))

  it("§17.1.2.2 in Proceeding, retransmissions continue every T2", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* nonInviteClient(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* TestClock.adjust(600)
        yield* tx.dispatch({ _tag: "ResponseReceived", status: 100, response: "100" })
        yield* TestClock.adjust(10_000)
        expect(tx.state()).toBe("Proceeding")
        // The running Timer E (1000 ms, due at 1500) fires and is then reset to T2.
        expect(sendTimes(tx.log)).toEqual([0, 500, 1500, 5500, 9500])
      }),
    ))

  it("§17.1.2.2 a final response completes it; Timer K is T4 over UDP and zero over TCP", () =>
    run(
      Effect.gen(function* () {
        const udp = yield* nonInviteClient(false)
        const tcp = yield* nonInviteClient(true)
        for (const tx of [udp, tcp]) {
          yield* tx.dispatch({ _tag: "Start" })
          yield* tx.dispatch({ _tag: "ResponseReceived", status: 200, response: "200" })
          yield* tx.dispatch({ _tag: "ResponseReceived", status: 200, response: "200 again" })
        }
        yield* TestClock.adjust(1)
        expect(tcp.state()).toBe("Terminated")
        expect(udp.state()).toBe("Completed")
        yield* TestClock.adjust(5000)
        expect(udp.state()).toBe("Terminated")
        expect(tagsOf(udp.log, "PassToTu")).toHaveLength(1)
        expect(sendTimes(tcp.log)).toEqual([0])
      }),
    ))
})

describe("INVITE server transaction (RFC 3261 §17.2.1)", () => {
  it("§17.2.1 absorbs retransmitted INVITEs, resending the last provisional", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteServer(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "RequestReceived" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 100, response: "100" })
        yield* TestClock.adjust(500)
        yield* tx.dispatch({ _tag: "RequestReceived" })
        expect(tagsOf(tx.log, "PassToTu")).toHaveLength(1)
        expect(tagsOf(tx.log, "Send").map((r) => [r.at, r.effect])).toEqual([
          [0, { _tag: "Send", message: "100" }],
          [500, { _tag: "Send", message: "100" }],
        ])
      }),
    ))

  it("§17.2.1 retransmits a 486 with Timer G (T1 doubling to T2) until the ACK, then Timer I", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteServer(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 486, response: "486" })
        yield* TestClock.adjust(8000)
        yield* tx.dispatch({ _tag: "AckReceived", ack: "ACK" })
        expect(tx.state()).toBe("Confirmed")
        expect(sendTimes(tx.log)).toEqual([0, 500, 1500, 3500, 7500])
        yield* TestClock.adjust(5000)
        expect(tx.state()).toBe("Terminated")
        expect(tx.liveTimers()).toEqual([])
      }),
    ))

  it("§17.2.1 Timer H at 64*T1 without an ACK is a transaction failure", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteServer(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 503, response: "503" })
        yield* TestClock.adjust("40 seconds")
        expect(tagsOf(tx.log, "Timeout").map((r) => [r.at, r.effect])).toEqual([
          [32_000, { _tag: "Timeout", timer: "H" }],
        ])
        // G: 500, 1000, 2000, 4000, 4000 … capped at T2.
        expect(sendTimes(tx.log)).toEqual([
          0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
        ])
      }),
    ))

  it("§17.2.1 over a reliable transport the final response is sent once and Timer I is zero", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteServer(true)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 486, response: "486" })
        yield* TestClock.adjust(10_000)
        yield* tx.dispatch({ _tag: "AckReceived", ack: "ACK" })
        yield* TestClock.adjust(1)
        expect(sendTimes(tx.log)).toEqual([0])
        expect(tx.state()).toBe("Terminated")
      }),
    ))

  it("RFC 6026 §8.5–8.7: after a 2xx, Accepted absorbs INVITE retransmissions, passes ACKs up, Timer L ends it", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* inviteServer(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 200, response: "200" })
        yield* tx.dispatch({ _tag: "RequestReceived" })
        yield* TestClock.adjust(500)
        yield* tx.dispatch({ _tag: "TuResponse", status: 200, response: "200 again" })
        yield* tx.dispatch({ _tag: "AckReceived", ack: "ACK" })
        expect(tx.state()).toBe("Accepted")
        expect(sendTimes(tx.log)).toEqual([0, 500])
        expect(tagsOf(tx.log, "PassToTu").map((r) => r.effect)).toEqual([
          { _tag: "PassToTu", message: "INVITE" },
          { _tag: "PassToTu", message: "ACK" },
        ])
        yield* TestClock.adjust(31_500)
        expect(tx.state()).toBe("Terminated")
      }),
    ))
})

describe("non-INVITE server transaction (RFC 3261 §17.2.2)", () => {
  it("§17.2.2 absorbs retransmissions while Trying, resends the final response in Completed, Timer J", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* nonInviteServer(false)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "RequestReceived" })
        expect(sendTimes(tx.log)).toEqual([])
        yield* tx.dispatch({ _tag: "TuResponse", status: 200, response: "200" })
        yield* TestClock.adjust(1000)
        yield* tx.dispatch({ _tag: "RequestReceived" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 500, response: "late 500" })
        expect(tagsOf(tx.log, "Send").map((r) => [r.at, r.effect])).toEqual([
          [0, { _tag: "Send", message: "200" }],
          [1000, { _tag: "Send", message: "200" }],
        ])
        yield* TestClock.adjust(31_000)
        expect(tx.state()).toBe("Terminated")
      }),
    ))

  it("§17.2.2 over a reliable transport Timer J is zero", () =>
    run(
      Effect.gen(function* () {
        const tx = yield* nonInviteServer(true)
        yield* tx.dispatch({ _tag: "Start" })
        yield* tx.dispatch({ _tag: "TuResponse", status: 200, response: "200" })
        yield* TestClock.adjust(1)
        expect(tx.state()).toBe("Terminated")
      }),
    ))
})
