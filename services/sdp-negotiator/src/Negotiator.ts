/**
 * One negotiation: an offer or an answer received on a leg, the call's media state and the trunk's
 * policy → the SDP to send on the other leg and the new media state, or a refusal (488/503). Stateless:
 * all that survives between negotiations is the state call control sends back next time.
 *
 * Offer on leg X: `forwardOffer` (policy, payload types for the other leg Y); then the relay — a session
 * per active stream, created on the call's relay (chosen by announced load at the call's first offer),
 * updated on re-offers with X's address and direction, deleted when the stream is disabled; then the
 * offer is anchored on the relay's Y-side ports and given the suite's o= line for Y.
 * Answer on leg Y: `forwardAnswer` back to X's numbers; the relay is given Y's address and the
 * payload-type map; the answer is anchored on the relay's X-side ports with the suite's o= for X.
 * A late offer (INVITE without SDP: offer in the 200, answer in the ACK) is the same on the other leg.
 */
import { randomBytes, randomInt } from "node:crypto"
import {
  isInstanceId,
  type MediaRelayV1,
  type MediaStateV1,
  type NegotiationPolicyV1,
  type RelayStreamV1,
  type SdpLegName,
  type SdpLegStateV1,
  type SdpNegotiateReplyV1,
  type SdpNegotiateRequestV1,
} from "@b2bua/contracts"
import {
  type AnchorEndpoint,
  anchorMedia,
  type CodecPolicy,
  DEFAULT_CODEC_POLICY,
  forwardAnswer,
  forwardOffer,
  type InvalidAnswer,
  NoCommonMedia,
  origin,
  parseSdp,
  type SessionDescription,
  serializeSdp,
  stampOrigin,
  WARNING_TEXT,
} from "@b2bua/sdp"
import { Data, Effect } from "effect"
import type { NegotiatorConfig } from "./Config.js"
import { legSpecOf, mediaKindOf, orientMapping, otherLeg, relayPtMap } from "./MediaPlan.js"
import { RelayClient, type RelayFailure } from "./RelayClient.js"
import { RelayDirectory } from "./RelayDirectory.js"

/** No relay could take the call's first session (none announced, or every one refused). */
export class NoRelay extends Data.TaggedError("NoRelay")<{ readonly reason: string }> {}

type Refusal = Extract<SdpNegotiateReplyV1, { refuse: unknown }>

const refuse488 = (reason: string, code: number, text: string): Refusal => ({
  v: 1,
  refuse: { status: 488, reason, warning: { code, text } },
})

/** RFC 3261 §20.43: 304/305 for media; 399 (miscellaneous) with its own text for SDP that is wrong. */
const refuseSdp = (failure: NoCommonMedia | InvalidAnswer): Refusal =>
  failure instanceof NoCommonMedia
    ? refuse488(failure.reason, failure.warning, WARNING_TEXT[failure.warning])
    : refuse488(failure.reason, 399, failure.message)

const refuse503 = (reason: string): Refusal => ({ v: 1, refuse: { status: 503, reason } })

/** The trunk's policy over the project defaults (an absent field keeps the default). */
export const codecPolicyOf = (p: NegotiationPolicyV1): CodecPolicy => ({
  allow: p.allow ?? DEFAULT_CODEC_POLICY.allow,
  deny: p.deny ?? DEFAULT_CODEC_POLICY.deny,
  order: p.order ?? DEFAULT_CODEC_POLICY.order,
  media: p.media ?? DEFAULT_CODEC_POLICY.media,
  t38: p.t38 ?? DEFAULT_CODEC_POLICY.t38,
})

/** A stored SDP (the suite wrote or accepted it before); one that no longer parses counts as absent. */
const stored = (text: string | undefined): SessionDescription | undefined => {
  if (text === undefined) return undefined
  const r = parseSdp(text)
  return r.ok ? r.sdp : undefined
}

const addrTypeOf = (address: string): string => (address.includes(":") ? "IP6" : "IP4")

/** The suite's o= on a leg: its own session id for the leg, the version moved only on change. */
const stamp = (
  config: NegotiatorConfig,
  sdp: SessionDescription,
  leg: SdpLegStateV1,
  address: string,
): { readonly text: string; readonly leg: SdpLegStateV1 } => {
  const sessionId = leg.sessionId ?? String(randomInt(1, 2 ** 47))
  const stamped = stampOrigin(
    sdp,
    { username: config.originUser, sessionId, netType: "IN", addrType: addrTypeOf(address), address },
    stored(leg.local),
  )
  const text = serializeSdp(stamped)
  return { text, leg: { ...leg, local: text, sessionId, version: origin(stamped).sessionVersion } }
}

