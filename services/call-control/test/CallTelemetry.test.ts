/**
 * The call's trace and metrics as the actor shell drives them: the pure Call machine steps through a
 * call (Timer A retransmission, 180, 200, ACK, a retransmitted INVITE, BYE), each event handled and each
 * action performed through CallTelemetry, spans kept in memory by the telemetry layer, metrics recorded
 * by the metrics API's recording implementation. Time is the TestClock's.
 */
import {
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { recordingMetrics, Telemetry, type TelemetryShape, telemetryLayer } from "@b2bua/telemetry"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { type Call, type CallAction, type CallEvent, startCall, stepCall } from "../src/Call.js"
import { makeCallTelemetry } from "../src/CallTelemetry.js"
import { guideInvite, testIdentity, testTarget } from "./fixtures.js"

const bResponse = (call: Call, status: number): SipResponse =>
  parseMessageOrThrow(
    serializeMessage(
      createResponse(call.bInvite, status, {
        toTag: "callee1",
        headers: status < 300 ? [["Contact", "<sip:callee@198.51.100.20:5080>"]] : [],
      }),
    ),
  ) as SipResponse

const aBye = (call: Call): SipRequest =>
  parseMessageOrThrow(
    Buffer.from(
      `BYE sip:b2bua@192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-bye\r\nFrom: <sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21\r\nTo: <sip:2142622000@Telcosipserver.com>;tag=${call.aTag}\r\nCall-ID: ${call.aInvite.callId}\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest

const aAck = (call: Call): SipRequest =>
  parseMessageOrThrow(
    Buffer.from(
      `ACK sip:b2bua@192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-ack\r\nFrom: <sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21\r\nTo: <sip:2142622000@Telcosipserver.com>;tag=${call.aTag}\r\nCall-ID: ${call.aInvite.callId}\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`,
    ),
  ) as SipRequest

const memory = telemetryLayer({
  service: "call-control",
  instance: "cc1",
  exporter: "memory",
  otlpEndpoint: "http://127.0.0.1:1",
  metrics: undefined,
})

type ReadableSpan = ReturnType<TelemetryShape["finishedSpans"]>[number]
const attr = (s: ReadableSpan, k: string) => s.attributes[k]

describe("CallTelemetry", () => {
  it("a call is a span with a span per transaction; retransmissions and the answer are recorded", async () => {
    const recorded = recordingMetrics()
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = makeCallTelemetry(recorded.metrics, () => 1)
        const [first, startActions] = startCall(guideInvite(), testIdentity, [testTarget])
        const holder = { call: first }
        const perform = (actions: ReadonlyArray<CallAction>) =>
          Effect.forEach(actions, (a) => telemetry.performing(holder, a, Effect.void), { discard: true })
        const handle = (event: CallEvent) =>
          telemetry.handling(
            holder,
            event,
            Effect.suspend(() => {
              const [next, actions] = stepCall(holder.call, event)
              holder.call = next
              return perform(actions)
            }),
          )
        // Started inside the span the INVITE was received in (the bus's nats.process).
        yield* Effect.gen(function* () {
          yield* telemetry.started(holder, { takenOver: false })
          yield* perform(startActions)
        }).pipe(Effect.withSpan("nats.process"))
        yield* TestClock.adjust("500 millis")
        yield* handle({ _tag: "TimerFired", timer: "A" })
        yield* handle({ _tag: "FromB", message: bResponse(holder.call, 180) })
        yield* TestClock.adjust("2 seconds")
        yield* handle({ _tag: "FromB", message: bResponse(holder.call, 200) })
        yield* handle({ _tag: "FromA", message: aAck(holder.call) })
        // RFC 3261 §17.2.1: a copy of the initial INVITE is a retransmission, not a new transaction.
        yield* handle({ _tag: "FromA", message: guideInvite() })
        yield* TestClock.adjust("30 seconds")
        yield* handle({ _tag: "FromA", message: aBye(holder.call) })
        const byeB = holder.call.byes[0]!.request
        yield* handle({ _tag: "FromB", message: wire(createResponse(byeB, 200)) })
        expect(holder.call.phase).toBe("Ended")
        expect(telemetry.traceIdOf(holder)).toMatch(/^[0-9a-f]{32}$/)
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(memory), Effect.provide(TestClock.layer())),
    )
    const call = spans.find((s) => s.name === "call")!
    const receive = spans.find((s) => s.name === "nats.process")!
    expect(call.parentSpanContext?.spanId).toBe(receive.spanContext().spanId)
    expect(attr(call, "sip.call_id")).toBe(guideInvite().callId)
    expect(attr(call, "b2bua.disposition")).toBe("answered")
    expect(call.events.map((e) => e.name)).toContain("call.answered")

    const children = spans.filter((s) => s.parentSpanContext?.spanId === call.spanContext().spanId)
    expect(children.map((s) => [s.name, attr(s, "sip.leg"), attr(s, "sip.status")])).toEqual([
      // In the order they ended: the 2xx relayed to A, then the handling of B's 2xx is over.
      ["SIP INVITE", "A", 200],
      ["SIP INVITE", "B", 200],
      ["SIP BYE", "A", 200],
      ["SIP BYE", "B", 200],
    ])
    const bInvite = children[1]!
    expect(bInvite.events.map((e) => [e.name, e.attributes?.timer ?? e.attributes?.["sip.status"]])).toEqual([
      ["sip.retransmission", "A"],
      ["sip.provisional", 180],
    ])
    const aInvite = children[0]!
    expect(aInvite.events.map((e) => e.name)).toEqual([])
    // The INVITE copy came after its transaction had ended: an event of the call.
    expect(call.events.map((e) => e.name)).toContain("sip.retransmission_received")
    expect(call.events.map((e) => e.name)).not.toContain("sip.failure")

    expect(recorded.values.get("cc_calls_started_total{}")).toBe(1)
    expect(recorded.values.get("cc_calls_answered_total{}")).toBe(1)
    expect(recorded.values.get("cc_retransmissions_total{timer=A}")).toBe(1)
    expect(recorded.values.get("cc_retransmissions_received_total{method=INVITE}")).toBe(1)
    expect(recorded.values.get("cc_calls_ended_total{disposition=answered}")).toBe(1)
    expect(recorded.records.get("cc_call_setup_seconds{}")).toEqual([2.5])
    expect(recorded.records.get("cc_call_duration_seconds{}")).toEqual([30])
    expect(recorded.observe("cc_calls_active")).toEqual([[{}, 1]])
  })

  it("a refused call: the failure on its spans and in the failures by status", async () => {
    const recorded = recordingMetrics()
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = makeCallTelemetry(recorded.metrics, () => 0)
        const [first, startActions] = startCall(guideInvite(), testIdentity, [testTarget])
        const holder = { call: first }
        yield* telemetry.started(holder, { takenOver: false })
        for (const a of startActions) yield* telemetry.performing(holder, a, Effect.void)
        const event: CallEvent = { _tag: "FromB", message: bResponse(holder.call, 503) }
        yield* telemetry.handling(
          holder,
          event,
          Effect.suspend(() => {
            const [next, actions] = stepCall(holder.call, event)
            holder.call = next
            return Effect.forEach(actions, (a) => telemetry.performing(holder, a, Effect.void), {
              discard: true,
            })
          }),
        )
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(memory), Effect.provide(TestClock.layer())),
    )
    const call = spans.find((s) => s.name === "call")!
    expect(attr(call, "b2bua.disposition")).toBe("failed")
    expect(attr(call, "sip.status")).toBe(503)
    expect(call.status.code).toBe(2) // ERROR
    for (const leg of ["A", "B"]) {
      const invite = spans.find((s) => s.name === "SIP INVITE" && attr(s, "sip.leg") === leg)!
      expect(attr(invite, "sip.status")).toBe(503)
      expect(invite.status.code).toBe(2)
      expect(invite.events.find((e) => e.name === "sip.failure")?.attributes).toEqual({ "sip.status": 503 })
    }
    expect(recorded.values.get("cc_call_failures_total{status=503}")).toBe(1)
    expect(recorded.values.get("cc_calls_ended_total{disposition=failed}")).toBe(1)
  })

  it("failover: the first attempt's INVITE ends with the code that moved the call on, the next gets its own", async () => {
    const recorded = recordingMetrics()
    const first = { ...testTarget, failoverCodes: [503] }
    const second = { ...testTarget, host: "198.51.100.21" }
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = makeCallTelemetry(recorded.metrics, () => 1)
        const [call, startActions] = startCall(guideInvite(), testIdentity, [first, second])
        const holder = { call }
        const step = (event: CallEvent) =>
          telemetry.handling(
            holder,
            event,
            Effect.suspend(() => {
              const [next, actions] = stepCall(holder.call, event)
              holder.call = next
              return Effect.forEach(actions, (a) => telemetry.performing(holder, a, Effect.void), {
                discard: true,
              })
            }),
          )
        yield* telemetry.started(holder, { takenOver: false })
        for (const a of startActions) yield* telemetry.performing(holder, a, Effect.void)
        yield* step({ _tag: "FromB", message: bResponse(holder.call, 503) })
        expect(holder.call.dest.host).toBe("198.51.100.21")
        yield* step({ _tag: "FromB", message: bResponse(holder.call, 200) })
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(memory), Effect.provide(TestClock.layer())),
    )
    const bInvites = spans.filter((s) => s.name === "SIP INVITE" && attr(s, "sip.leg") === "B")
    expect(bInvites.map((s) => [attr(s, "sip.cseq"), attr(s, "sip.status")])).toEqual([
      [1, 503],
      [2, 200],
    ])
  })
})

const wire = <M extends SipRequest | SipResponse>(m: M): M => parseMessageOrThrow(serializeMessage(m)) as M
