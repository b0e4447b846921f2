/**
 * Codecs of an RTP media section: each format of the m= line with its encoding (from a=rtpmap, or the
 * static assignment of RFC 3551 §6 when there is none), and its a=fmtp parameters.
 */
import { type MediaDescription, mediaAttributes } from "./SessionDescription.js"

export interface Codec {
  /** The encoding name as written (compare with `codecKey`, which ignores case: RFC 4855 §3). */
  readonly encoding: string
  readonly clockRate: number
  readonly channels?: number
}

export interface Format {
  readonly payloadType: number
  readonly codec: Codec
  readonly fmtp?: string
}

// RFC 3551 §6, tables 4 and 5 (audio and video payload types with a static encoding). PT 2 is listed as
// G726-32, its common name; RFC 3551 §4.5.4 moved G.726-32 to dynamic types but deployed gear still uses 2.
const STATIC: ReadonlyMap<number, Codec> = new Map<number, Codec>([
  [0, { encoding: "PCMU", clockRate: 8000 }],
  [2, { encoding: "G726-32", clockRate: 8000 }],
  [3, { encoding: "GSM", clockRate: 8000 }],
  [4, { encoding: "G723", clockRate: 8000 }],
  [5, { encoding: "DVI4", clockRate: 8000 }],
  [6, { encoding: "DVI4", clockRate: 16000 }],
  [7, { encoding: "LPC", clockRate: 8000 }],
  [8, { encoding: "PCMA", clockRate: 8000 }],
  [9, { encoding: "G722", clockRate: 8000 }],
  [10, { encoding: "L16", clockRate: 44100, channels: 2 }],
  [11, { encoding: "L16", clockRate: 44100 }],
  [12, { encoding: "QCELP", clockRate: 8000 }],
  [13, { encoding: "CN", clockRate: 8000 }],
  [14, { encoding: "MPA", clockRate: 90000 }],
  [15, { encoding: "G728", clockRate: 8000 }],
  [16, { encoding: "DVI4", clockRate: 11025 }],
  [17, { encoding: "DVI4", clockRate: 22050 }],
  [18, { encoding: "G729", clockRate: 8000 }],
  [25, { encoding: "CelB", clockRate: 90000 }],
  [26, { encoding: "JPEG", clockRate: 90000 }],
  [28, { encoding: "nv", clockRate: 90000 }],
  [31, { encoding: "H261", clockRate: 90000 }],
  [32, { encoding: "MPV", clockRate: 90000 }],
  [33, { encoding: "MP2T", clockRate: 90000 }],
  [34, { encoding: "H263", clockRate: 90000 }],
])

export const staticCodec = (payloadType: number): Codec | undefined => STATIC.get(payloadType)

/** RFC 3551 §3: 96-127 are dynamic; 35-95 unassigned, also usable when the static range runs out. */
export const isDynamicPayloadType = (pt: number): boolean => pt >= 96 && pt <= 127

/** Identity of a codec across legs: case-insensitive name, clock rate, channels (1 when absent, RFC 8866 §6.6). */
export const codecKey = (c: Codec): string => `${c.encoding.toUpperCase()}/${c.clockRate}/${c.channels ?? 1}`

/** RTP profiles (RFC 3551, 3711, 4585, 5124, and their DTLS/TLS forms): formats are payload types. */
export const isRtpProto = (proto: string): boolean => /(^|\/)RTP\//i.test(proto)

export const isTelephoneEvent = (c: Codec): boolean => c.encoding.toLowerCase() === "telephone-event"

/** Comfort noise and RFC 4733 events travel beside a voice codec; alone they make no usable stream. */
export const isAuxiliary = (c: Codec): boolean =>
  isTelephoneEvent(c) || c.encoding.toUpperCase() === "CN" || c.encoding.toLowerCase() === "red"

/**
 * The formats of an RTP media section in m= order. A dynamic payload type without a=rtpmap has no
 * known codec: it is left out (RFC 8866 §6.6 requires the mapping), as is a non-numeric format.
 */
export const formatsOf = (m: MediaDescription): ReadonlyArray<Format> => {
  const attrs = mediaAttributes(m)
  const out: Array<Format> = []
  for (const f of m.formats) {
    if (!/^[0-9]{1,3}$/.test(f)) continue
    const payloadType = Number(f)
    if (payloadType > 127) continue
    let codec: Codec | undefined
    let fmtp: string | undefined
    for (const a of attrs) {
      if (a.kind === "rtpmap" && a.payloadType === payloadType && codec === undefined) {
        codec =
          a.channels === undefined
            ? { encoding: a.encoding, clockRate: a.clockRate }
            : { encoding: a.encoding, clockRate: a.clockRate, channels: a.channels }
      }
      if (a.kind === "fmtp" && a.format === f && fmtp === undefined) fmtp = a.parameters
    }
    codec ??= staticCodec(payloadType)
    if (codec === undefined) continue
    out.push(fmtp === undefined ? { payloadType, codec } : { payloadType, codec, fmtp })
  }
  return out
}