const setLeg = (legs: MediaStateV1["legs"], name: SdpLegName, leg: SdpLegStateV1): MediaStateV1["legs"] =>
  name === "a" ? { a: leg, b: legs.b } : { a: legs.a, b: leg }

/** The relay's ports for `leg`, per m= line: where the SDP sent on that leg points. */
const anchorOn = (sdp: SessionDescription, relay: MediaRelayV1, leg: SdpLegName): SessionDescription =>
  anchorMedia(sdp, {
    connection: { netType: "IN", addrType: addrTypeOf(relay.address), address: relay.address },
    streams: sdp.media.map((_, index): AnchorEndpoint | undefined => {
      const s = relay.streams.find((x) => x.index === index)
      if (s === undefined) return undefined
      const local = leg === "a" ? s.a : s.b
      return { port: local.rtpPort, rtcpPort: local.rtcpPort }
    }),
  })

/**
 * Brings the relay in line with an offer received on `request.leg`: one session per active stream of
 * `forwarded`. Sessions created here are deleted again when a later step fails, so nothing leaks.
 */
const relayForOffer = (
  config: NegotiatorConfig,
  request: SdpNegotiateRequestV1,
  offer: SessionDescription,
  forwarded: SessionDescription,
  ptMap: MediaStateV1["ptMap"],
): Effect.Effect<MediaRelayV1 | undefined, RelayFailure | NoRelay, RelayClient | RelayDirectory> =>
  Effect.gen(function* () {
    const client = yield* RelayClient
    const directory = yield* RelayDirectory
    const owner = request.owner
    if (!isInstanceId(owner)) return yield* new NoRelay({ reason: "owner is not an instance id" })
    const from = request.leg
    let relay = request.media.relay
    const created: Array<string> = []
    const streams: Array<RelayStreamV1> = []

    const create = (target: MediaRelayV1, index: number) => {
      const sessionId = `${target.sessionBase}-${index}`
      const spec = legSpecOf(offer, index)
      // When a session is re-created (the relay lost it), the other leg's last SDP still describes it.
      const otherSdp = stored(request.media.legs[otherLeg(from)].remote)
      const otherSpec = otherSdp === undefined ? {} : legSpecOf(otherSdp, index)
      return client
        .create(target.relayId, {
          v: 1,
          sessionId,
          owner,
          leaseMs: target.leaseMs,
          legs: from === "a" ? { a: spec, b: otherSpec } : { a: otherSpec, b: spec },
          ptMap: relayPtMap(ptMap, index),
          media: mediaKindOf(forwarded, index),
        })
        .pipe(
          Effect.map((made): RelayStreamV1 => {
            created.push(sessionId)
            return { index, sessionId, media: mediaKindOf(forwarded, index), a: made.legs.a, b: made.legs.b }
          }),
        )
    }

    const work = Effect.gen(function* () {
      for (const [index, m] of forwarded.media.entries()) {
        const existing = relay?.streams.find((s) => s.index === index)
        if (m.port === 0) {
          // RFC 3264 §8.2: a stream offered with port 0 is gone; its relay session goes with it.
          if (existing !== undefined && relay !== undefined) {
            yield* client.delete(relay.relayId, { v: 1, sessionId: existing.sessionId }).pipe(Effect.ignore)
          }
          continue
        }
        if (existing !== undefined && relay !== undefined) {
          const spec = legSpecOf(offer, index)
          const media = mediaKindOf(forwarded, index)
          const updated = yield* Effect.result(
            client.update(relay.relayId, {
              v: 1,
              sessionId: existing.sessionId,
              legs: from === "a" ? { a: spec } : { b: spec },
              ptMap: relayPtMap(ptMap, index),
              media,
            }),
          )
          if (updated._tag === "Success") {
            streams.push({ ...existing, media, a: updated.success.legs.a, b: updated.success.legs.b })
            continue
          }
          // The relay no longer has the session (its lease lapsed, or the relay restarted): create it again
          // on the same relay; the SDP of this re-offer carries the new ports.
          if (updated.failure.code !== "not-found") return yield* updated.failure
          yield* Effect.logWarning("relay session lost, creating it again", { sessionId: existing.sessionId })
          streams.push(yield* create(relay, index))
          continue
        }
        if (relay !== undefined) {
          streams.push(yield* create(relay, index))
          continue
        }
        // The call's first session: relays by announced load until one takes it.
        const sessionBase = randomBytes(8).toString("hex")
        let refusal: RelayFailure | undefined
        for (const c of yield* directory.candidates) {
          const target = {
            relayId: c.relayId,
            address: c.address,
            sessionBase,
            leaseMs: config.leaseMs,
            streams: [],
          }
          const result = yield* Effect.result(create(target, index))
          if (result._tag === "Success") {
            relay = target
            streams.push(result.success)
            break
          }
          refusal = result.failure
          yield* Effect.logWarning("relay refused a new session", {
            relay: c.relayId,
            reason: refusal.message,
          })
        }
        if (relay === undefined)
          return yield* refusal ?? new NoRelay({ reason: "no RTP relay has announced itself" })
      }
      return relay === undefined ? undefined : { ...relay, streams }
    })
    return yield* work.pipe(
      Effect.tapError(() =>
        Effect.forEach(created, (sessionId) =>
          relay === undefined
            ? Effect.void
            : client.delete(relay.relayId, { v: 1, sessionId }).pipe(Effect.ignore),
        ),
      ),
    )
  })

