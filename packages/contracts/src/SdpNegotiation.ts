/**
 * Call control ↔ SDP negotiator (contract version 1). The negotiator is stateless: call control sends,
 * with every offer or answer it received on a leg, the call's `MediaState` (what it stored from the last
 * reply), and stores the state that comes back with the SDP to send on the other leg.
 *
 *   b2b.v1.sdp.negotiate   (queue group "sdp")   SdpNegotiateRequest → SdpNegotiateReply
 *
 * - `kind: "offer"` on leg X: the SDP is an offer received from X (INVITE, re-INVITE, UPDATE, PRACK, or a
 *   late offer in a 200/183); the reply's `sdp` is the offer to send on the other leg.
 * - `kind: "answer"` on leg X: the SDP answers the offer last sent to X (200, 183, ACK, PRACK); the reply's
 *   `sdp` is the answer to send on the other leg.
 * - `kind: "release"`: the call ended; the negotiator deletes the relay sessions (`sdp` is ignored, the
 *   reply's `sdp` is empty). Between negotiations the call's owner renews the relay sessions' leases
 *   (`relaySubjects.renew(media.relay.relayId)` for each of `media.relay.streams`, every leaseMs / 3).
 * - A refusal: 488 (no common codec or media type, with the RFC 3261 §20.43 warning code 304/305, or SDP
 *   that does not parse, warning 399) or 503 (no relay answered). The call state is then unchanged.
 *
 * JSON, validated by effect's Schema; a decoder returns the value or an `SdpNegotiationContractError`
 * naming the field (`media.legs.a.local`). Unknown fields are ignored (v1 peers may add optional ones).
 */
import { Data, Result, Schema, SchemaIssue } from "effect"

const PREFIX = "b2b.v1"

export const sdpSubjects = {
  /** Offers and answers to negotiate, to any negotiator instance (queue group `sdpQueueGroup`). */
  negotiate: (): string => `${PREFIX}.sdp.negotiate`,
} as const

export const sdpQueueGroup = "sdp"

/** SDP bodies are bounded like SIP bodies (the edge refuses larger messages). */
const MAX_SDP = 65_535

const Sdp = Schema.String.check(Schema.isMaxLength(MAX_SDP))
const Instance = Schema.String.check(Schema.isPattern(/^[a-z0-9]{1,16}$/))
const Digits = Schema.String.check(Schema.isPattern(/^[0-9]{1,20}$/))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))
const PayloadType = Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 127 }))
const RelaySession = Schema.String.check(Schema.isPattern(/^[A-Za-z0-9._-]{1,64}$/))
const Name = Schema.String.check(Schema.isPattern(/^[!#$%&'*+\-./0-9A-Z^_`a-z{|}~]{1,64}$/))
const Names = Schema.Array(Name).check(Schema.isMaxLength(64))

export const SdpLegName = Schema.Literals(["a", "b"])
export type SdpLegName = typeof SdpLegName.Type

/** The relay's side of one leg of one stream: what the SDP sent on that leg names. */
export const RelayLegAddressV1 = Schema.Struct({ host: Schema.String, rtpPort: Port, rtcpPort: Port })
export type RelayLegAddressV1 = typeof RelayLegAddressV1.Type

/** One relay session per active m= line (by index): RTP, or UDPTL for T.38. */
export const RelayStreamV1 = Schema.Struct({
  index: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 63 })),
  sessionId: RelaySession,
  media: Schema.Literals(["rtp", "udptl"]),
  a: RelayLegAddressV1,
  b: RelayLegAddressV1,
})
export type RelayStreamV1 = typeof RelayStreamV1.Type

export const MediaRelayV1 = Schema.Struct({
  /** The relay chosen for the call (by announced load); both legs and every stream stay on it. */
  relayId: Instance,
  /** The address media reaches the relay on (the c= of every SDP the suite sends). */
  address: Schema.String,
  /** Prefix of this call's relay session ids (`<sessionBase>-<index>`). */
  sessionBase: RelaySession,
  leaseMs: Schema.Int.check(Schema.isGreaterThanOrEqualTo(1000)),
  streams: Schema.Array(RelayStreamV1).check(Schema.isMaxLength(64)),
})
export type MediaRelayV1 = typeof MediaRelayV1.Type

/** One leg as the negotiator left it. */
export const SdpLegStateV1 = Schema.Struct({
  /** The last SDP the suite sent on this leg. */
  local: Schema.optional(Sdp),
  /** The last SDP received on this leg. */
  remote: Schema.optional(Sdp),
  /** o= session id and version of the suite's SDP on this leg (RFC 3264 §8: +1 only on change). */
  sessionId: Schema.optional(Digits),
  version: Schema.optional(Digits),
})
export type SdpLegStateV1 = typeof SdpLegStateV1.Type

/** A codec's payload type on leg a and on leg b, per stream (the relay rewrites between them). */
export const PtMapEntryV1 = Schema.Struct({
  stream: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 63 })),
  a: PayloadType,
  b: PayloadType,
})
export type PtMapEntryV1 = typeof PtMapEntryV1.Type

export const MediaStateV1 = Schema.Struct({
  relay: Schema.optional(MediaRelayV1),
  legs: Schema.Struct({ a: SdpLegStateV1, b: SdpLegStateV1 }),
  ptMap: Schema.Array(PtMapEntryV1).check(Schema.isMaxLength(1024)),
  /** Media flows end to end without the relay (decided by the trunk policy at the first offer). */
  bypass: Schema.Boolean,
})
export type MediaStateV1 = typeof MediaStateV1.Type

