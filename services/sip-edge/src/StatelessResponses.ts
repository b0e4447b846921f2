/**
 * Responses the edge sends on its own, without call control: 400 for a request it cannot parse (the
 * reason phrase names the defect), 505 for another SIP version, 503 with Retry-After when call control is
 * absent or overloaded. The edge keeps no transaction for them (RFC 3261 §8.2.6: stateless UAS).
 */
import { randomBytes } from "node:crypto"
import { createResponse, headerKey, type SipParseError, type SipRequest, serializeMessage } from "@b2bua/sip"

const COPIED = new Set(["via", "from", "to", "call-id", "cseq"])

const randomTag = (): string => `e${randomBytes(6).toString("hex")}`

/** Reason phrases may not hold CR or LF (RFC 3261 §25.1 Reason-Phrase). */
const sanitize = (reason: string): string => reason.replace(/[\r\n]+/g, " ").slice(0, 200)

/**
 * A 400 (or 505) for bytes that did not parse: the Via, From, To, Call-ID and CSeq lines are copied as
 * they came. Undefined when there is no Via to answer to.
 */
export const rejectUnparseable = (bytes: Uint8Array, error: SipParseError): Buffer | undefined => {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1")
  const headEnd = text.indexOf("\r\n\r\n")
  const lines = (headEnd < 0 ? text : text.slice(0, headEnd)).split("\r\n").slice(1)
  const copied: string[] = []
  let hasVia = false
  let hasToTag = false
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    const key = headerKey(line.slice(0, colon).trim())
    if (!COPIED.has(key)) continue
    if (key === "via") hasVia = true
    if (key === "to") {
      hasToTag = /;\s*tag\s*=/i.test(line)
      copied.push(hasToTag ? line : `${line};tag=${randomTag()}`)
      continue
    }
    copied.push(line)
  }
  if (!hasVia) return undefined
  const status = error.code === "BadVersion" ? "505" : "400"
  return Buffer.from(
    `SIP/2.0 ${status} ${sanitize(error.reason)}\r\n${copied.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`,
    "latin1",
  )
}

/** 503 with Retry-After (RFC 3261 §21.5.4) and a reason that says why. */
export const serviceUnavailable = (request: SipRequest, why: string, retryAfterSeconds: number): Buffer =>
  serializeMessage(
    createResponse(request, 503, {
      reason: `Service Unavailable (${sanitize(why)})`,
      toTag: randomTag(),
      headers: [["Retry-After", String(retryAfterSeconds)]],
    }),
  )

/** Any status for a request (used for validation failures such as 483). */
export const statelessResponse = (
  request: SipRequest,
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
): Buffer =>
  serializeMessage(createResponse(request, status, { reason: sanitize(reason), toTag: randomTag(), headers }))
