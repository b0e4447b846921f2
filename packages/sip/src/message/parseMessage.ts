/**
 * The SIP message parser (RFC 3261 §7, §25): bytes in, a typed message or one SipParseError out.
 * Pure: no I/O, no clocks. The header block is decoded once as latin1 (one char per octet, so UTF-8 and
 * binary octets pass through unchanged) and scanned with indexOf; only the hot headers are decoded.
 *
 * `parseMessage` never throws: it returns `{ ok: true, message }` or `{ ok: false, error }`.
 */
import { isToken, isWsp, parseUnsigned } from "../grammar/Scanner.js"
import { HeaderField } from "./HeaderField.js"
import { commonKey, headerKey } from "./HeaderNames.js"
import { completeHot, decodeHotField, emptyAccumulator } from "./HotHeaders.js"
import { URI_FORBIDDEN } from "./NameAddr.js"
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "./ParseLimits.js"
import { type SipMessage, SipRequest, SipResponse } from "./SipMessage.js"
import { SipParseError } from "./SipParseError.js"

export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage }
  | { readonly ok: false; readonly error: SipParseError }

export interface ParseOptions {
  readonly limits?: ParseLimits
  /**
   * "datagram" (UDP): without Content-Length the body is the rest of the datagram (RFC 3261 §18.3);
   * "stream" (TCP): the framer has already cut the message by Content-Length, which is mandatory.
   */
  readonly mode?: "datagram" | "stream"
}

const toBuffer = (input: Uint8Array): Buffer =>
  Buffer.isBuffer(input) ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength)

export const parseMessage = (input: Uint8Array, options?: ParseOptions): ParseResult => {
  try {
    return {
      ok: true,
      message: parseOrThrow(
        toBuffer(input),
        options?.limits ?? DEFAULT_PARSE_LIMITS,
        options?.mode ?? "datagram",
      ),
    }
  } catch (e) {
    if (e instanceof SipParseError) return { ok: false, error: e }
    // Anything else is a bug in this parser; it still must not escape as an untyped throw.
    return { ok: false, error: new SipParseError("BadHeader", "Unparseable message") }
  }
}

/** Like parseMessage, but throws the SipParseError. For callers that already handle it as an exception. */
export const parseMessageOrThrow = (input: Uint8Array, options?: ParseOptions): SipMessage =>
  parseOrThrow(toBuffer(input), options?.limits ?? DEFAULT_PARSE_LIMITS, options?.mode ?? "datagram")

const parseOrThrow = (buf: Buffer, limits: ParseLimits, mode: "datagram" | "stream"): SipMessage => {
  if (buf.length > limits.maxMessageBytes) {
    throw new SipParseError("TooLarge", `Message larger than ${limits.maxMessageBytes} octets`)
  }
  // RFC 3261 §7.5: CRLFs before the start line are ignored.
  let start = 0
  while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2
  if (start >= buf.length) throw new SipParseError("Empty", "Empty message")
  // One latin1 decode of the whole message; the empty line that ends the header fields is found by the
  // line scan below (cheaper than a separate search of the bytes).
  const head = buf.toString("latin1", start)

  const firstEnd = head.indexOf("\r\n")
  if (firstEnd < 0) throw new SipParseError("BadHeader", "Missing empty line after the header fields")
  const startLine = head.slice(0, firstEnd)
  if (startLine.length > limits.maxLineBytes) throw new SipParseError("LineTooLong", "Start line too long")

  const fields: HeaderField[] = []
  const acc = emptyAccumulator()
  let pos = firstEnd + 2
  for (;;) {
    if (pos + 1 < head.length && head.charCodeAt(pos) === 13 && head.charCodeAt(pos + 1) === 10) break
    // Lines end in CRLF; searching for the LF alone is faster, then the CR is checked.
    let lineEnd = lineEndAt(head, pos)
    // Folded continuation lines (leading SP/HT) belong to this field (RFC 3261 §7.3.1).
    let folded = false
    while (lineEnd + 2 < head.length && isWsp(head.charCodeAt(lineEnd + 2))) {
      folded = true
      lineEnd = lineEndAt(head, lineEnd + 2)
    }
    if (lineEnd - pos > limits.maxLineBytes) throw new SipParseError("LineTooLong", "Header field too long")
    if (fields.length >= limits.maxHeaderFields) {
      throw new SipParseError("TooManyHeaders", `More than ${limits.maxHeaderFields} header fields`)
    }
    const colon = head.indexOf(":", pos)
    if (colon < 0 || colon >= lineEnd || colon === pos) {
      if (isWsp(head.charCodeAt(pos)))
        throw new SipParseError("BadHeader", "Header field starts with whitespace")
      throw new SipParseError("BadHeader", "Header field without a colon")
    }
    // HCOLON = *( SP / HTAB ) ":" SWS
    let nameEnd = colon
    while (nameEnd > pos && isWsp(head.charCodeAt(nameEnd - 1))) nameEnd--
    const name = head.slice(pos, nameEnd)
    let a = colon + 1
    let b = lineEnd
    while (a < b && isWsp(head.charCodeAt(a))) a++
    while (b > a && isWsp(head.charCodeAt(b - 1))) b--
    const value = folded ? unfold(head.slice(a, b)) : head.slice(a, b)
    // A name spelled as a well-known header is a token already; others are checked.
    const known = commonKey(name)
    const key = known ?? headerKey(name)
    if (!decodeHotField(acc, key, value) && known === undefined && !isToken(name)) {
      throw new SipParseError("BadHeader", "Header field name is not a token")
    }
    fields.push(new HeaderField(name, key, value, head, pos, lineEnd))
    pos = lineEnd + 2
  }

  const hot = completeHot(acc)
  const bodyStart = start + pos + 2
  const available = buf.length - bodyStart
  let bodyLength: number
  if (hot.contentLength !== undefined) {
    if (hot.contentLength > available) {
      throw new SipParseError("BodyTruncated", "Content-Length larger than the body received")
    }
    // RFC 3261 §18.3: octets beyond Content-Length in a datagram are discarded.
    bodyLength = hot.contentLength
  } else {
    if (mode === "stream")
      throw new SipParseError("BadContentLength", "Missing Content-Length on a stream transport")
    bodyLength = available
  }
  if (bodyLength > limits.maxBodyBytes)
    throw new SipParseError("TooLarge", `Body larger than ${limits.maxBodyBytes} octets`)
  const body = buf.subarray(bodyStart, bodyStart + bodyLength)
  const source =
    start === 0 && bodyStart + bodyLength === buf.length ? buf : buf.subarray(start, bodyStart + bodyLength)

  if (startLine.startsWith("SIP/")) {
    const { version, status, reason } = parseStatusLine(startLine)
    return new SipResponse(status, reason, fields, hot, body, source, version)
  }
  const { method, uri } = parseRequestLine(startLine)
  // RFC 3261 §8.1.1.5: the CSeq method MUST match the method of the request.
  if (hot.cseq.method !== method) {
    throw new SipParseError("BadHeaderValue", "CSeq method does not match the request method")
  }
  return new SipRequest(method, uri, fields, hot, body, source)
}

