/**
 * What call control tells operators about its calls: one trace per call and the call metrics.
 *
 * Traces. A call is one span (`call`), a child of the span its first INVITE was handled in (the bus's
 * `nats.process`, itself a child of the edge's `sip.receive`), so the call continues the trace the edge
 * began. Each SIP transaction of the call is a span under it (`SIP <method>`, kind server for a request
 * received, client for one the suite sends), from its request to its final response (RFC 3261 §17:
 * a transaction is a request and the responses to it), keyed by role, leg, method and CSeq number. The
 * call's actor runs in its own fiber, outside the bus handler that received each message, so the
 * handling of an event and the performing of each action run with the right span as parent explicitly
 * (`Effect.withParentSpan`): messages the call sends (over NATS: the edge, the negotiator, the relay)
 * carry the call's trace context. A message received later starts its own trace at the edge (SIP carries
 * no trace context); its transaction span links to that trace.
 *
 * Attributes: `sip.call_id` (the leg's Call-ID), `sip.method`, `sip.status` (final), `sip.leg`, `sip.cseq`.
 * Events: `sip.provisional` (a 1xx), `sip.retransmission` (the suite re-sent: Timer A, E, R or P),
 * `sip.retransmission_received` (the peer re-sent), `sip.failure` (a final status of 300 and above);
 * a transaction that ends in a 5xx, 6xx or 408, or without any final response, ends as an error.
 *
 * Metrics (labels from bounded sets: known methods, statuses the suite's own messages carry, timers).
 * Not a state machine: this module keeps spans by key and never decides anything the call does.
 */
import { KNOWN_METHODS, type SipMessage, type SipRequest, type SipResponse } from "@b2bua/sip"
import type { MetricsShape } from "@b2bua/telemetry"
import { Clock, Data, Effect, Exit, Option, Tracer } from "effect"
import type { Call, CallAction, CallEvent, CallTimer } from "./Call.js"

export const methodLabel = (method: string): string => (KNOWN_METHODS.has(method) ? method : "other")
const statusLabel = (status: number): string => (status >= 100 && status <= 699 ? String(status) : "other")

/** The timers whose firing re-sends a message (RFC 3261 §17.1.1.2 A, §17.1.2.2 E, §13.3.1.4, RFC 3262 §3). */
const RETRANSMIT_TIMERS: ReadonlySet<CallTimer> = new Set<CallTimer>(["A", "E", "R", "P"])

/** Call durations from one second to two hours: the span of ordinary calls. */
export const CALL_DURATION_BUCKETS_S: ReadonlyArray<number> = [
  1, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200,
]
/** Setup times (INVITE to the answer) from 100 ms to 3 minutes (Timer C). */
export const CALL_SETUP_BUCKETS_S: ReadonlyArray<number> = [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 180]

/** A final status that ends a transaction's span as an error (the span's status, not only an event). */
export class SipFailure extends Data.TaggedError("SipFailure")<{ readonly status: number | undefined }> {
  override get message(): string {
    return this.status === undefined ? "no final response" : `SIP ${this.status}`
  }
}

const isError = (status: number): boolean => status >= 500 || status === 408

export const makeCallMetrics = (metrics: MetricsShape, activeCalls: () => number) => {
  metrics.observe(
    "cc_calls_active",
    { description: "calls in progress (not yet ended) on this instance" },
    () => [[{}, activeCalls()]],
  )
  return {
    attempts: metrics.counter("cc_call_attempts_total", {
      description: "initial INVITEs received (call attempts, seizures): rate() is attempts per second",
    }),
    started: metrics.counter("cc_calls_started_total", {
      description: "calls admitted (a B-leg was attempted)",
    }),
    answered: metrics.counter("cc_calls_answered_total", {
      description: "calls answered (2xx relayed to the caller): answered / attempts is the ASR",
    }),
    ended: metrics.counter("cc_calls_ended_total", {
      description: "calls ended, by disposition",
      labels: ["disposition"],
    }),
    failures: metrics.counter("cc_call_failures_total", {
      description: "calls that ended without an answer, by the final SIP status sent to the caller",
      labels: ["status"],
    }),
    duration: metrics.histogram("cc_call_duration_seconds", {
      description: "answered calls, answer to end: sum / count is the average call duration",
      unit: "s",
      boundaries: CALL_DURATION_BUCKETS_S,
    }),
    setup: metrics.histogram("cc_call_setup_seconds", {
      description: "answered calls, INVITE to answer (post-dial delay and ringing)",
      unit: "s",
      boundaries: CALL_SETUP_BUCKETS_S,
    }),
    retransmissions: metrics.counter("cc_retransmissions_total", {
      description: "messages the suite re-sent, by timer (A: INVITE, E: BYE, R: 2xx, P: reliable 1xx)",
      labels: ["timer"],
    }),
    retransmissionsReceived: metrics.counter("cc_retransmissions_received_total", {
      description: "requests and responses the peers re-sent, by method",
      labels: ["method"],
    }),
    mailboxOverflows: metrics.counter("cc_mailbox_overflows_total", {
      description: "messages dropped because a call's mailbox was full (SIP re-sends them)",
    }),
  }
}

