/**
 * From SDP to what the relay needs, and back: the relay leg described by one stream of a leg's SDP
 * (remote address, RTCP, direction, telephone-event payload type), the media kind of a stream, the
 * payload-type map oriented by leg. Pure.
 */
import type { LegSpec, MediaKind, PtMapEntryV1, PtMapping, SdpLegName } from "@b2bua/contracts"
import { isIpLiteral } from "@b2bua/contracts"
import {
  effectiveDirection,
  formatsOf,
  hasRtcpMux,
  isAuxiliary,
  isLegacyHoldConnection,
  isRtpProto,
  isTelephoneEvent,
  mediaConnection,
  type PayloadTypeMapping,
  rtcpOf,
  type SessionDescription,
} from "@b2bua/sdp"

export const otherLeg = (leg: SdpLegName): SdpLegName => (leg === "a" ? "b" : "a")

/** ITU-T T.38 Annex D: fax over UDPTL, forwarded by the relay like RTP but without RTCP. */
export const mediaKindOf = (sdp: SessionDescription, index: number): MediaKind => {
  const m = sdp.media[index]
  return m !== undefined && m.proto.toLowerCase() === "udptl" ? "udptl" : "rtp"
}

/** The connection address without a multicast /ttl suffix (RFC 8866 §5.7), when it is an IP literal. */
const hostOf = (address: string): string | undefined => {
  const host = address.split("/")[0] ?? ""
  return isIpLiteral(host) ? host : undefined
}

/**
 * The relay leg for stream `index` of the SDP a leg's endpoint sent. The remote address is left out when
 * the SDP has none the relay can use (a host name, legacy hold's 0.0.0.0): the relay then latches onto
 * the first packets (RFC 4961 symmetric RTP).
 */
export const legSpecOf = (sdp: SessionDescription, index: number): LegSpec => {
  const m = sdp.media[index]
  if (m === undefined) return {}
  const c = mediaConnection(sdp, m)
  const host = c === undefined || isLegacyHoldConnection(c) ? undefined : hostOf(c.address)
  const remote = host === undefined || m.port === 0 ? undefined : { host, port: m.port }
  const rtcp = rtcpOf(m)
  const rtcpHost = rtcp?.connection === undefined ? host : hostOf(rtcp.connection.address)
  const remoteRtcp =
    rtcp === undefined || rtcpHost === undefined || rtcp.port === 0
      ? undefined
      : { host: rtcpHost, port: rtcp.port }
  const direction = effectiveDirection(sdp, m)
  if (!isRtpProto(m.proto)) return { remote, direction }
  const formats = formatsOf(m)
  // RFC 4733 §7.1.1: the events of the audio clock rate are the ones the relay detects digits on.
  const voice = formats.find((f) => !isAuxiliary(f.codec))
  const clockRate = voice?.codec.clockRate ?? 8000
  const event =
    formats.find((f) => isTelephoneEvent(f.codec) && f.codec.clockRate === clockRate) ??
    formats.find((f) => isTelephoneEvent(f.codec))
  return {
    remote,
    remoteRtcp,
    rtcpMux: hasRtcpMux(m),
    telephoneEventPt: event?.payloadType,
    // G.722's RTP clock is 8000 (RFC 3551 §4.5.2) as its rtpmap says; the relay only uses it for jitter.
    clockRate: clockRate >= 1000 && clockRate <= 192_000 ? clockRate : undefined,
    direction,
  }
}

/** A negotiation's payload types, by stream, with leg a and leg b named (offerer → `offerer` leg). */
export const orientMapping = (
  mapping: ReadonlyArray<PayloadTypeMapping>,
  offerer: SdpLegName,
): ReadonlyArray<PtMapEntryV1> =>
  mapping.map((e) =>
    offerer === "a"
      ? { stream: e.stream, a: e.offerer, b: e.answerer }
      : { stream: e.stream, a: e.answerer, b: e.offerer },
  )

/**
 * What the relay rewrites for one stream: only the numbers that differ between the legs, each number at
 * most once per side (the relay refuses an ambiguous map).
 */
export const relayPtMap = (
  entries: ReadonlyArray<PtMapEntryV1>,
  stream: number,
): ReadonlyArray<PtMapping> => {
  const seenA = new Set<number>()
  const seenB = new Set<number>()
  const out: Array<PtMapping> = []
  for (const e of entries) {
    if (e.stream !== stream || e.a === e.b || seenA.has(e.a) || seenB.has(e.b)) continue
    seenA.add(e.a)
    seenB.add(e.b)
    out.push({ a: e.a, b: e.b })
  }
  return out
}