/** Brings the relay in line with an answer received on `answerer`: its address, the payload-type map. */
const relayForAnswer = (
  relay: MediaRelayV1,
  answerer: SdpLegName,
  answer: SessionDescription,
  toOfferer: SessionDescription,
  ptMap: MediaStateV1["ptMap"],
): Effect.Effect<MediaRelayV1, RelayFailure, RelayClient> =>
  Effect.gen(function* () {
    const client = yield* RelayClient
    const streams: Array<RelayStreamV1> = []
    for (const s of relay.streams) {
      const out = toOfferer.media[s.index]
      if (out === undefined || out.port === 0) {
        // RFC 3264 §6: a stream the answer rejects carries no media; its session is released.
        yield* client.delete(relay.relayId, { v: 1, sessionId: s.sessionId }).pipe(Effect.ignore)
        continue
      }
      const spec = legSpecOf(answer, s.index)
      const updated = yield* client.update(relay.relayId, {
        v: 1,
        sessionId: s.sessionId,
        legs: answerer === "a" ? { a: spec } : { b: spec },
        ptMap: relayPtMap(ptMap, s.index),
      })
      streams.push({ ...s, a: updated.legs.a, b: updated.legs.b })
    }
    return { ...relay, streams }
  })

const failureReason = (e: RelayFailure | NoRelay): string =>
  e._tag === "NoRelay" ? e.reason : `RTP relay unavailable (${e.message})`

const handleOffer = (config: NegotiatorConfig, request: SdpNegotiateRequestV1) =>
  Effect.gen(function* () {
    const parsed = parseSdp(request.sdp)
    if (!parsed.ok) return refuse488(parsed.error.message, 399, parsed.error.message)
    const state = request.media
    const from = request.leg
    const to = otherLeg(from)
    // What the target leg itself declared comes first: its numbers are the ones it expects to receive.
    const targetHistory = [stored(state.legs[to].remote), stored(state.legs[to].local)].flatMap((s) =>
      s === undefined ? [] : [s],
    )
    const forwarded = forwardOffer({
      offer: parsed.sdp,
      policy: codecPolicyOf(request.policy),
      targetHistory,
    })
    if (forwarded instanceof NoCommonMedia) return refuseSdp(forwarded)
    // Bypass is decided once, at the call's first offer; a call anchored on a relay stays anchored.
    const bypass = state.relay === undefined && (state.bypass || request.policy.bypass === true)
    // Provisional until the answer says which codecs were kept; the relay can rewrite early media with it.
    const ptMap = orientMapping(forwarded.mapping, from)
    let relay: MediaRelayV1 | undefined
    let out = forwarded.sdp
    if (!bypass) {
      const r = yield* Effect.result(relayForOffer(config, request, parsed.sdp, forwarded.sdp, ptMap))
      if (r._tag === "Failure") return refuse503(failureReason(r.failure))
      relay = r.success
      if (relay !== undefined) out = anchorOn(forwarded.sdp, relay, to)
    }
    const address = relay?.address ?? origin(parsed.sdp).address
    const stamped = stamp(config, out, state.legs[to], address)
    const legs = setLeg(
      setLeg(state.legs, from, { ...state.legs[from], remote: request.sdp }),
      to,
      stamped.leg,
    )
    const media: MediaStateV1 = relay === undefined ? { legs, ptMap, bypass } : { relay, legs, ptMap, bypass }
    return { v: 1, ok: { sdp: stamped.text, media } } satisfies SdpNegotiateReplyV1
  })

