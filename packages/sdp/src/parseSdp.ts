/**
 * SDP parser (RFC 8866 §5). Pure: text or bytes in, a SessionDescription or one SdpParseError out; it
 * never throws. Lines end with CRLF; a bare LF is accepted on input (RFC 8866 §5: "a parser SHOULD be
 * tolerant and also accept records terminated with a single newline character"). Unknown type letters and
 * attributes are kept in place; lines out of the RFC's order are kept in the order received.
 *
 * Deliberate leniencies, each seen in real traffic: a missing t= line, an empty s=, runs of spaces between
 * fields, blank lines after the last record. Everything else the grammar forbids is an error naming the
 * line.
 */
import { fields, isToken, parseAttribute, parseConnectionFields } from "./Attribute.js"
import { SdpParseError } from "./SdpParseError.js"
import type { MediaDescription, SdpLine, SessionDescription, TextLineType } from "./SessionDescription.js"

export interface SdpParseOptions {
  /** Largest description accepted, in octets (default 65,535: the largest SIP body the edge accepts). */
  readonly maxBytes?: number
}

export type SdpParseResult =
  | { readonly ok: true; readonly sdp: SessionDescription }
  | { readonly ok: false; readonly error: SdpParseError }

const DEFAULT_MAX_BYTES = 65_535
const DIGITS = /^[0-9]+$/
// RFC 8866 §5: the type letters it defines; session-only ones may not appear after the first m= line.
const SESSION_ONLY = new Set(["v", "o", "s", "u", "e", "p", "t", "r", "z"])
const isTextType = (t: string): t is TextLineType =>
  t === "s" || t === "i" || t === "u" || t === "e" || t === "p" || t === "r" || t === "z" || t === "k"
const KNOWN = new Set(["v", "o", "s", "i", "u", "e", "p", "c", "b", "t", "r", "z", "k", "a", "m"])

class Defect {
  constructor(readonly text: string) {}
}

const fail = (line: number, defect: string): SdpParseResult => ({
  ok: false,
  error: new SdpParseError({ line, defect }),
})

const decodeUtf8 = (bytes: Uint8Array): string | SdpParseError => {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes)
  } catch {
    // Name the first line that is not UTF-8 (RFC 8866 §5: text is UTF-8 unless a=charset says otherwise).
    let line = 1
    let start = 0
    for (let i = 0; i <= bytes.length; i++) {
      if (i === bytes.length || bytes[i] === 0x0a) {
        try {
          new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(start, i))
        } catch {
          return new SdpParseError({ line, defect: "not valid UTF-8" })
        }
        line++
        start = i + 1
      }
    }
    return new SdpParseError({ line: 0, defect: "not valid UTF-8" })
  }
}

const parseLine = (type: string, value: string): SdpLine | Defect => {
  if (isTextType(type)) return { type, text: value }
  switch (type) {
    case "v":
      return value === "0" ? { type: "v", version: 0 } : new Defect(`v=: unsupported version "${value}"`)
    case "o": {
      const f = fields(value)
      const [username, sessionId, sessionVersion, netType, addrType, address] = f
      if (
        f.length !== 6 ||
        username === undefined ||
        sessionId === undefined ||
        sessionVersion === undefined ||
        netType === undefined ||
        addrType === undefined ||
        address === undefined
      ) {
        return new Defect("o=: expected <username> <sess-id> <sess-version> <nettype> <addrtype> <address>")
      }
      if (!DIGITS.test(sessionId) || sessionId.length > 20) return new Defect("o=: sess-id must be digits")
      if (!DIGITS.test(sessionVersion) || sessionVersion.length > 20) {
        return new Defect("o=: sess-version must be digits")
      }
      return { type: "o", origin: { username, sessionId, sessionVersion, netType, addrType, address } }
    }
    case "c": {
      const connection = parseConnectionFields(fields(value))
      return connection === undefined
        ? new Defect("c=: expected <nettype> <addrtype> <connection-address>")
        : { type: "c", connection }
    }
    case "b": {
      const colon = value.indexOf(":")
      const bwType = value.slice(0, colon)
      const amount = value.slice(colon + 1)
      if (colon <= 0 || !isToken(bwType) || !DIGITS.test(amount) || amount.length > 10) {
        return new Defect("b=: expected <bwtype>:<bandwidth>")
      }
      return { type: "b", bwType, bandwidth: Number(amount) }
    }
    case "t": {
      const f = fields(value)
      const [start, stop] = f
      if (
        f.length !== 2 ||
        start === undefined ||
        stop === undefined ||
        !DIGITS.test(start) ||
        !DIGITS.test(stop)
      ) {
        return new Defect("t=: expected <start-time> <stop-time> in decimal seconds")
      }
      return { type: "t", start, stop }
    }
    case "a": {
      const attribute = parseAttribute(value)
      return typeof attribute === "string" ? new Defect(attribute) : { type: "a", attribute }
    }
    default:
      return { type: "unknown", letter: type, text: value }
  }
}

interface MediaHead {
  readonly media: string
  readonly port: number
  readonly portCount?: number
  readonly proto: string
  readonly formats: ReadonlyArray<string>
}

