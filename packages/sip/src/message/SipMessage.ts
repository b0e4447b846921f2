/**
 * The SIP message model (RFC 3261 §7): a request or a response, its header fields in wire order, and its
 * body. The hot headers (Via, From, To, Call-ID, CSeq, Max-Forwards, Contact, Content-Length,
 * Content-Type) are decoded once, at parse time, into typed values; every other header stays text until
 * asked for. The edit methods keep the typed values and the field list in step, so serialization writes
 * back only what changed and copies every other field as it was received.
 */
import { setParam, splitCommaList } from "../grammar/Scanner.js"
import { parseUri, type Uri } from "../uri/SipUri.js"
import { type CSeq, formatCSeq } from "./CSeq.js"
import { HeaderField } from "./HeaderField.js"
import { canonicalHeaderName, headerKey } from "./HeaderNames.js"
import { HOT_KEYS, type HotHeaders, refreshHotHeader } from "./HotHeaders.js"
import { formatNameAddr, type NameAddr, nameAddrTag } from "./NameAddr.js"
import { formatVia, type Via } from "./Via.js"

export const SIP_VERSION = "SIP/2.0"

abstract class SipMessageBase {
  /** Set when the message differs from `source`; serialization then rebuilds it from the fields. */
  protected dirty = false

  constructor(
    readonly fields: HeaderField[],
    protected hot: HotHeaders,
    public body: Buffer,
    /** The exact bytes this message was parsed from, when it was parsed and not built. */
    protected source: Buffer | undefined,
  ) {
    if (source === undefined) this.dirty = true
  }

  abstract startLine(): string

  get vias(): ReadonlyArray<Via> {
    return this.hot.vias
  }
  get topVia(): Via {
    // A parsed or built message always has at least one Via (checked at parse/build time).
    return this.hot.vias[0]!
  }
  get from(): NameAddr {
    return this.hot.from
  }
  get to(): NameAddr {
    return this.hot.to
  }
  get fromTag(): string | undefined {
    return nameAddrTag(this.hot.from)
  }
  get toTag(): string | undefined {
    return nameAddrTag(this.hot.to)
  }
  get callId(): string {
    return this.hot.callId
  }
  get cseq(): CSeq {
    return this.hot.cseq
  }
  get maxForwards(): number | undefined {
    return this.hot.maxForwards
  }
  get contacts(): ReadonlyArray<NameAddr> {
    return this.hot.contacts
  }
  get contactStar(): boolean {
    return this.hot.contactStar
  }
  get contentLength(): number | undefined {
    return this.hot.contentLength
  }
  get contentType(): string | undefined {
    return this.hot.contentType
  }

  /** Whether the bytes of `serializeMessage` would differ from the bytes parsed. */
  get edited(): boolean {
    return this.dirty
  }
  /** The bytes this message was parsed from, while unedited. */
  get sourceBytes(): Buffer | undefined {
    return this.dirty ? undefined : this.source
  }

  /** The first value of a header, by any spelling of its name (compact forms included). */
  header(name: string): string | undefined {
    const key = headerKey(name)
    for (const f of this.fields) if (f.key === key) return f.value
    return undefined
  }

  /** Every field value of a header, in order (one entry per field line, lists not split). */
  headerValues(name: string): string[] {
    const key = headerKey(name)
    const out: string[] = []
    for (const f of this.fields) if (f.key === key) out.push(f.value)
    return out
  }

  /** Every element of a comma-list header across all its fields (RFC 3261 §7.3.1). */
  headerList(name: string): string[] {
    const out: string[] = []
    for (const v of this.headerValues(name))
      for (const e of splitCommaList(v, canonicalHeaderName(name))) out.push(e)
    return out
  }

  hasHeader(name: string): boolean {
    return this.header(name) !== undefined
  }

  /** Adds a field after every other field. */
  appendHeader(name: string, value: string): void {
    this.insertField(this.fields.length, name, value)
  }

  /** Adds a field before every field of the same name, or first when there is none. */
  prependHeader(name: string, value: string): void {
    const key = headerKey(name)
    const at = this.fields.findIndex((f) => f.key === key)
    this.insertField(Math.max(at, 0), name, value)
  }

  /** Replaces every field of this name with one field (at the position of the first), or appends it. */
  setHeader(name: string, value: string): void {
    const key = headerKey(name)
    const at = this.fields.findIndex((f) => f.key === key)
    this.removeFields(key)
    this.insertField(at < 0 ? this.fields.length : Math.min(at, this.fields.length), name, value)
  }

  removeHeader(name: string): void {
    this.removeFields(headerKey(name))
    this.refreshHot(headerKey(name))
  }

  /** Adds a Via on top (RFC 3261 §16.6 step 8, §8.1.1.7). */
  prependVia(via: Via): void {
    const at = this.fields.findIndex((f) => f.key === "via")
    this.fields.splice(Math.max(at, 0), 0, new HeaderField("Via", "via", formatVia(via), null))
    this.hot.vias = [via, ...this.hot.vias]
    this.dirty = true
  }