export type CallMetrics = ReturnType<typeof makeCallMetrics>

type Leg = "A" | "B"

interface CallTrace {
  readonly span: Tracer.Span
  /** Open transactions by key (`uas|A|INVITE|1`). */
  readonly open: Map<string, Tracer.Span>
  /** Transactions already ended (retransmissions of their messages are recognised). */
  readonly ended: Set<string>
  startedAt: number
  answeredAt: number | undefined
  /** The event being handled (its sends are retransmissions when it is a retransmission timer). */
  current: CallEvent | undefined
}

/** Whatever holds a call: call control's actor (the trace is kept beside it, not in it). */
export interface Traced {
  readonly call: Call
}

/** Most ended transaction keys kept per call: beyond it the oldest are forgotten (a long call's re-INVITEs). */
const ENDED_KEYS = 64

const txKey = (role: "uas" | "uac", leg: Leg, method: string, seq: number) =>
  `${role}|${leg}|${method}|${seq}`
const responseKey = (role: "uas" | "uac", leg: Leg, m: SipResponse) =>
  txKey(role, leg, m.cseq.method, m.cseq.seq)
const requestKey = (role: "uas" | "uac", leg: Leg, m: SipRequest) => txKey(role, leg, m.method, m.cseq.seq)

const legCallId = (call: Call, leg: Leg) => (leg === "A" ? call.aInvite.callId : call.bCallId)

