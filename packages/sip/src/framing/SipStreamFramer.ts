/**
 * Stream framing for SIP over TCP/TLS (RFC 3261 §18.3): a message ends Content-Length octets after the
 * empty line that ends its header fields. Also recognises RFC 5626 §3.5.1 keepalives between messages:
 * CRLFCRLF (ping, to be answered) and a lone CRLF (pong).
 *
 * Pure and incremental: `push(chunk)` returns what became complete. It never holds more than
 * `maxMessageBytes`: a peer that exceeds it, or sends an unframeable message, gets an Error event and the
 * framer refuses further input (the connection must be closed: the stream cannot be resynchronised).
 */
import { parseUnsigned } from "../grammar/Scanner.js"
import { headerKey } from "../message/HeaderNames.js"
import { DEFAULT_PARSE_LIMITS, type ParseLimits } from "../message/ParseLimits.js"
import { SipParseError } from "../message/SipParseError.js"

export type FramerEvent =
  | { readonly _tag: "Message"; readonly bytes: Buffer }
  | { readonly _tag: "KeepAlivePing" }
  | { readonly _tag: "KeepAlivePong" }
  | { readonly _tag: "FramingError"; readonly error: SipParseError }

const EMPTY = Buffer.alloc(0)

export class SipStreamFramer {
  private buffer: Buffer = EMPTY
  private failed = false

  constructor(private readonly limits: ParseLimits = DEFAULT_PARSE_LIMITS) {}

  /** Octets received but not yet part of a complete message. */
  get bufferedBytes(): number {
    return this.buffer.length
  }

  get closed(): boolean {
    return this.failed
  }

  push(chunk: Uint8Array): FramerEvent[] {
    if (this.failed) return []
    const incoming = Buffer.isBuffer(chunk)
      ? chunk
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    this.buffer = this.buffer.length === 0 ? incoming : Buffer.concat([this.buffer, incoming])
    const events: FramerEvent[] = []
    for (;;) {
      const event = this.next()
      if (event === undefined) break
      events.push(event)
      if (event._tag === "FramingError") {
        this.failed = true
        this.buffer = EMPTY
        break
      }
    }
    return events
  }

  private fail(error: SipParseError): FramerEvent {
    return { _tag: "FramingError", error }
  }

  private next(): FramerEvent | undefined {
    const buf = this.buffer
    if (buf.length === 0) return undefined
    if (buf[0] === 13) {
      if (buf.length < 2) return undefined
      if (buf[1] !== 10) return this.fail(new SipParseError("BadStartLine", "Stray CR before message"))
      if (buf.length >= 4 && buf[2] === 13 && buf[3] === 10) {
        this.buffer = buf.subarray(4)
        return { _tag: "KeepAlivePing" }
      }
      if (buf.length === 3 && buf[2] === 13) return undefined
      this.buffer = buf.subarray(2)
      return { _tag: "KeepAlivePong" }
    }
    const headEnd = buf.indexOf("\r\n\r\n", 0, "latin1")
    if (headEnd < 0) {
      if (buf.length > this.limits.maxMessageBytes) {
        return this.fail(
          new SipParseError("TooLarge", `Header fields larger than ${this.limits.maxMessageBytes} octets`),
        )
      }
      return undefined
    }
    const length = contentLengthOf(buf.toString("latin1", 0, headEnd + 2))
    if (length instanceof SipParseError) return this.fail(length)
    const total = headEnd + 4 + length
    if (total > this.limits.maxMessageBytes || length > this.limits.maxBodyBytes) {
      return this.fail(
        new SipParseError("TooLarge", `Message larger than ${this.limits.maxMessageBytes} octets`),
      )
    }
    if (buf.length < total) return undefined
    // Copy out so the message does not pin the connection's (possibly larger) buffer.
    const bytes = Buffer.from(buf.subarray(0, total))
    this.buffer = total === buf.length ? EMPTY : buf.subarray(total)
    return { _tag: "Message", bytes }
  }
}

/** The Content-Length of a header block; mandatory on streams (RFC 3261 §18.3, §20.14). */
const contentLengthOf = (head: string): number | SipParseError => {
  let found = -1
  let pos = head.indexOf("\r\n") + 2
  while (pos > 1 && pos < head.length) {
    const end = head.indexOf("\r\n", pos)
    const colon = head.indexOf(":", pos)
    if (colon > pos && colon < end) {
      const name = head.slice(pos, colon).trimEnd()
      if (name.length <= 14 && headerKey(name) === "content-length") {
        const value = head.slice(colon + 1, end).trim()
        const n = parseUnsigned(value, 9)
        if (n < 0)
          return new SipParseError(
            "BadContentLength",
            "Bad Content-Length header: not a non-negative integer",
          )
        if (found >= 0 && found !== n)
          return new SipParseError("BadContentLength", "Conflicting Content-Length headers")
        found = n
      }
    }
    pos = end + 2
  }
  if (found < 0) return new SipParseError("BadContentLength", "Missing Content-Length on a stream transport")
  return found
}
