/**
 * RFC 3264 offer/answer as a B2BUA does it, pure functions over parsed descriptions:
 * - `forwardOffer`: an offer received on one leg, filtered and ordered by the trunk's codec policy and
 *   renumbered for the other leg, ready to be anchored and sent there;
 * - `forwardAnswer`: the other leg's answer to it, turned into the answer to the original offer, with the
 *   payload-type map the relay needs;
 * - `answerOffer`: the answer a user agent with a codec policy gives to an offer (the suite answering
 *   itself, and the reference for the two above).
 * Addresses are not touched here (see Anchor.ts), nor o= (see Origin.ts).
 */
import { type Codec, codecKey, type Format, formatsOf, isAuxiliary, isRtpProto } from "./Codec.js"
import { applyCodecPolicy, type CodecPolicy, mediaAllowed } from "./CodecPolicy.js"
import { answerDirection, effectiveDirection, normalizeLegacyHold } from "./Hold.js"
import { rejectedStream, withDirection } from "./MediaEdits.js"
import { InvalidAnswer, NoCommonMedia } from "./NegotiationFailure.js"
import { assignPayloadTypes, legBindings, type PayloadTypeMapping, pairByCodec } from "./PayloadTypes.js"
import type {
  Connection,
  MediaDescription,
  Origin,
  SdpLine,
  SessionDescription,
} from "./SessionDescription.js"

const isT38 = (m: MediaDescription): boolean =>
  m.media.toLowerCase() === "image" && m.proto.toLowerCase() === "udptl" && m.formats.includes("t38")

/** The allowed formats of an offered RTP stream, by policy preference; none when only events/CN remain. */
export const intersectFormats = (
  offered: ReadonlyArray<Format>,
  policy: CodecPolicy,
): ReadonlyArray<Format> => {
  const allowed = applyCodecPolicy(policy, offered)
  return allowed.some((f) => !isAuxiliary(f.codec)) ? allowed : []
}

/**
 * A stream with new payload types: `numbers` (old → new, in the order the m= line lists them). rtpmap and
 * fmtp lines follow their format; those of formats left out go; every other line stays where it was.
 */
const renumber = (
  m: MediaDescription,
  numbers: ReadonlyArray<readonly [Format, number]>,
): MediaDescription => {
  const byOld = new Map(numbers.map(([f, pt]) => [f.payloadType, pt]))
  const lines: Array<SdpLine> = []
  const mapped = new Set<number>()
  for (const l of m.lines) {
    if (l.type === "a" && l.attribute.kind === "rtpmap") {
      const pt = byOld.get(l.attribute.payloadType)
      if (pt === undefined) continue
      mapped.add(pt)
      lines.push({ type: "a", attribute: { ...l.attribute, payloadType: pt } })
    } else if (l.type === "a" && l.attribute.kind === "fmtp" && /^[0-9]{1,3}$/.test(l.attribute.format)) {
      const pt = byOld.get(Number(l.attribute.format))
      if (pt !== undefined) lines.push({ type: "a", attribute: { ...l.attribute, format: String(pt) } })
    } else {
      lines.push(l)
    }
  }
  // A static type moved to another number needs the rtpmap it could do without (RFC 8866 §6.6).
  for (const [f, pt] of numbers) {
    if (mapped.has(pt) || pt === f.payloadType) continue
    const { encoding, clockRate, channels } = f.codec
    const attribute =
      channels === undefined
        ? { kind: "rtpmap" as const, payloadType: pt, encoding, clockRate }
        : { kind: "rtpmap" as const, payloadType: pt, encoding, clockRate, channels }
    lines.push({ type: "a", attribute })
  }
  return { ...m, formats: numbers.map(([, pt]) => String(pt)), lines }
}

export interface ForwardOfferInput {
  /** The offer as received on one leg. */
  readonly offer: SessionDescription
  readonly policy: CodecPolicy
  /**
   * The SDPs already exchanged with the leg the offer goes to; the first binding of a codec wins, so put
   * the leg's own last SDP (the numbers it expects to receive) before the last one sent to it.
   */
  readonly targetHistory: ReadonlyArray<SessionDescription>
}

export interface ForwardedOffer {
  /** The offer for the other leg; still the offerer's addresses and o= line. */
  readonly sdp: SessionDescription
  /** Per stream and codec: payload type in the received offer (offerer) and in `sdp` (answerer). */
  readonly mapping: ReadonlyArray<PayloadTypeMapping>
}

