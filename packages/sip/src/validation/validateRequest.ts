/**
 * Request validation a B2BUA applies to a parsed request, in the order of RFC 3261 §8.2 (UAS behaviour)
 * and the parts of §16.3 (request validation) that apply to an element forwarding a request onward.
 * Pure: the policy is a value; each failure names its defect and carries the response to send.
 */
import { splitCommaList } from "../grammar/Scanner.js"
import { Accept, Require, readHeaderList } from "../headers/index.js"
import { acceptsMediaType } from "../headers/TokenLists.js"
import type { SipRequest } from "../message/SipMessage.js"
import { SipParseError } from "../message/SipParseError.js"
import { MAGIC_COOKIE } from "../message/Via.js"
import { parseUri } from "../uri/SipUri.js"

export interface ValidationFailure {
  readonly status: number
  /** Names the defect; used as the reason phrase. */
  readonly reason: string
  /** Headers the response must carry (Allow with 405, Unsupported with 420, Accept with 415, ...). */
  readonly headers: ReadonlyArray<readonly [string, string]>
}

export interface RequestPolicy {
  /** Methods this element handles (405 with Allow for known others, 501 for unknown ones). */
  readonly allowedMethods: ReadonlyArray<string>
  /** Option tags this element supports (Require / Proxy-Require beyond them → 420). */
  readonly supportedExtensions: ReadonlyArray<string>
  /** Body types this element understands (415 beyond them). */
  readonly acceptedContentTypes: ReadonlyArray<string>
  /** URI schemes accepted in the Request-URI (416 beyond them). */
  readonly uriSchemes: ReadonlyArray<string>
  /** Whether this element forwards requests (Max-Forwards and Proxy-Require apply, §16.3). */
  readonly forwards: boolean
}

/** Methods defined by RFC 3261 and the extensions the suite knows. */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
  "PUBLISH",
  "INFO",
  "REFER",
  "MESSAGE",
  "UPDATE",
])

const fail = (
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
): ValidationFailure => ({
  status,
  reason,
  headers,
})

const safeList = <T>(
  read: () => T[],
  onError: (e: SipParseError) => ValidationFailure,
): T[] | ValidationFailure => {
  try {
    return read()
  } catch (e) {
    if (e instanceof SipParseError) return onError(e)
    throw e
  }
}

const isFailure = (x: unknown): x is ValidationFailure =>
  typeof x === "object" && x !== null && "status" in x && "reason" in x && "headers" in x

/** Validates `request`; undefined when it may be processed. */
export const validateRequest = (
  request: SipRequest,
  policy: RequestPolicy,
): ValidationFailure | undefined => {
  // §8.2.1 Method inspection: 405 with Allow for a method not supported, 501 for one not recognised.
  if (!policy.allowedMethods.includes(request.method)) {
    return KNOWN_METHODS.has(request.method)
      ? fail(405, `Method ${request.method} not allowed`, [["Allow", policy.allowedMethods.join(", ")]])
      : fail(501, `Unknown method ${request.method}`, [["Allow", policy.allowedMethods.join(", ")]])
  }

  // §16.3 step 3: Max-Forwards 0 is answered 483 by an element that would forward the request (OPTIONS
  // addressed to the element itself MAY be answered, which the caller decides before forwarding).
  if (policy.forwards && request.maxForwards === 0 && request.method !== "ACK") {
    return fail(483, "Too Many Hops: Max-Forwards is 0")
  }

  // §8.2.2.1 To and Request-URI: an unsupported scheme is answered 416.
  let scheme: string
  try {
    scheme = parseUri(request.uri).scheme
  } catch (e) {
    if (e instanceof SipParseError) return fail(400, e.reason)
    throw e
  }
  if (!policy.uriSchemes.includes(scheme)) return fail(416, `Unsupported URI scheme ${scheme}`)

  // RFC 3261 §10.3 step 1 (registrar): the To header must be a SIP or SIPS address-of-record.
  if (request.method === "REGISTER") {
    const toScheme = request.to.uri.slice(0, request.to.uri.indexOf(":")).toLowerCase()
    if (toScheme !== "sip" && toScheme !== "sips")
      return fail(400, "REGISTER To is not a SIP or SIPS address-of-record")
  }

  // §8.2.2.3 Require: 420 with Unsupported. A B2BUA is a user agent on each side, so Proxy-Require
  // (§20.29, addressed to proxies) is not its concern.
  const required = safeList(
    () => readHeaderList(request, Require),
    (e) => fail(400, e.reason),
  )
  if (isFailure(required)) return required
  if (request.method !== "CANCEL" && request.method !== "ACK") {
    const unsupported = required.filter((tag) => !policy.supportedExtensions.includes(tag))
    if (unsupported.length > 0) {
      return fail(420, `Bad Extension: ${unsupported.join(", ")}`, [["Unsupported", unsupported.join(", ")]])
    }
  }

  // §8.2.3 Content processing: a body type or encoding not understood is answered 415 with Accept.
  if (request.body.length > 0 && request.contentType !== undefined) {
    const type = request.contentType.split(";")[0]!.trim().toLowerCase()
    if (!policy.acceptedContentTypes.includes(type) && !type.startsWith("multipart/")) {
      return fail(415, `Unsupported body type ${type}`, [["Accept", policy.acceptedContentTypes.join(", ")]])
    }
  }
  const encodings = request
    .headerValues("Content-Encoding")
    .flatMap((v) => splitCommaList(v, "Content-Encoding"))
  const unknownEncoding = encodings.find((e) => e.toLowerCase() !== "identity")
  if (unknownEncoding !== undefined) {
    return fail(415, `Unsupported content encoding ${unknownEncoding}`, [["Accept-Encoding", "identity"]])
  }

  // §8.2.3 / RFC 4475 §3.3.15: an INVITE whose Accept excludes application/sdp cannot be answered with a
  // session description: 406 with a Warning.
  if (request.method === "INVITE") {
    const accept = safeList(
      () => readHeaderList(request, Accept),
      (e) => fail(400, e.reason),
    )
    if (isFailure(accept)) return accept
    if (accept.length > 0 && !acceptsMediaType(accept, "application/sdp")) {
      return fail(406, "Accept does not include application/sdp", [
        ["Warning", '399 b2bua "application/sdp required"'],
      ])
    }
  }
  return undefined
}

/**
 * RFC 4475 §3.2.1: a branch that is the magic cookie alone identifies nothing; an element may refuse the
 * request statelessly rather than guess its transaction.
 */
export const checkBranch = (request: SipRequest): ValidationFailure | undefined => {
  const branch = request.topVia.params.find(([n]) => n.toLowerCase() === "branch")?.[1]
  if (branch === MAGIC_COOKIE) return fail(400, "Via branch is only the magic cookie")
  return undefined
}

/**
 * §8.2.2.2 Merged requests: a request without To-tag whose From-tag, Call-ID and CSeq match one already
 * being processed under another transaction arrived twice by different paths: 482. The lookup is the
 * caller's (it holds the state).
 */
export const mergedRequestKey = (request: SipRequest): string | undefined =>
  request.toTag === undefined
    ? `${request.fromTag ?? ""}|${request.callId}|${request.cseq.seq}|${request.method}`
    : undefined

export const LOOP_DETECTED: ValidationFailure = fail(482, "Loop Detected: request merged from another path")