  /** Removes the top Via value (RFC 3261 §18.1.2 / §16.7 step 3), keeping the others of its field. */
  removeTopVia(): void {
    const at = this.fields.findIndex((f) => f.key === "via")
    if (at < 0) return
    const field = this.fields[at]!
    const elements = splitCommaList(field.value, "Via")
    if (elements.length > 1) {
      const rest = elements.slice(1).join(", ")
      this.fields[at] = new HeaderField(field.name, "via", rest, null)
    } else {
      this.fields.splice(at, 1)
    }
    this.hot.vias = this.hot.vias.slice(1)
    this.dirty = true
  }

  /** Replaces the top Via with an edited one (e.g. received/rport added, RFC 3581 §4). */
  replaceTopVia(via: Via): void {
    this.removeTopVia()
    this.prependVia(via)
  }

  setFrom(from: NameAddr): void {
    this.hot.from = from
    this.replaceSingle("From", "from", formatNameAddr(from))
  }

  setTo(to: NameAddr): void {
    this.hot.to = to
    this.replaceSingle("To", "to", formatNameAddr(to))
  }

  setToTag(tag: string): void {
    this.setTo({ ...this.hot.to, params: setParam(this.hot.to.params, "tag", tag) })
  }

  setFromTag(tag: string): void {
    this.setFrom({ ...this.hot.from, params: setParam(this.hot.from.params, "tag", tag) })
  }

  setCallId(callId: string): void {
    this.hot.callId = callId
    this.replaceSingle("Call-ID", "call-id", callId)
  }

  setCSeq(cseq: CSeq): void {
    this.hot.cseq = cseq
    this.replaceSingle("CSeq", "cseq", formatCSeq(cseq))
  }

  setMaxForwards(value: number): void {
    this.hot.maxForwards = value
    this.replaceSingle("Max-Forwards", "max-forwards", String(value))
  }

  setContacts(contacts: ReadonlyArray<NameAddr>): void {
    this.removeFields("contact")
    this.hot.contacts = [...contacts]
    this.hot.contactStar = false
    if (contacts.length > 0) {
      this.fields.push(new HeaderField("Contact", "contact", contacts.map(formatNameAddr).join(", "), null))
    }
    this.dirty = true
  }

  /** Sets the body and the headers that describe it (Content-Type, Content-Length). */
  setBody(body: Uint8Array, contentType?: string): void {
    this.body = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
    if (contentType !== undefined) {
      this.hot.contentType = contentType
      this.replaceSingle("Content-Type", "content-type", contentType)
    } else if (this.body.length === 0) {
      this.hot.contentType = undefined
      this.removeFields("content-type")
    }
    this.hot.contentLength = this.body.length
    this.replaceSingle("Content-Length", "content-length", String(this.body.length))
  }

  protected replaceSingle(name: string, key: string, value: string): void {
    const at = this.fields.findIndex((f) => f.key === key)
    const field = new HeaderField(at < 0 ? name : this.fields[at]!.name, key, value, null)
    if (at < 0) this.fields.push(field)
    else {
      this.fields[at] = field
      for (let i = this.fields.length - 1; i > at; i--)
        if (this.fields[i]!.key === key) this.fields.splice(i, 1)
    }
    this.dirty = true
  }

  private insertField(at: number, name: string, value: string): void {
    const key = headerKey(name)
    this.fields.splice(at, 0, new HeaderField(canonicalHeaderName(name), key, value, null))
    this.refreshHot(key)
    this.dirty = true
  }

  private removeFields(key: string): void {
    for (let i = this.fields.length - 1; i >= 0; i--) {
      if (this.fields[i]!.key === key) {
        this.fields.splice(i, 1)
        this.dirty = true
      }
    }
  }

  /** Re-decodes a hot header after a generic edit of its fields. */
  private refreshHot(key: string): void {
    if (HOT_KEYS.has(key)) refreshHotHeader(this.hot, this.fields, key)
  }
}

export class SipRequest extends SipMessageBase {
  readonly kind = "request" as const

  constructor(
    public method: string,
    /** The Request-URI as written (RFC 3261 §7.1); `requestUri` decodes it. */
    public uri: string,
    fields: HeaderField[],
    hot: HotHeaders,
    body: Buffer,
    source: Buffer | undefined,
    readonly version: string = SIP_VERSION,
  ) {
    super(fields, hot, body, source)
  }

  startLine(): string {
    return `${this.method} ${this.uri} ${this.version}`
  }

  get requestUri(): Uri {
    return parseUri(this.uri)
  }

  setRequestUri(uri: string): void {
    this.uri = uri
    this.dirty = true
  }
}

export class SipResponse extends SipMessageBase {
  readonly kind = "response" as const

  constructor(
    public status: number,
    public reason: string,
    fields: HeaderField[],
    hot: HotHeaders,
    body: Buffer,
    source: Buffer | undefined,
    readonly version: string = SIP_VERSION,
  ) {
    super(fields, hot, body, source)
  }

  startLine(): string {
    return `${this.version} ${this.status} ${this.reason}`
  }

  setStatus(status: number, reason: string): void {
    this.status = status
    this.reason = reason
    this.dirty = true
  }
}

export type SipMessage = SipRequest | SipResponse

export const isRequest = (m: SipMessage): m is SipRequest => m.kind === "request"
export const isResponse = (m: SipMessage): m is SipResponse => m.kind === "response"