export interface CallTelemetry {
  readonly metrics: CallMetrics
  /** The call's span, a child of the current span; the first INVITE's server transaction under it. */
  readonly started: (holder: Traced, options: { readonly takenOver: boolean }) => Effect.Effect<void>
  /** Remembers the span a message was received in (called in the bus handler), for a link from its transaction. */
  readonly received: (event: CallEvent) => Effect.Effect<void>
  /** Runs the handling of `event` as part of the call's trace. */
  readonly handling: <A, E, R>(
    holder: Traced,
    event: CallEvent,
    handle: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>
  /** Runs one action under the span it belongs to, and records what it sent or ended. */
  readonly performing: <A, E, R>(
    holder: Traced,
    action: CallAction,
    perform: Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E, R>
  /** A new INVITE refused before any call started (validation, challenge, routing, limits): `status` to A. */
  readonly refused: (status: number) => void
  /** The call's trace id (for its events and record), when it is traced. */
  readonly traceIdOf: (holder: Traced) => string | undefined
}

export const makeCallTelemetry = (metrics: MetricsShape, activeCalls: () => number): CallTelemetry => {
  const m = makeCallMetrics(metrics, activeCalls)
  const traces = new WeakMap<Traced, CallTrace>()
  /** The span each received message was handled in at the bus (a message is delivered once). */
  const receivedIn = new WeakMap<CallEvent, Tracer.AnySpan>()

  const forget = (trace: CallTrace, key: string) => {
    trace.open.delete(key)
    trace.ended.add(key)
    if (trace.ended.size > ENDED_KEYS) {
      const oldest = trace.ended.values().next()
      if (!oldest.done) trace.ended.delete(oldest.value)
    }
  }

  const openTransaction = (
    trace: CallTrace,
    key: string,
    call: Call,
    leg: Leg,
    role: "uas" | "uac",
    request: SipRequest,
    link: Tracer.AnySpan | undefined,
  ) =>
    Effect.map(
      Effect.makeSpan(`SIP ${methodLabel(request.method)}`, {
        parent: trace.span,
        kind: role === "uas" ? "server" : "client",
        attributes: {
          "sip.call_id": legCallId(call, leg),
          "sip.method": methodLabel(request.method),
          "sip.cseq": request.cseq.seq,
          "sip.leg": leg,
        },
        links: link === undefined ? [] : [{ span: link, attributes: { "b2bua.link": "received" } }],
      }),
      (span) => {
        trace.open.set(key, span)
        return span
      },
    )

  const endTransaction = (trace: CallTrace, key: string, status: number | undefined, now: bigint) => {
    const span = trace.open.get(key)
    if (span === undefined) return
    if (status !== undefined) span.attribute("sip.status", status)
    if (status === undefined || status >= 300)
      span.event(
        "sip.failure",
        now,
        status === undefined ? { reason: "no final response" } : { "sip.status": status },
      )
    span.end(now, status === undefined || isError(status) ? Exit.fail(new SipFailure({ status })) : Exit.void)
    forget(trace, key)
  }

  /** The span a received message belongs to; opens a server transaction for a new request. */
  const spanForEvent = (trace: CallTrace, call: Call, event: CallEvent, now: bigint) =>
    Effect.gen(function* () {
      if (event._tag !== "FromA" && event._tag !== "FromB") return trace.span
      const leg: Leg = event._tag === "FromA" ? "A" : "B"
      const msg: SipMessage = event.message
      if (msg.kind === "response") {
        const key = responseKey("uac", leg, msg)
        const span = trace.open.get(key)
        if (span === undefined) {
          if (trace.ended.has(key)) {
            m.retransmissionsReceived.add({ method: methodLabel(msg.cseq.method) })
            trace.span.event("sip.retransmission_received", now, {
              "sip.method": methodLabel(msg.cseq.method),
              "sip.status": msg.status,
              "sip.leg": leg,
            })
          }
          return trace.span
        }
        if (msg.status < 200) span.event("sip.provisional", now, { "sip.status": msg.status })
        return span
      }
      // An ACK is no transaction of its own: of a non-2xx it belongs to the INVITE's (RFC 3261 §17.1.1.3),
      // of a 2xx the UA core sends it outside any transaction (§13.2.2.4). It is handled under the call.
      if (msg.method === "ACK") return trace.span
      const key = requestKey("uas", leg, msg)
      const open = trace.open.get(key)
      if (open !== undefined || trace.ended.has(key)) {
        m.retransmissionsReceived.add({ method: methodLabel(msg.method) })
        ;(open ?? trace.span).event("sip.retransmission_received", now, {
          "sip.method": methodLabel(msg.method),
          "sip.leg": leg,
        })
        return open ?? trace.span
      }
      return yield* openTransaction(trace, key, call, leg, "uas", msg, receivedIn.get(event))
    })

  /** The span an action's message belongs to; opens a client transaction for a new request. */
  const spanForAction = (trace: CallTrace, call: Call, action: CallAction, now: bigint) =>
    Effect.gen(function* () {
      if (action._tag !== "SendA" && action._tag !== "SendB") return trace.span
      const leg: Leg = action._tag === "SendA" ? "A" : "B"
      const msg: SipMessage = action.message
      const resending = trace.current?._tag === "TimerFired" && RETRANSMIT_TIMERS.has(trace.current.timer)
      const key = msg.kind === "response" ? responseKey("uas", leg, msg) : requestKey("uac", leg, msg)
      let span = trace.open.get(key)
      if (resending && trace.current?._tag === "TimerFired") {
        m.retransmissions.add({ timer: trace.current.timer })
        ;(span ?? trace.span).event("sip.retransmission", now, {
          timer: trace.current.timer,
          "sip.leg": leg,
          ...(msg.kind === "response"
            ? { "sip.status": msg.status }
            : { "sip.method": methodLabel(msg.method) }),
        })
      }
      if (span === undefined && msg.kind === "request" && msg.method !== "ACK" && !trace.ended.has(key))
        span = yield* openTransaction(trace, key, call, leg, "uac", msg, undefined)
      return span ?? trace.span
    })

  /** The client transaction a peer's final response (the event being handled) ends, and its status. */
  const finalOf = (event: CallEvent | undefined): { key: string; status: number } | undefined => {
    if (event === undefined || (event._tag !== "FromA" && event._tag !== "FromB")) return undefined
    const msg = event.message
    if (msg.kind !== "response" || msg.status < 200) return undefined
    return { key: responseKey("uac", event._tag === "FromA" ? "A" : "B", msg), status: msg.status }
  }

  /** The call ended: its open transactions end too (the one whose final response ended it with that status). */
  const closeAll = (trace: CallTrace, now: bigint) => {
    const final = finalOf(trace.current)
    for (const key of [...trace.open.keys()])
      endTransaction(trace, key, key === final?.key ? final.status : undefined, now)
  }

  return {
    metrics: m,
    started: (holder, options) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeNanos
        const call = holder.call
        const span = yield* Effect.makeSpan("call", {
          attributes: {
            "sip.call_id": call.aInvite.callId,
            "b2bua.b_call_id": call.bCallId,
            "b2bua.taken_over": options.takenOver,
          },
        })
        const trace: CallTrace = {
          span,
          open: new Map(),
          ended: new Set(),
          startedAt: millis(now),
          answeredAt: call.phase === "Answered" ? millis(now) : undefined,
          current: undefined,
        }
        traces.set(holder, trace)
        if (options.takenOver) return
        m.started.add({})
        const invite = call.aInvite
        yield* openTransaction(trace, requestKey("uas", "A", invite), call, "A", "uas", invite, undefined)
      }),
    received: (event) =>
      Effect.map(Effect.serviceOption(Tracer.ParentSpan), (span) => {
        if (Option.isSome(span)) receivedIn.set(event, span.value)
      }),
    handling: (holder, event, handle) =>
      Effect.suspend(() => {
        const trace = traces.get(holder)
        if (trace === undefined) return handle
        return Effect.gen(function* () {
          const now = yield* Clock.currentTimeNanos
          const before = holder.call
          const span = yield* spanForEvent(trace, holder.call, event, now)
          const previous = trace.current
          trace.current = event
          const result = yield* handle.pipe(
            Effect.withParentSpan(span),
            Effect.annotateLogs({ callId: holder.call.aInvite.callId }),
            Effect.ensuring(
              Effect.sync(() => {
                trace.current = previous
              }),
            ),
          )
          yield* stepped(trace, holder.call, before, event)
          return result
        })
      }),
    performing: (holder, action, perform) =>
      Effect.suspend(() => {
        const trace = traces.get(holder)
        if (trace === undefined) return perform
        return Effect.gen(function* () {
          const now = yield* Clock.currentTimeNanos
          if (action._tag === "Attempt") {
            // Failover: the previous attempt's INVITE transaction ends, with the failure code that moved the
            // call on, or without a final response (Timer B).
            const final = finalOf(trace.current)
            for (const key of [...trace.open.keys()])
              if (key.startsWith("uac|B|INVITE|"))
                endTransaction(trace, key, key === final?.key ? final.status : undefined, now)
            trace.span.attribute("b2bua.outbound_trunk", action.trunk)
          }
          const span = yield* spanForAction(trace, holder.call, action, now)
          const result = yield* perform.pipe(
            Effect.withParentSpan(span),
            Effect.annotateLogs({ callId: holder.call.aInvite.callId }),
          )
          const after = yield* Clock.currentTimeNanos
          if (
            (action._tag === "SendA" || action._tag === "SendB") &&
            action.message.kind === "response" &&
            action.message.status >= 200
          )
            endTransaction(
              trace,
              responseKey("uas", action._tag === "SendA" ? "A" : "B", action.message),
              action.message.status,
              after,
            )
          if (action._tag === "Ended") ended(trace, holder.call, action.reason, after)
          return result
        })
      }),
    refused: (status) => m.failures.add({ status: statusLabel(status) }),
    traceIdOf: (holder) => traces.get(holder)?.span.traceId,
  }