const handleAnswer = (config: NegotiatorConfig, request: SdpNegotiateRequestV1) =>
  Effect.gen(function* () {
    const parsed = parseSdp(request.sdp)
    if (!parsed.ok) return refuse488(parsed.error.message, 399, parsed.error.message)
    const state = request.media
    const answerer = request.leg
    const offerer = otherLeg(answerer)
    // The offer being answered: as received from the offerer, and as the suite sent it to the answerer.
    const offer = stored(state.legs[offerer].remote)
    const forwarded = stored(state.legs[answerer].local)
    if (offer === undefined || forwarded === undefined) {
      return refuse488(`no offer was sent on leg ${answerer} to answer`, 399, "No offer to answer")
    }
    const back = forwardAnswer({ offer, forwarded, answer: parsed.sdp })
    if (!("sdp" in back)) return refuseSdp(back)
    const ptMap = orientMapping(back.mapping, offerer)
    let relay = state.relay
    let out = back.sdp
    if (relay !== undefined && !state.bypass) {
      const r = yield* Effect.result(relayForAnswer(relay, answerer, parsed.sdp, back.sdp, ptMap))
      if (r._tag === "Failure") return refuse503(failureReason(r.failure))
      relay = r.success
      out = anchorOn(back.sdp, relay, offerer)
    }
    const address = relay?.address ?? origin(parsed.sdp).address
    const stamped = stamp(config, out, state.legs[offerer], address)
    const legs = setLeg(
      setLeg(state.legs, answerer, { ...state.legs[answerer], remote: request.sdp }),
      offerer,
      stamped.leg,
    )
    const media: MediaStateV1 =
      relay === undefined
        ? { legs, ptMap, bypass: state.bypass }
        : { relay, legs, ptMap, bypass: state.bypass }
    return { v: 1, ok: { sdp: stamped.text, media } } satisfies SdpNegotiateReplyV1
  })

/** The call ended: its relay sessions are deleted (one already gone, e.g. by lease, is not an error). */
const handleRelease = (request: SdpNegotiateRequestV1) =>
  Effect.gen(function* () {
    const client = yield* RelayClient
    const relay = request.media.relay
    if (relay !== undefined) {
      yield* Effect.forEach(
        relay.streams,
        (s) =>
          client.delete(relay.relayId, { v: 1, sessionId: s.sessionId }).pipe(
            // What the relay received on each leg over the session's life: the call's media record.
            Effect.flatMap((deleted) =>
              Effect.logInfo("relay session released").pipe(
                Effect.annotateLogs({
                  callId: request.callId,
                  sessionId: deleted.sessionId,
                  relay: relay.relayId,
                  packetsA: deleted.stats.a.packets,
                  packetsB: deleted.stats.b.packets,
                  lostA: deleted.stats.a.lost,
                  lostB: deleted.stats.b.lost,
                  droppedA: deleted.stats.a.dropped,
                  droppedB: deleted.stats.b.dropped,
                  mosA: deleted.stats.a.mos,
                  mosB: deleted.stats.b.mos,
                }),
              ),
            ),
            Effect.catch((e) =>
              e.code === "not-found"
                ? Effect.void
                : Effect.logWarning("relay session not deleted", { reason: e.message }),
            ),
          ),
        { discard: true },
      )
    }
    const { relay: _released, ...rest } = request.media
    return { v: 1, ok: { sdp: "", media: rest } } satisfies SdpNegotiateReplyV1
  })

/** One request → its reply. Never fails: every failure is a refusal the caller can act on. */
export const negotiate = (
  config: NegotiatorConfig,
  request: SdpNegotiateRequestV1,
): Effect.Effect<SdpNegotiateReplyV1, never, RelayClient | RelayDirectory> => {
  const handled: Effect.Effect<SdpNegotiateReplyV1, never, RelayClient | RelayDirectory> =
    request.kind === "offer"
      ? handleOffer(config, request)
      : request.kind === "answer"
        ? handleAnswer(config, request)
        : handleRelease(request)
  return handled.pipe(
    Effect.withSpan("Negotiator.negotiate", { attributes: { kind: request.kind, leg: request.leg } }),
  )
}
