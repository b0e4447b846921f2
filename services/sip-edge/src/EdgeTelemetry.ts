/**
 * What the edge tells operators: its metrics (declared once, updated per SIP message with bounded
 * labels) and the attributes of the span each received SIP message is handled in. The span's context
 * travels to call control in the envelope's `traceparent` header (the bus writes it from the current
 * span), so the edge's span is the root of the call's trace.
 *
 * Labels never carry raw input: methods outside the RFC 3261 / extension set become "other", parse
 * failures are counted by the parser's error code, statuses are the three digits the parser accepted.
 */
import { KNOWN_METHODS } from "@b2bua/sip"
import { LATENCY_BUCKETS_S, type MetricsShape } from "@b2bua/telemetry"
import { Effect, Exit } from "effect"

export const methodLabel = (method: string): string => (KNOWN_METHODS.has(method) ? method : "other")

/** A status code as a label: the parser only accepts 100-699, anything else reads "other". */
export const statusLabel = (status: number): string =>
  status >= 100 && status <= 699 ? String(status) : "other"

/** Why the edge answered 503 itself. */
export type OverloadCause =
  | "in_flight_limit"
  | "no_responders"
  | "timeout"
  | "bus_error"
  | "refused"
  | "bad_reply"
  | "draining"

/** Which hand-over a NATS request was (the subject names instances: not a label). */
export type HandOver = "new" | "owner" | "takeover" | "registrar"

export type RequestOutcome = "ok" | "no_responders" | "timeout" | "error"

/**
 * The method or status of bytes about to be sent, from the start line alone (services hand the edge
 * serialized SIP; parsing it again only for a label would cost more than the send).
 */
export const startLineLabels = (
  bytes: Uint8Array,
):
  | { readonly kind: "request"; readonly method: string }
  | { readonly kind: "response"; readonly status: string } => {
  // "SIP/2.0 " then three digits: a response.
  if (bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f && bytes[7] === 0x20) {
    const d = (i: number) => {
      const digit = (bytes[i] ?? 0) - 0x30
      return digit >= 0 && digit <= 9 ? digit : Number.NaN
    }
    const status = d(8) * 100 + d(9) * 10 + d(10)
    return { kind: "response", status: Number.isNaN(status) ? "other" : statusLabel(status) }
  }
  let end = 0
  while (end < bytes.length && end < 16 && bytes[end] !== 0x20) end++
  return {
    kind: "request",
    method: methodLabel(Buffer.from(bytes.buffer, bytes.byteOffset, end).toString("latin1")),
  }
}

export const makeEdgeMetrics = (metrics: MetricsShape) => ({
  requestsIn: metrics.counter("sip_edge_requests_received_total", {
    description: "SIP requests received and parsed, by method and transport",
    labels: ["method", "transport"],
  }),
  responsesIn: metrics.counter("sip_edge_responses_received_total", {
    description: "SIP responses received and parsed, by CSeq method, status and transport",
    labels: ["method", "status", "transport"],
  }),
  requestsOut: metrics.counter("sip_edge_requests_sent_total", {
    description: "SIP requests sent by the edge, by method",
    labels: ["method"],
  }),
  responsesOut: metrics.counter("sip_edge_responses_sent_total", {
    description: "SIP responses sent by the edge (its own and the services'), by status",
    labels: ["status"],
  }),
  badRequests: metrics.counter("sip_edge_bad_requests_total", {
    description: "requests that did not parse (answered 400 or 505), by parser error code",
    labels: ["reason"],
  }),
  badResponses: metrics.counter("sip_edge_bad_responses_total", {
    description: "responses that did not parse (dropped)",
  }),
  overload: metrics.counter("sip_edge_overload_503_total", {
    description: "503 answers the edge sent itself, by cause",
    labels: ["cause"],
  }),
  natsLatency: metrics.histogram("sip_edge_nats_request_duration_seconds", {
    description: "NATS request/reply latency of hand-overs, by hand-over and outcome",
    unit: "s",
    labels: ["handover", "outcome"],
    boundaries: LATENCY_BUCKETS_S,
  }),
  dropped: metrics.counter("sip_edge_dropped_total", {
    description: "messages dropped (unroutable, owner unreachable, bad send requests)",
  }),
  sendErrors: metrics.counter("sip_edge_send_errors_total", {
    description: "sends that failed at the socket",
  }),
})

export type EdgeMetrics = ReturnType<typeof makeEdgeMetrics>

/** Counts bytes about to be sent by their start line. */
export const countSentMessage = (m: EdgeMetrics, bytes: Uint8Array): void => {
  const line = startLineLabels(bytes)
  if (line.kind === "response") m.responsesOut.add({ status: line.status })
  else m.requestsOut.add({ method: line.method })
}

const outcomeOf = <A, E extends { readonly _tag: string }>(exit: Exit.Exit<A, E>): RequestOutcome => {
  if (Exit.isSuccess(exit)) return "ok"
  for (const reason of exit.cause.reasons) {
    if (reason._tag !== "Fail") continue
    if (reason.error._tag === "BusNoResponders") return "no_responders"
    if (reason.error._tag === "BusTimeout") return "timeout"
  }
  return "error"
}

/** A hand-over on NATS, timed: its latency and outcome go to the histogram. */
export const timedHandOver = <A, E extends { readonly _tag: string }>(
  m: EdgeMetrics,
  handover: HandOver,
  request: Effect.Effect<A, E>,
): Effect.Effect<A, E> =>
  Effect.suspend(() => {
    const started = performance.now()
    return Effect.onExit(request, (exit) =>
      Effect.sync(() =>
        m.natsLatency.record({ handover, outcome: outcomeOf(exit) }, (performance.now() - started) / 1000),
      ),
    )
  })

/** Gauges read at scrape time from state the edge already keeps (no cost per message). */
export const observeEdgeState = (
  metrics: MetricsShape,
  read: {
    readonly inFlight: () => number
    readonly tcpConnections: () => number
    readonly owners: () => number
  },
): void => {
  metrics.observe("sip_edge_in_flight", { description: "new requests handed over, not yet taken" }, () => [
    [{}, read.inFlight()],
  ])
  metrics.observe("sip_edge_tcp_connections", { description: "open TCP connections" }, () => [
    [{}, read.tcpConnections()],
  ])
  metrics.observe(
    "sip_edge_owner_cache_entries",
    { description: "initial requests with a known owner" },
    () => [[{}, read.owners()]],
  )
}
