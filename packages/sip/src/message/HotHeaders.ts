/**
 * Decoding of the hot headers (the ones every element needs for every message: RFC 3261 §8.1.1) from
 * header fields into typed values, with the checks that make a message unusable when they fail.
 */
import { parseUnsigned, splitCommaList, trimWsp } from "../grammar/Scanner.js"
import { type CSeq, parseCSeq } from "./CSeq.js"
import type { HeaderField } from "./HeaderField.js"
import { type NameAddr, parseNameAddr } from "./NameAddr.js"
import { badHeaderValue, SipParseError } from "./SipParseError.js"
import { parseVia, type Via } from "./Via.js"

export interface HotHeaders {
  vias: Via[]
  from: NameAddr
  to: NameAddr
  callId: string
  cseq: CSeq
  maxForwards: number | undefined
  /** Contact values in order; empty when absent. */
  contacts: NameAddr[]
  /** `Contact: *` (RFC 3261 §10.2.2). */
  contactStar: boolean
  contentLength: number | undefined
  contentType: string | undefined
}

export const HOT_KEYS: ReadonlySet<string> = new Set([
  "via",
  "from",
  "to",
  "call-id",
  "cseq",
  "max-forwards",
  "contact",
  "content-length",
  "content-type",
  "date",
])

/** Partially decoded hot headers while fields are being read. */
export interface HotAccumulator {
  vias: Via[]
  from: NameAddr | undefined
  to: NameAddr | undefined
  callId: string | undefined
  cseq: CSeq | undefined
  maxForwards: number | undefined
  contacts: NameAddr[]
  contactStar: boolean
  contentLength: number | undefined
  contentType: string | undefined
}

export const emptyAccumulator = (): HotAccumulator => ({
  vias: [],
  from: undefined,
  to: undefined,
  callId: undefined,
  cseq: undefined,
  maxForwards: undefined,
  contacts: [],
  contactStar: false,
  contentLength: undefined,
  contentType: undefined,
})

const duplicate = (name: string): SipParseError =>
  new SipParseError("DuplicateHeader", `Duplicate ${name} header`)

/**
 * Decodes one hot field into the accumulator; singleton headers may appear once (RFC 3261 §7.3.1).
 * Returns false for a header that is not hot (left as text).
 */
export const decodeHotField = (acc: HotAccumulator, key: string, value: string): boolean => {
  switch (key) {
    case "via":
      if (value.indexOf(",") < 0) acc.vias.push(parseVia(value))
      else for (const v of splitCommaList(value, "Via")) acc.vias.push(parseVia(v))
      return true
    case "from":
      if (acc.from !== undefined) throw duplicate("From")
      acc.from = parseNameAddr(value, "From")
      return true
    case "to":
      if (acc.to !== undefined) throw duplicate("To")
      acc.to = parseNameAddr(value, "To")
      return true
    case "call-id": {
      if (acc.callId !== undefined) throw duplicate("Call-ID")
      // RFC 3261 §25.1: callid = word [ "@" word ] — no whitespace inside.
      if (value.length === 0) throw badHeaderValue("Call-ID", "empty")
      if (CONTROL_OR_SPACE.test(value))
        throw badHeaderValue("Call-ID", "contains whitespace or control characters")
      acc.callId = value
      return true
    }
    case "cseq":
      if (acc.cseq !== undefined) throw duplicate("CSeq")
      acc.cseq = parseCSeq(value)
      return true
    case "max-forwards": {
      if (acc.maxForwards !== undefined) throw duplicate("Max-Forwards")
      const n = parseUnsigned(value, 10)
      // RFC 3261 §20.22: an integer in the range 0-255.
      if (n < 0 || n > 255) throw badHeaderValue("Max-Forwards", "not an integer from 0 to 255")
      acc.maxForwards = n
      return true
    }
    case "contact":
      if (value === "*") {
        acc.contactStar = true
        return true
      }
      if (value.indexOf(",") < 0) acc.contacts.push(parseNameAddr(value, "Contact"))
      else for (const c of splitCommaList(value, "Contact")) acc.contacts.push(parseNameAddr(c, "Contact"))
      return true
    case "content-length": {
      const n = parseUnsigned(value, 9)
      if (n < 0)
        throw new SipParseError("BadContentLength", "Bad Content-Length header: not a non-negative integer")
      if (acc.contentLength !== undefined && acc.contentLength !== n) {
        throw new SipParseError("BadContentLength", "Conflicting Content-Length headers")
      }
      acc.contentLength = n
      return true
    }
    case "content-type":
      if (acc.contentType !== undefined) throw duplicate("Content-Type")
      acc.contentType = trimWsp(value)
      return true
    case "date":
      // RFC 3261 §20.17: SIP-date is an RFC 1123 date, always in GMT.
      if (!SIP_DATE.test(value)) throw badHeaderValue("Date", "not an RFC 1123 date in GMT")
      return true
    default:
      return false
  }
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the purpose
const CONTROL_OR_SPACE = /[\x00-\x20\x7f]/

const SIP_DATE =
  /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$/

const missing = (name: string): SipParseError => new SipParseError("MissingHeader", `Missing ${name} header`)

/** Checks that the mandatory headers are there (RFC 3261 §8.1.1; Max-Forwards is optional, §16.6 step 3). */
export const completeHot = (acc: HotAccumulator): HotHeaders => {
  if (acc.vias.length === 0) throw missing("Via")
  if (acc.from === undefined) throw missing("From")
  if (acc.to === undefined) throw missing("To")
  if (acc.callId === undefined) throw missing("Call-ID")
  if (acc.cseq === undefined) throw missing("CSeq")
  return {
    vias: acc.vias,
    from: acc.from,
    to: acc.to,
    callId: acc.callId,
    cseq: acc.cseq,
    maxForwards: acc.maxForwards,
    contacts: acc.contacts,
    contactStar: acc.contactStar,
    contentLength: acc.contentLength,
    contentType: acc.contentType,
  }
}

/** Re-decodes one hot header from the current fields after a generic edit. */
export const refreshHotHeader = (hot: HotHeaders, fields: ReadonlyArray<HeaderField>, key: string): void => {
  const acc = emptyAccumulator()
  for (const f of fields) if (f.key === key) decodeHotField(acc, key, f.value)
  switch (key) {
    case "via":
      hot.vias = acc.vias
      return
    case "from":
      if (acc.from !== undefined) hot.from = acc.from
      return
    case "to":
      if (acc.to !== undefined) hot.to = acc.to
      return
    case "call-id":
      if (acc.callId !== undefined) hot.callId = acc.callId
      return
    case "cseq":
      if (acc.cseq !== undefined) hot.cseq = acc.cseq
      return
    case "max-forwards":
      hot.maxForwards = acc.maxForwards
      return
    case "contact":
      hot.contacts = acc.contacts
      hot.contactStar = acc.contactStar
      return
    case "content-length":
      hot.contentLength = acc.contentLength
      return
    case "content-type":
      hot.contentType = acc.contentType
      return
  }
}
