/**
 * A relay session as the control plane keeps it, and the pure rules that turn it into forwarding
 * programs, counters into contract statistics, and silence into a media timeout. No I/O.
 */
import type {
  Direction,
  InstanceId,
  LegName,
  LegSpec,
  MediaKind,
  PtMapping,
  StreamStats,
} from "@b2bua/contracts"
import { estimateMos, jitterMs } from "@b2bua/rtp"
import type { Endpoint, LegCounters, LegProgram } from "./ForwardingPlane.js"

export interface LegState {
  /** Forwarding-plane slot of this leg. */
  readonly slot: number
  /** Local RTP port (RTCP is the next one). */
  readonly port: number
  readonly spec: LegSpec
}

export interface Session {
  readonly id: string
  readonly owner: InstanceId
  readonly legs: { readonly a: LegState; readonly b: LegState }
  readonly ptMap: ReadonlyArray<PtMapping>
  readonly media: MediaKind
  readonly mediaTimeoutMs: number
  readonly leaseMs: number
  /** Clock ms at which the lease lapses unless renewed. */
  readonly leaseExpiresAt: number
  /** Clock ms since when media is expected (creation, or an update that changed what is expected). */
  readonly mediaSince: number
  /** A media-timeout event was sent and no packet arrived since. */
  readonly timeoutReported: boolean
}

export const otherLeg = (leg: LegName): LegName => (leg === "a" ? "b" : "a")

/** RFC 3264 §5.1: an endpoint sends unless its direction is recvonly or inactive. */
export const sends = (direction: Direction | undefined): boolean =>
  direction === undefined || direction === "sendrecv" || direction === "sendonly"

/** Fields present in `update` replace those of `base`; absent ones keep their value. */
export const mergeLegSpec = (base: LegSpec, update: LegSpec | undefined): LegSpec => {
  if (update === undefined) return base
  return {
    remote: update.remote ?? base.remote,
    remoteRtcp: update.remoteRtcp ?? base.remoteRtcp,
    rtcpMux: update.rtcpMux ?? base.rtcpMux,
    strict: update.strict ?? base.strict,
    telephoneEventPt: update.telephoneEventPt ?? base.telephoneEventPt,
    clockRate: update.clockRate ?? base.clockRate,
    direction: update.direction ?? base.direction,
  }
}

const sameEndpoint = (x: Endpoint | undefined, y: Endpoint | undefined): boolean =>
  x === y || (x !== undefined && y !== undefined && x.host === y.host && x.port === y.port)

/** A new SDP address restarts latching on the leg (RFC 4961: the remote is learned again). */
export const remoteChanged = (before: LegSpec, after: LegSpec): boolean =>
  !sameEndpoint(before.remote, after.remote) || !sameEndpoint(before.remoteRtcp, after.remoteRtcp)

/**
 * The payload-type rewrite for packets leaving `from` toward the other leg: the session's mapping,
 * plus RFC 4733 telephone-event when the legs number it differently and no mapping names it.
 */
export const ptOutFor = (session: Pick<Session, "legs" | "ptMap">, from: LegName): Uint8Array => {
  const out = new Uint8Array(128)
  for (let i = 0; i < 128; i++) out[i] = i
  for (const m of session.ptMap) {
    if (from === "a") out[m.a] = m.b
    else out[m.b] = m.a
  }
  const teFrom = session.legs[from].spec.telephoneEventPt
  const teTo = session.legs[otherLeg(from)].spec.telephoneEventPt
  const mapped = session.ptMap.some((m) => (from === "a" ? m.a : m.b) === teFrom)
  if (teFrom !== undefined && teTo !== undefined && teFrom !== teTo && !mapped) out[teFrom] = teTo
  return out
}

export const programFor = (session: Pick<Session, "legs" | "ptMap" | "media">, leg: LegName): LegProgram => {
  const own = session.legs[leg]
  const spec = own.spec
  return {
    peer: session.legs[otherLeg(leg)].slot,
    remote: spec.remote,
    remoteRtcp: spec.remoteRtcp,
    rtcpMux: spec.rtcpMux ?? false,
    strict: spec.strict ?? false,
    forward: sends(spec.direction),
    udptl: session.media === "udptl",
    tePt: spec.telephoneEventPt ?? -1,
    clockRate: spec.clockRate ?? 8000,
    ptOut: ptOutFor(session, leg),
  }
}

/**
 * Contract statistics of what one leg received. `planeNowMs`/`clockNowMs` translate the plane's clock
 * of the last packet into wall-clock ms.
 */
export const streamStatsOf = (
  c: LegCounters | undefined,
  clockNowMs: number,
  planeNowMs: number,
): StreamStats => {
  if (c === undefined) {
    return {
      packets: 0,
      bytes: 0,
      lost: 0,
      jitterMs: 0,
      lastPacketAt: null,
      rtcpPackets: 0,
      dropped: 0,
      mos: estimateMos(0, 0),
    }
  }
  const rate = c.clockRate > 0 ? c.clockRate : 8000
  const lost = c.expected - c.received
  const lossPercent = c.expected > 0 ? (Math.max(0, lost) * 100) / c.expected : 0
  const jitter = jitterMs(c.jitterUnits, rate)
  const base: StreamStats = {
    packets: c.packets,
    bytes: c.bytes,
    lost,
    jitterMs: jitter,
    lastPacketAt: c.lastPacketMs < 0 ? null : Math.round(clockNowMs - (planeNowMs - c.lastPacketMs)),
    rtcpPackets: c.rtcpPackets,
    dropped: c.dropped,
    mos: Math.round(estimateMos(lossPercent, jitter) * 100) / 100,
  }
  if (c.farEndReports === 0) return base
  return {
    ...base,
    // RFC 3550 §6.4.1: fraction lost is a fixed-point number with the binary point at the left edge.
    farEnd: {
      fractionLost: c.farEndFraction / 256,
      lost: c.farEndLost,
      jitterMs: jitterMs(c.farEndJitter, rate),
    },
  }
}

/**
 * Media timeout: how long nothing arrived from the legs expected to send, or undefined when no leg is
 * expected to send (both on hold or inactive: silence is normal) or the timeout has not elapsed.
 * `lastA`/`lastB` are clock ms of each leg's last packet (null: none).
 */
export const mediaTimeout = (
  session: Pick<Session, "legs" | "mediaSince" | "mediaTimeoutMs">,
  lastA: number | null,
  lastB: number | null,
  nowMs: number,
): number | undefined => {
  let last = session.mediaSince
  let expected = false
  for (const [leg, at] of [
    ["a", lastA],
    ["b", lastB],
  ] as const) {
    if (!sends(session.legs[leg].spec.direction)) continue
    expected = true
    if (at !== null && at > last) last = at
  }
  if (!expected) return undefined
  const idle = nowMs - last
  return idle >= session.mediaTimeoutMs ? idle : undefined
}