/** A call's state before its first offer. */
export const initialMediaState: MediaStateV1 = { legs: { a: {}, b: {} }, ptMap: [], bypass: false }

/**
 * The trunk's media policy. `allow`/`deny`/`order` are the trunk's codec policy (contracts Routing
 * `CodecPolicy`: names as in rtpmap, optionally with the clock rate); absent `allow` allows every codec.
 */
export const NegotiationPolicyV1 = Schema.Struct({
  allow: Schema.optional(Names),
  deny: Schema.optional(Names),
  order: Schema.optional(Names),
  /** Media types that may cross (default audio, image, video). */
  media: Schema.optional(Names),
  /** T.38 fax (m=image udptl t38), default allowed. */
  t38: Schema.optional(Schema.Boolean),
  /** Media bypasses the relay (end to end), default false. */
  bypass: Schema.optional(Schema.Boolean),
})
export type NegotiationPolicyV1 = typeof NegotiationPolicyV1.Type

export const SdpNegotiateRequestV1 = Schema.Struct({
  v: Schema.Literal(1),
  /** The A-leg Call-ID (for logs and the relay session's owner bookkeeping). */
  callId: Schema.String.check(Schema.isMinLength(1), Schema.isMaxLength(256)),
  /** The call-control instance that owns the call (relay events go to it). */
  owner: Instance,
  leg: SdpLegName,
  kind: Schema.Literals(["offer", "answer", "release"]),
  sdp: Sdp,
  policy: NegotiationPolicyV1,
  media: MediaStateV1,
})
export type SdpNegotiateRequestV1 = typeof SdpNegotiateRequestV1.Type

/** RFC 3261 §20.43 warning for the Warning header of a 488: `<code> <agent> "<text>"`. */
export const SdpWarningV1 = Schema.Struct({
  code: Schema.Int.check(Schema.isBetween({ minimum: 300, maximum: 399 })),
  text: Schema.String,
})
export type SdpWarningV1 = typeof SdpWarningV1.Type

const OkReplyV1 = Schema.Struct({
  v: Schema.Literal(1),
  ok: Schema.Struct({ sdp: Sdp, media: MediaStateV1 }),
})
const RefuseReplyV1 = Schema.Struct({
  v: Schema.Literal(1),
  refuse: Schema.Struct({
    status: Schema.Literals([488, 503]),
    reason: Schema.String,
    warning: Schema.optional(SdpWarningV1),
  }),
})
export const SdpNegotiateReplyV1 = Schema.Union([OkReplyV1, RefuseReplyV1])
export type SdpNegotiateReplyV1 = typeof SdpNegotiateReplyV1.Type

/** The Warning header value call control puts on a 488 (RFC 3261 §20.43). */
export const sdpWarningHeader = (warning: SdpWarningV1, agent: string): string =>
  `${warning.code} ${agent} "${warning.text.replace(/["\\]/g, "")}"`

export class SdpNegotiationContractError extends Data.TaggedError("SdpNegotiationContractError")<{
  /** Dotted path of the offending field (`media.legs.a.local`), "" for the payload itself. */
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return this.field === ""
      ? `SDP negotiation payload: ${this.reason}`
      : `SDP negotiation payload ${this.field}: ${this.reason}`
  }
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()
const textDecoder = new TextDecoder("utf-8", { fatal: true })
const textEncoder = new TextEncoder()

const pathOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".")

const parseJson = (data: Uint8Array): unknown => {
  let value: unknown
  try {
    value = JSON.parse(textDecoder.decode(data))
  } catch {
    return new SdpNegotiationContractError({ field: "", reason: "not UTF-8 JSON" })
  }
  if (typeof value === "object" && value !== null && "v" in value && value.v !== 1) {
    return new SdpNegotiationContractError({ field: "v", reason: `unsupported version ${String(value.v)}` })
  }
  return value
}

const decodeWith = <S extends Schema.Top & { readonly DecodingServices: never }>(
  schema: S,
  value: unknown,
): S["Type"] | SdpNegotiationContractError => {
  const decoded = Schema.decodeUnknownResult(schema)(value)
  if (Result.isSuccess(decoded)) return decoded.success
  const first = formatter(decoded.failure.issue).issues[0]
  return new SdpNegotiationContractError({
    field: pathOf(first?.path ?? []),
    reason: first?.message ?? "invalid",
  })
}

export const decodeSdpNegotiateRequest = (
  data: Uint8Array,
): SdpNegotiateRequestV1 | SdpNegotiationContractError => {
  const value = parseJson(data)
  return value instanceof SdpNegotiationContractError ? value : decodeWith(SdpNegotiateRequestV1, value)
}

/** A reply is `ok` or `refuse`; the field present picks the form, so errors name the field within it. */
export const decodeSdpNegotiateReply = (
  data: Uint8Array,
): SdpNegotiateReplyV1 | SdpNegotiationContractError => {
  const value = parseJson(data)
  if (value instanceof SdpNegotiationContractError) return value
  const refusal = typeof value === "object" && value !== null && "refuse" in value
  return refusal ? decodeWith(RefuseReplyV1, value) : decodeWith(OkReplyV1, value)
}

export const encodeSdpNegotiateRequest = (request: SdpNegotiateRequestV1): Uint8Array =>
  textEncoder.encode(JSON.stringify(request))
export const encodeSdpNegotiateReply = (reply: SdpNegotiateReplyV1): Uint8Array =>
  textEncoder.encode(JSON.stringify(reply))