/**
 * RFC 3264 §5 for a B2BUA: each offered stream is kept in place; a stream whose media type the policy
 * refuses or with no allowed codec is offered with port 0 (§8.2); allowed codecs are listed by preference
 * and renumbered for the target leg. Legacy hold (c=0.0.0.0) becomes a direction attribute. Fails with
 * `NoCommonMedia` when the offer had an active stream and none is left.
 */
export const forwardOffer = (input: ForwardOfferInput): ForwardedOffer | NoCommonMedia => {
  const offer = normalizeLegacyHold(input.offer)
  const mapping: Array<PayloadTypeMapping> = []
  let activeIn = 0
  let activeOut = 0
  let typeAllowed = false
  const media = offer.media.map((m, index): MediaDescription => {
    if (m.port === 0) return rejectedStream(m)
    activeIn++
    if (!mediaAllowed(input.policy, m.media)) return rejectedStream(m)
    typeAllowed = true
    if (isT38(m)) {
      if (!input.policy.t38) return rejectedStream(m)
      activeOut++
      return m
    }
    if (!isRtpProto(m.proto)) {
      activeOut++
      return m
    }
    const allowed = intersectFormats(formatsOf(m), input.policy)
    const numbered = assignPayloadTypes(allowed, legBindings(input.targetHistory, index))
    if (!numbered.some(({ format }) => !isAuxiliary(format.codec))) return rejectedStream(m)
    activeOut++
    for (const { format, payloadType } of numbered) {
      mapping.push({ stream: index, codec: format.codec, offerer: format.payloadType, answerer: payloadType })
    }
    return renumber(
      m,
      numbered.map(({ format, payloadType }) => [format, payloadType] as const),
    )
  })
  if (activeIn > 0 && activeOut === 0) {
    return new NoCommonMedia(
      typeAllowed
        ? { warning: 305, reason: "no offered codec is allowed on this trunk" }
        : { warning: 304, reason: "no offered media type is allowed on this trunk" },
    )
  }
  return { sdp: { session: offer.session, media }, mapping }
}

export interface ForwardAnswerInput {
  /** The offer as received from the offering leg. */
  readonly offer: SessionDescription
  /** The offer sent to the answering leg (`forwardOffer`'s result, anchored or not). */
  readonly forwarded: SessionDescription
  /** The answering leg's answer to `forwarded`. */
  readonly answer: SessionDescription
}

export interface ForwardedAnswer {
  /** The answer for the offering leg; still the answerer's addresses and o= line. */
  readonly sdp: SessionDescription
  readonly mapping: ReadonlyArray<PayloadTypeMapping>
}

/**
 * RFC 3264 §6 back towards the offerer: one m= line per offered one; a stream rejected on either side is
 * rejected (port 0) in place; the answerer's codecs are renumbered to the offerer's payload types (codecs
 * the offer did not contain are dropped); everything else the answerer wrote (ptime, direction, rtcp,
 * unknown attributes) is carried. `NoCommonMedia` when no offered active stream survives.
 */
export const forwardAnswer = (input: ForwardAnswerInput): ForwardedAnswer | NoCommonMedia | InvalidAnswer => {
  const answer = normalizeLegacyHold(input.answer)
  const { offer, forwarded } = input
  if (answer.media.length !== forwarded.media.length) {
    return new InvalidAnswer({
      reason: `${answer.media.length} m= lines answer an offer of ${forwarded.media.length} (RFC 3264 §6)`,
    })
  }
  if (offer.media.length !== forwarded.media.length) {
    return new InvalidAnswer({ reason: "the forwarded offer does not have the received offer's m= lines" })
  }
  const mapping: Array<PayloadTypeMapping> = []
  let activeIn = 0
  let activeOut = 0
  const media = offer.media.map((o, index): MediaDescription => {
    const f = forwarded.media[index]!
    const a = answer.media[index]!
    if (o.port !== 0) activeIn++
    if (o.port === 0 || f.port === 0 || a.port === 0 || a.media.toLowerCase() !== o.media.toLowerCase()) {
      return rejectedStream(o)
    }
    if (!isRtpProto(a.proto)) {
      activeOut++
      return a
    }
    const forwardedFormats = formatsOf(f)
    const toOfferer = pairByCodec(forwardedFormats, formatsOf(o))
    // The answer's numbers name the forwarded offer's codecs; an rtpmap in the answer may rename them.
    const byPt = new Map(forwardedFormats.map((x) => [x.payloadType, x]))
    const answered = formatsOf(a)
    const numbers: Array<readonly [Format, number]> = []
    const seen = new Set<number>()
    for (const x of answered) {
      const sent = byPt.get(x.payloadType)
      const match =
        sent !== undefined && codecKey(sent.codec) === codecKey(x.codec)
          ? sent
          : forwardedFormats.find((s) => codecKey(s.codec) === codecKey(x.codec))
      const pt = match === undefined ? undefined : toOfferer.get(match.payloadType)
      if (pt === undefined || seen.has(pt)) continue
      seen.add(pt)
      numbers.push([x, pt])
      mapping.push({ stream: index, codec: x.codec, offerer: pt, answerer: x.payloadType })
    }
    if (!numbers.some(([x]) => !isAuxiliary(x.codec))) return rejectedStream(o)
    activeOut++
    return renumber(a, numbers)
  })
  if (activeIn > 0 && activeOut === 0) {
    return new NoCommonMedia({ warning: 305, reason: "the answer accepts no offered codec" })
  }
  return { sdp: { session: answer.session, media }, mapping }
}

