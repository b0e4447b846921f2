/**
 * Warning (RFC 3261 §20.43), Reason (RFC 3326 §2) and the product headers User-Agent / Server
 * (RFC 3261 §20.41, §20.35).
 */
import {
  formatParams,
  getParam,
  isToken,
  type Params,
  quote,
  readParams,
  readQuotedString,
  skipWsp,
  trimWsp,
} from "../grammar/Scanner.js"
import { badHeaderValue } from "../message/SipParseError.js"
import type { HeaderCodec } from "./HeaderCodec.js"

export interface WarningValue {
  /** warn-code: 3 digits (300-399 in RFC 3261's registry). */
  readonly code: number
  /** warn-agent: hostport or pseudonym. */
  readonly agent: string
  readonly text: string
}

export const Warning: HeaderCodec<WarningValue> = {
  name: "Warning",
  parse: (value) => {
    const v = trimWsp(value)
    const m = /^(\d{3})[ \t]+(\S+)[ \t]+/.exec(v)
    if (m === null) throw badHeaderValue("Warning", "expected warn-code, warn-agent and warn-text")
    const rest = v.slice(m[0].length)
    if (rest.charCodeAt(0) !== 34) throw badHeaderValue("Warning", "warn-text must be a quoted string")
    const q = readQuotedString(rest, 0, "Warning header")
    if (skipWsp(rest, q.end) !== rest.length)
      throw badHeaderValue("Warning", "unexpected text after warn-text")
    return { code: Number(m[1]), agent: m[2]!, text: q.value }
  },
  format: (w) => `${w.code} ${w.agent} ${quote(w.text)}`,
}

export interface ReasonValue {
  /** "SIP" or "Q.850" (or an extension). */
  readonly protocol: string
  readonly cause: number | undefined
  readonly text: string | undefined
  readonly params: Params
}

export const Reason: HeaderCodec<ReasonValue> = {
  name: "Reason",
  parse: (value) => {
    const semi = value.indexOf(";")
    const protocol = trimWsp(semi < 0 ? value : value.slice(0, semi))
    if (!isToken(protocol)) throw badHeaderValue("Reason", "protocol is not a token")
    const params = semi < 0 ? [] : readParams(value, semi, "Reason header").params
    const causeText = getParam(params, "cause")
    if (causeText != null && !/^\d{1,5}$/.test(causeText))
      throw badHeaderValue("Reason", "cause is not a number")
    const rawText = getParam(params, "text")
    const text =
      rawText == null
        ? undefined
        : rawText.startsWith('"')
          ? readQuotedString(rawText, 0, "Reason header").value
          : rawText
    return { protocol, cause: causeText == null ? undefined : Number(causeText), text, params }
  },
  format: (r) => {
    const rest = r.params.filter(([n]) => n !== "cause" && n !== "text")
    const cause = r.cause === undefined ? "" : `;cause=${r.cause}`
    const text = r.text === undefined ? "" : `;text=${quote(r.text)}`
    return `${r.protocol}${cause}${text}${formatParams(rest)}`
  },
}

/** Product headers stay text: server ( product / comment ) tokens are informational only. */
const productCodec = (name: string): HeaderCodec<string> => ({ name, parse: trimWsp, format: (s) => s })
export const UserAgent = productCodec("User-Agent")
export const Server = productCodec("Server")