  /** After an event was handled: a peer's final response ends its client transaction; the answer counts once. */
  function stepped(trace: CallTrace, call: Call, before: Call, event: CallEvent) {
    return Effect.gen(function* () {
      const now = yield* Clock.currentTimeNanos
      const final = finalOf(event)
      if (final !== undefined && trace.open.has(final.key))
        endTransaction(trace, final.key, final.status, now)
      if (before.phase !== "Answered" && call.phase === "Answered" && trace.answeredAt === undefined) {
        trace.answeredAt = millis(now)
        m.answered.add({})
        m.setup.record({}, (trace.answeredAt - trace.startedAt) / 1000)
        trace.span.event("call.answered", now)
      }
    })
  }

  function ended(trace: CallTrace, call: Call, reason: string, now: bigint) {
    closeAll(trace, now)
    const status = call.aFinal?.status
    const answered = trace.answeredAt !== undefined
    const disposition = answered ? "answered" : status === 487 ? "cancelled" : "failed"
    m.ended.add({ disposition })
    if (answered) m.duration.record({}, Math.max(0, millis(now) - (trace.answeredAt ?? 0)) / 1000)
    else m.failures.add({ status: status === undefined ? "none" : statusLabel(status) })
    trace.span.attribute("b2bua.disposition", disposition)
    trace.span.attribute("b2bua.reason", reason)
    if (status !== undefined) trace.span.attribute("sip.status", status)
    if (!answered) trace.span.event("call.failed", now, { "sip.status": status ?? 0, reason })
    trace.span.end(
      now,
      !answered && status !== undefined && isError(status)
        ? Exit.fail(new SipFailure({ status }))
        : Exit.void,
    )
  }
}

const millis = (nanos: bigint): number => Number(nanos / 1_000_000n)
