/**
 * Bencode (the encoding of rtpengine's ng control protocol): dictionaries, lists, byte strings,
 * integers. Enough to drive rtpengine from the benchmark; not used by the relay itself.
 */

export type Bencoded = string | number | ReadonlyArray<Bencoded> | { readonly [key: string]: Bencoded }

export const bencode = (v: Bencoded): string => {
  if (typeof v === "number") return `i${Math.trunc(v)}e`
  if (typeof v === "string") return `${Buffer.byteLength(v)}:${v}`
  if (Array.isArray(v)) return `l${v.map(bencode).join("")}e`
  const d = v as { readonly [key: string]: Bencoded }
  return `d${Object.keys(d)
    .sort()
    .map((k) => bencode(k) + bencode(d[k] ?? ""))
    .join("")}e`
}

export class BencodeError extends Error {}

/** Decodes one value from `s` at `at`; returns the value and the offset after it. */
export const bdecode = (s: string, at = 0): [Bencoded, number] => {
  const c = s[at]
  if (c === "i") {
    const end = s.indexOf("e", at)
    if (end < 0) throw new BencodeError(`unterminated integer at ${at}`)
    return [Number(s.slice(at + 1, end)), end + 1]
  }
  if (c === "l") {
    const out: Array<Bencoded> = []
    let i = at + 1
    while (s[i] !== "e") {
      if (i >= s.length) throw new BencodeError("unterminated list")
      const [v, next] = bdecode(s, i)
      out.push(v)
      i = next
    }
    return [out, i + 1]
  }
  if (c === "d") {
    const out: Record<string, Bencoded> = {}
    let i = at + 1
    while (s[i] !== "e") {
      if (i >= s.length) throw new BencodeError("unterminated dictionary")
      const [k, afterKey] = bdecode(s, i)
      const [v, next] = bdecode(s, afterKey)
      out[String(k)] = v
      i = next
    }
    return [out, i + 1]
  }
  const colon = s.indexOf(":", at)
  if (colon < 0) throw new BencodeError(`bad token at ${at}`)
  const len = Number(s.slice(at, colon))
  if (!Number.isInteger(len) || len < 0) throw new BencodeError(`bad string length at ${at}`)
  // Lengths count bytes; the benchmark only exchanges ASCII (SDP), so characters are bytes.
  return [s.slice(colon + 1, colon + 1 + len), colon + 1 + len]
}
