/**
 * The relay's metrics on its Prometheus endpoint. Media counters come from the forwarding plane's
 * per-leg counters, read where the relay reads them anyway (the poll every `B2BUA_RELAY_POLL_MS`, and
 * once more when a session is deleted or its lease lapses), as increments since the last reading of the
 * same session's leg: a leg's counters start again at zero with each session, the metric totals never go
 * back. Nothing here runs per packet (STYLE: no per-packet work in the relay's control plane).
 *
 * Pure accounting plus metric declarations: no sockets, no timers.
 */
import type { RelayEventBody } from "@b2bua/contracts"
import { LATENCY_BUCKETS_S, type MetricsShape } from "@b2bua/telemetry"
import type { LegCounters } from "./ForwardingPlane.js"

/** What the session manager reports of each leg's counters. */
export interface RelayMeter {
  /** The counters of a session's leg (`key`: session id and leg) as just read. */
  readonly account: (key: string, counters: LegCounters) => void
  /** The leg is gone (its session deleted): its last reading is forgotten. */
  readonly forget: (key: string) => void
}

/** Jitter from 0.5 ms to 5 s (RFC 3550 §6.4.1 interarrival jitter, per stream, sampled at each poll). */
const JITTER_BUCKETS_S = LATENCY_BUCKETS_S

interface Reading {
  readonly packets: number
  readonly bytes: number
  readonly forwarded: number
  readonly dropped: number
  readonly lost: number
  readonly rtcp: number
}

export type RelayOperation = "create" | "update" | "delete" | "renew"

export const makeRelayMetrics = (
  metrics: MetricsShape,
  read: { readonly sessions: () => number; readonly capacity: () => number },
) => {
  metrics.observe("rtp_relay_sessions", { description: "media sessions on this relay" }, () => [
    [{}, read.sessions()],
  ])
  metrics.observe("rtp_relay_session_capacity", { description: "most sessions this relay takes" }, () => [
    [{}, read.capacity()],
  ])
  const packets = metrics.counter("rtp_relay_packets_total", {
    description: "RTP and RTCP packets the relay received, forwarded and dropped (all legs)",
    labels: ["direction"],
  })
  const bytes = metrics.counter("rtp_relay_received_bytes_total", {
    description: "bytes of the packets received",
    unit: "By",
  })
  const rtcp = metrics.counter("rtp_relay_rtcp_packets_total", { description: "RTCP packets received" })
  const lost = metrics.counter("rtp_relay_packets_lost_total", {
    description: "RTP packets lost on the way to the relay (RFC 3550 §A.3: expected minus received)",
  })
  const jitter = metrics.histogram("rtp_relay_jitter_seconds", {
    description:
      "interarrival jitter of each stream that received packets, sampled at each poll (RFC 3550 §6.4.1)",
    unit: "s",
    boundaries: JITTER_BUCKETS_S,
  })
  const requests = metrics.counter("rtp_relay_requests_total", {
    description: "session requests served, by operation and outcome (ok or the error code)",
    labels: ["operation", "outcome"],
  })
  const events = metrics.counter("rtp_relay_events_total", {
    description: "events sent to sessions' owners, by type (media-timeout, lease-expired, dtmf)",
    labels: ["type"],
  })

  const last = new Map<string, Reading>()
  const meter: RelayMeter = {
    account: (key, c) => {
      const now: Reading = {
        packets: c.packets,
        bytes: c.bytes,
        forwarded: c.forwarded,
        dropped: c.dropped,
        lost: Math.max(0, c.expected - c.received),
        rtcp: c.rtcpPackets,
      }
      const before = last.get(key)
      last.set(key, now)
      const delta = (k: keyof Reading) => Math.max(0, now[k] - (before?.[k] ?? 0))
      const received = delta("packets")
      if (received > 0) packets.add({ direction: "received" }, received)
      const forwarded = delta("forwarded")
      if (forwarded > 0) packets.add({ direction: "forwarded" }, forwarded)
      const dropped = delta("dropped")
      if (dropped > 0) packets.add({ direction: "dropped" }, dropped)
      const b = delta("bytes")
      if (b > 0) bytes.add({}, b)
      const r = delta("rtcp")
      if (r > 0) rtcp.add({}, r)
      const l = delta("lost")
      if (l > 0) lost.add({}, l)
      if (received > 0 && c.clockRate > 0) jitter.record({}, c.jitterUnits / c.clockRate)
    },
    forget: (key) => {
      last.delete(key)
    },
  }
  return {
    meter,
    request: (operation: RelayOperation, outcome: string) => requests.add({ operation, outcome }),
    event: (body: RelayEventBody) => events.add({ type: body.type }),
  }
}