export interface AnswerOfferInput {
  readonly offer: SessionDescription
  readonly policy: CodecPolicy
  readonly origin: Origin
  readonly connection: Connection
  /** The local port of each offered stream, by index; `undefined` rejects the stream. */
  readonly ports: ReadonlyArray<number | undefined>
}

const codecRtpmap = (pt: number, c: Codec): SdpLine => ({
  type: "a",
  attribute:
    c.channels === undefined
      ? { kind: "rtpmap", payloadType: pt, encoding: c.encoding, clockRate: c.clockRate }
      : {
          kind: "rtpmap",
          payloadType: pt,
          encoding: c.encoding,
          clockRate: c.clockRate,
          channels: c.channels,
        },
})

/**
 * RFC 3264 §6: the answer of a user agent whose capabilities are `policy`. Offered payload types are kept
 * (§6.1), codecs listed by the policy's preference, the offer's ptime echoed, the direction answered
 * (§6.1), T.38 attributes echoed, unusable streams rejected in place.
 */
export const answerOffer = (input: AnswerOfferInput): SessionDescription | NoCommonMedia => {
  const offer = normalizeLegacyHold(input.offer)
  let activeIn = 0
  let activeOut = 0
  let typeAllowed = false
  const media = offer.media.map((m, index): MediaDescription => {
    const port = input.ports[index]
    if (m.port === 0) return rejectedStream(m)
    activeIn++
    if (!mediaAllowed(input.policy, m.media) || port === undefined) return rejectedStream(m)
    typeAllowed = true
    const direction = answerDirection(effectiveDirection(offer, m))
    if (!isRtpProto(m.proto)) {
      if (isT38(m) && !input.policy.t38) return rejectedStream(m)
      activeOut++
      const echoed = m.lines.filter((l) => l.type === "a" && l.attribute.kind === "other")
      return withDirection(
        { media: m.media, port, proto: m.proto, formats: m.formats, lines: echoed },
        direction,
      )
    }
    const chosen = intersectFormats(formatsOf(m), input.policy)
    if (chosen.length === 0) return rejectedStream(m)
    activeOut++
    const lines: Array<SdpLine> = []
    for (const f of chosen) {
      lines.push(codecRtpmap(f.payloadType, f.codec))
      if (f.fmtp !== undefined) {
        lines.push({
          type: "a",
          attribute: { kind: "fmtp", format: String(f.payloadType), parameters: f.fmtp },
        })
      }
    }
    for (const l of m.lines) if (l.type === "a" && l.attribute.kind === "ptime") lines.push(l)
    lines.push({ type: "a", attribute: { kind: "direction", direction } })
    return { media: m.media, port, proto: m.proto, formats: chosen.map((f) => String(f.payloadType)), lines }
  })
  if (activeIn > 0 && activeOut === 0) {
    return new NoCommonMedia(
      typeAllowed
        ? { warning: 305, reason: "no offered codec is supported" }
        : { warning: 304, reason: "no offered media type is supported" },
    )
  }
  return {
    session: [
      { type: "v", version: 0 },
      { type: "o", origin: input.origin },
      { type: "s", text: "-" },
      { type: "c", connection: input.connection },
      { type: "t", start: "0", stop: "0" },
    ],
    media,
  }
}
