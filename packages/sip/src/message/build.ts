/**
 * Building messages the suite originates: responses to a received request (RFC 3261 §8.2.6) and new
 * requests. Values are checked through the same decoders the parser uses, so a built message is exactly
 * as valid as a parsed one.
 */
import { HeaderField } from "./HeaderField.js"
import { canonicalHeaderName, headerKey } from "./HeaderNames.js"
import { completeHot, decodeHotField, emptyAccumulator, HOT_KEYS } from "./HotHeaders.js"
import { reasonPhrase } from "./reasonPhrases.js"
import { SipRequest as Request, type SipRequest, SipResponse } from "./SipMessage.js"

export type HeaderList = ReadonlyArray<readonly [name: string, value: string]>

const EMPTY = Buffer.alloc(0)

const buildFields = (headers: HeaderList, body: Buffer, contentType: string | undefined) => {
  const fields: HeaderField[] = []
  const acc = emptyAccumulator()
  for (const [name, value] of headers) {
    const key = headerKey(name)
    if (key === "content-length") continue
    fields.push(new HeaderField(canonicalHeaderName(name), key, value, null))
    if (HOT_KEYS.has(key)) decodeHotField(acc, key, value)
  }
  if (contentType !== undefined && acc.contentType === undefined) {
    fields.push(new HeaderField("Content-Type", "content-type", contentType, null))
    acc.contentType = contentType
  }
  // Content-Length is always written: mandatory on streams and harmless on datagrams (RFC 3261 §20.14).
  fields.push(new HeaderField("Content-Length", "content-length", String(body.length), null))
  acc.contentLength = body.length
  return { fields, hot: completeHot(acc) }
}

export interface BuildRequestOptions {
  readonly method: string
  readonly uri: string
  /** Header fields in wire order; Content-Length is computed. */
  readonly headers: HeaderList
  readonly body?: Uint8Array
  readonly contentType?: string
}

/** Builds a request; throws SipParseError when a hot header value is invalid. */
export const buildRequest = (options: BuildRequestOptions): SipRequest => {
  const body = options.body === undefined ? EMPTY : Buffer.from(options.body)
  const { fields, hot } = buildFields(options.headers, body, options.contentType)
  return new Request(options.method, options.uri, fields, hot, body, undefined)
}

export interface ResponseOptions {
  readonly reason?: string
  /** Sets the To-tag when the request had none (RFC 3261 §8.2.6.2). */
  readonly toTag?: string
  /** Extra header fields, after the copied ones. */
  readonly headers?: HeaderList
  readonly body?: Uint8Array
  readonly contentType?: string
}

/**
 * Builds a response to `request` (RFC 3261 §8.2.6.2): Via (all values, in order), From, To, Call-ID and
 * CSeq are copied; a To-tag is added when given and absent (never for 100 Trying, §8.2.6.2).
 */
export const createResponse = (
  request: SipRequest,
  status: number,
  options: ResponseOptions = {},
): SipResponse => {
  const headers: Array<readonly [string, string]> = []
  for (const f of request.fields) {
    if (f.key === "via" || f.key === "from" || f.key === "to" || f.key === "call-id" || f.key === "cseq") {
      headers.push([f.name, f.value])
    } else if (f.key === "record-route" && status > 100 && status < 300) {
      // RFC 3261 §12.1.1: a UAS copies Record-Route into dialog-creating responses.
      headers.push([f.name, f.value])
    }
  }
  if (options.headers !== undefined) for (const h of options.headers) headers.push(h)
  const body = options.body === undefined ? EMPTY : Buffer.from(options.body)
  const { fields, hot } = buildFields(headers, body, options.contentType)
  const response = new SipResponse(
    status,
    options.reason ?? reasonPhrase(status),
    fields,
    hot,
    body,
    undefined,
  )
  if (options.toTag !== undefined && status !== 100 && response.toTag === undefined)
    response.setToTag(options.toTag)
  return response
}