const parseMediaLine = (value: string): MediaHead | Defect => {
  const [media, portText, proto, ...formats] = fields(value)
  if (media === undefined || portText === undefined || proto === undefined) {
    return new Defect("m=: expected <media> <port> <proto> <fmt> ...")
  }
  if (!isToken(media)) return new Defect("m=: media type is not a token")
  const [port, count, ...more] = portText.split("/")
  if (
    port === undefined ||
    !DIGITS.test(port) ||
    port.length > 5 ||
    Number(port) > 65_535 ||
    more.length > 0
  ) {
    return new Defect("m=: port must be 0-65535")
  }
  if (!/^[!#$%&'*+\-./0-9A-Z^_`a-z{|}~]+$/.test(proto)) return new Defect("m=: proto is not a token")
  if (formats.some((f) => !isToken(f))) return new Defect("m=: a format is not a token")
  const head = { media, port: Number(port), proto, formats }
  if (count === undefined) return head
  if (!DIGITS.test(count) || count.length > 5 || Number(count) === 0) {
    return new Defect("m=: number of ports must be a positive integer")
  }
  return { ...head, portCount: Number(count) }
}

export const parseSdp = (input: string | Uint8Array, options: SdpParseOptions = {}): SdpParseResult => {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  let text: string
  if (typeof input === "string") {
    // A UTF-16 unit is at least one octet of UTF-8: a cheap bound before the exact one.
    if (input.length > maxBytes || Buffer.byteLength(input, "utf8") > maxBytes) {
      return fail(0, `larger than ${maxBytes} octets`)
    }
    text = input
  } else {
    if (input.length > maxBytes) return fail(0, `larger than ${maxBytes} octets`)
    const decoded = decodeUtf8(input)
    if (decoded instanceof SdpParseError) return { ok: false, error: decoded }
    text = decoded
  }
  const raw = text.split("\n")
  // Blank records after the last line (the final CRLF, or extra ones some stacks add) end the description.
  while (raw.length > 0 && (raw[raw.length - 1] === "" || raw[raw.length - 1] === "\r")) raw.pop()
  if (raw.length === 0) return fail(1, "empty description: expected v=0")

  const session: Array<SdpLine> = []
  const media: Array<MediaDescription> = []
  let current: { head: MediaHead; lines: Array<SdpLine>; lineNo: number } | undefined
  const mediaLineNos: Array<number> = []
  const seen = new Set<string>()
  const flush = () => {
    if (current !== undefined) media.push({ ...current.head, lines: current.lines })
  }

  for (let i = 0; i < raw.length; i++) {
    const lineNo = i + 1
    const full = raw[i] ?? ""
    const line = full.endsWith("\r") ? full.slice(0, -1) : full
    if (line.includes("\r")) return fail(lineNo, "bare CR inside the line")
    if (line.includes("\0")) return fail(lineNo, "NUL character")
    const type = line[0] ?? ""
    if (line.length < 2 || line[1] !== "=" || !/^[a-zA-Z]$/.test(type)) {
      return fail(lineNo, line.length === 0 ? "empty line" : "expected <type>=<value>")
    }
    const value = line.slice(2)
    if (lineNo === 1 && type !== "v") return fail(1, "the first line must be v=0 (RFC 8866 §5)")
    if (type === "m") {
      const head = parseMediaLine(value)
      if (head instanceof Defect) return fail(lineNo, head.text)
      flush()
      current = { head, lines: [], lineNo }
      mediaLineNos.push(lineNo)
      continue
    }
    if (KNOWN.has(type)) {
      if (current !== undefined && SESSION_ONLY.has(type)) {
        return fail(lineNo, `${type}= is not allowed in a media description`)
      }
      if ((type === "v" || type === "o" || type === "s") && seen.has(type)) {
        return fail(lineNo, `second ${type}= line`)
      }
      seen.add(type)
    }
    const parsed = parseLine(type, value)
    if (parsed instanceof Defect) return fail(lineNo, parsed.text)
    if (current === undefined) session.push(parsed)
    else current.lines.push(parsed)
  }
  flush()

  if (!seen.has("o")) return fail(0, "missing o= line (RFC 8866 §5.2)")
  if (!seen.has("s")) return fail(0, "missing s= line (RFC 8866 §5.3)")
  const sessionHasC = session.some((l) => l.type === "c")
  for (const [index, m] of media.entries()) {
    // RFC 8866 §5.7: c= in every media description or at session level; a disabled stream needs none.
    if (!sessionHasC && m.port !== 0 && !m.lines.some((l) => l.type === "c")) {
      return fail(mediaLineNos[index] ?? 0, "no c= line in this media description nor at session level")
    }
  }
  return { ok: true, sdp: { session, media } }
}

/** The same as `parseSdp`, throwing the SdpParseError: for inputs the caller built itself. */
export const parseSdpOrThrow = (
  input: string | Uint8Array,
  options: SdpParseOptions = {},
): SessionDescription => {
  const result = parseSdp(input, options)
  if (!result.ok) throw result.error
  return result.sdp
}
