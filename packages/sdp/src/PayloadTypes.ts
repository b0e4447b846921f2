/**
 * Payload-type numbers on each leg. A B2BUA is two RTP sessions: a codec may carry one number towards
 * the caller and another towards the callee (telephone-event 101 on one side, 96 on the other), and the
 * relay rewrites the RTP header between them. Once a leg has bound a number to a codec, later offers on
 * that leg keep it (RFC 3264 §8.3.2: the mapping must not change within a session).
 */
import { type Codec, codecKey, type Format, formatsOf, isRtpProto } from "./Codec.js"
import type { SessionDescription } from "./SessionDescription.js"

/** One codec of one stream and its payload type on the leg that offered and on the leg that answered. */
export interface PayloadTypeMapping {
  readonly stream: number
  readonly codec: Codec
  readonly offerer: number
  readonly answerer: number
}

/** What a leg has bound in stream `index`: codec → payload type, and every number in use. */
export interface LegBindings {
  readonly byCodec: ReadonlyMap<string, number>
  readonly used: ReadonlySet<number>
}

export const legBindings = (history: ReadonlyArray<SessionDescription>, index: number): LegBindings => {
  const byCodec = new Map<string, number>()
  const used = new Set<number>()
  for (const sdp of history) {
    const m = sdp.media[index]
    if (m === undefined || m.port === 0 || !isRtpProto(m.proto)) continue
    for (const f of formatsOf(m)) {
      used.add(f.payloadType)
      if (!byCodec.has(codecKey(f.codec))) byCodec.set(codecKey(f.codec), f.payloadType)
    }
  }
  return { byCodec, used }
}

/**
 * Payload types for `formats` (in order) on a leg with `bindings`: the leg's own number for a codec it
 * already knows, else the source number when the leg does not use it for something else, else the
 * lowest free dynamic number (RFC 3551 §3: 96-127). A format that finds no number is left out.
 */
export const assignPayloadTypes = (
  formats: ReadonlyArray<Format>,
  bindings: LegBindings,
): ReadonlyArray<{ readonly format: Format; readonly payloadType: number }> => {
  const taken = new Set<number>()
  const boundElsewhere = (pt: number, key: string) =>
    bindings.used.has(pt) && bindings.byCodec.get(key) !== pt
  const out: Array<{ format: Format; payloadType: number }> = []
  for (const format of formats) {
    const key = codecKey(format.codec)
    const bound = bindings.byCodec.get(key)
    let pt: number | undefined
    if (bound !== undefined && !taken.has(bound)) pt = bound
    else if (!taken.has(format.payloadType) && !boundElsewhere(format.payloadType, key))
      pt = format.payloadType
    else {
      for (let candidate = 96; candidate <= 127 && pt === undefined; candidate++) {
        if (!taken.has(candidate) && !bindings.used.has(candidate)) pt = candidate
      }
    }
    if (pt === undefined) continue
    taken.add(pt)
    out.push({ format, payloadType: pt })
  }
  return out
}

/**
 * Pairs the formats of two versions of one stream by codec (the n-th occurrence of a codec with the n-th):
 * payload type in `from` → payload type in `to`.
 */
export const pairByCodec = (
  from: ReadonlyArray<Format>,
  to: ReadonlyArray<Format>,
): ReadonlyMap<number, number> => {
  const pending = new Map<string, Array<number>>()
  for (const f of to) {
    const key = codecKey(f.codec)
    pending.set(key, [...(pending.get(key) ?? []), f.payloadType])
  }
  const out = new Map<number, number>()
  for (const f of from) {
    const queue = pending.get(codecKey(f.codec))
    const pt = queue?.shift()
    if (pt !== undefined) out.set(f.payloadType, pt)
  }
  return out
}