/** The index of the CRLF ending the line that starts at `pos`; a bare LF is a framing error. */
const lineEndAt = (head: string, pos: number): number => {
  const lf = head.indexOf("\n", pos)
  if (lf < 0) throw new SipParseError("BadHeader", "Missing empty line after the header fields")
  if (lf <= pos || head.charCodeAt(lf - 1) !== 13) {
    throw new SipParseError("BadHeader", "Header line not terminated by CRLF")
  }
  return lf - 1
}

/** RFC 3261 §7.3.1: a line fold (CRLF followed by whitespace) is equivalent to whitespace. */
const unfold = (value: string): string => value.replace(/\r\n/g, "")

/** Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2). */
const parseStatusLine = (line: string): { version: string; status: number; reason: string } => {
  const sp1 = line.indexOf(" ")
  if (sp1 < 0) throw new SipParseError("BadStartLine", "Malformed status line")
  const version = checkVersion(line.slice(0, sp1))
  const sp2 = line.indexOf(" ", sp1 + 1)
  const code = line.slice(sp1 + 1, sp2 < 0 ? line.length : sp2)
  const status = code.length === 3 ? parseUnsigned(code, 3) : -1
  // RFC 3261 §21: status codes are 100 to 699.
  if (status < 100 || status > 699) throw new SipParseError("BadStatus", "Status code is not from 100 to 699")
  const reason = sp2 < 0 ? "" : line.slice(sp2 + 1)
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i)
    if (c < 32 && c !== 9) throw new SipParseError("BadStartLine", "Control character in reason phrase")
  }
  return { version, status, reason }
}

/** Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly one SP between parts. */
const parseRequestLine = (line: string): { method: string; uri: string } => {
  const sp1 = line.indexOf(" ")
  const sp2 = line.lastIndexOf(" ")
  if (sp1 <= 0 || sp2 === sp1) throw new SipParseError("BadStartLine", "Malformed request line")
  const method = line.slice(0, sp1)
  if (!isToken(method)) throw new SipParseError("BadMethod", "Method is not a token")
  checkVersion(line.slice(sp2 + 1))
  const uri = line.slice(sp1 + 1, sp2)
  checkRequestUri(uri)
  return { method, uri }
}

const checkVersion = (version: string): string => {
  if (version === "SIP/2.0") return version
  if (version.toUpperCase() === "SIP/2.0") return "SIP/2.0"
  if (/^SIP\/\d+\.\d+$/i.test(version)) {
    throw new SipParseError("BadVersion", `SIP version ${version.slice(4)} not supported`)
  }
  throw new SipParseError(
    "BadStartLine",
    version.length === 0 ? "Trailing whitespace in start line" : "Malformed SIP version",
  )
}

/** RFC 3261 §7.1, §19.1.1: no whitespace or <> in the Request-URI, and no headers in a SIP Request-URI. */
const checkRequestUri = (uri: string): void => {
  const colon = uri.indexOf(":")
  if (colon <= 0) throw new SipParseError("BadRequestUri", "Request-URI has no scheme")
  if (URI_FORBIDDEN.test(uri))
    throw new SipParseError("BadRequestUri", "Request-URI contains whitespace or a delimiter")
  const scheme = uri.slice(0, colon).toLowerCase()
  // A '?' in the user part is legal (RFC 3261 §25.1 user-unreserved); headers follow the host.
  const at = uri.lastIndexOf("@")
  if ((scheme === "sip" || scheme === "sips") && uri.indexOf("?", at < 0 ? colon : at) >= 0) {
    throw new SipParseError("BadRequestUri", "Request-URI must not contain headers")
  }
}
