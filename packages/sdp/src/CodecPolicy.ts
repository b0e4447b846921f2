/**
 * A trunk's codec policy: which codecs may cross it and in which order of preference. A codec is named
 * by its encoding name (case-insensitive, RFC 4855 §3), optionally with its clock rate ("G722",
 * "telephone-event/8000", "opus/48000"). Pure.
 */
import type { Codec, Format } from "./Codec.js"

export interface CodecPolicy {
  /** Codecs allowed; "all" passes every codec not denied ("others passed when allowed"). */
  readonly allow: "all" | ReadonlyArray<string>
  /** Codecs never allowed, whatever `allow` says. */
  readonly deny: ReadonlyArray<string>
  /** Preference order; codecs not listed follow, in the order they were offered. */
  readonly order: ReadonlyArray<string>
  /** Media types that may be offered (RFC 8866 §5.14 <media>); others are rejected with port 0. */
  readonly media: ReadonlyArray<string>
  /** Whether T.38 fax (`m=image … udptl t38`, ITU-T T.38 Annex D) is passed. */
  readonly t38: boolean
}

/** The project's default: every codec, the carrier preference order, audio and T.38 (and video). */
export const DEFAULT_CODEC_POLICY: CodecPolicy = {
  allow: "all",
  deny: [],
  order: ["PCMU", "PCMA", "G722", "G729", "G726-32", "telephone-event"],
  media: ["audio", "image", "video"],
  t38: true,
}

/** Whether `name` ("PCMU", "telephone-event/8000") designates `codec`. */
export const codecNamed = (name: string, codec: Codec): boolean => {
  const [encoding, rate, channels] = name.split("/")
  if (encoding === undefined || encoding.toLowerCase() !== codec.encoding.toLowerCase()) return false
  if (rate !== undefined && Number(rate) !== codec.clockRate) return false
  return channels === undefined || Number(channels) === (codec.channels ?? 1)
}

export const policyAllows = (policy: CodecPolicy, codec: Codec): boolean =>
  !policy.deny.some((n) => codecNamed(n, codec)) &&
  (policy.allow === "all" || policy.allow.some((n) => codecNamed(n, codec)))

const rank = (policy: CodecPolicy, codec: Codec): number => {
  const i = policy.order.findIndex((n) => codecNamed(n, codec))
  return i < 0 ? policy.order.length : i
}

/** The allowed formats, by policy preference; the sort is stable, so unlisted codecs keep offer order. */
export const applyCodecPolicy = (
  policy: CodecPolicy,
  formats: ReadonlyArray<Format>,
): ReadonlyArray<Format> =>
  formats
    .filter((f) => policyAllows(policy, f.codec))
    .map((f, i) => ({ f, i, r: rank(policy, f.codec) }))
    .sort((x, y) => x.r - y.r || x.i - y.i)
    .map(({ f }) => f)

export const mediaAllowed = (policy: CodecPolicy, media: string): boolean =>
  policy.media.some((m) => m.toLowerCase() === media.toLowerCase())
