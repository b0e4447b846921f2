/**
 * SIP, SIPS and TEL URIs (RFC 3261 §19.1, RFC 3966) and other absolute URIs kept as they are.
 * Pure: strings in, values out. Escapes (%HH) are kept as written in `user` and parameter values; use
 * `unescapeUri` when the decoded form is wanted (RFC 3261 §19.1.4 compares unescaped forms).
 */
import {
  formatHostPort,
  formatParams,
  type HostPort,
  isTokenChar,
  type Param,
  type Params,
  readHostPort,
  readParams,
} from "../grammar/Scanner.js"
import { SipParseError } from "../message/SipParseError.js"

export interface SipUri {
  readonly _tag: "SipUri"
  readonly scheme: "sip" | "sips"
  readonly user: string | undefined
  readonly password: string | undefined
  readonly host: string
  readonly port: number | undefined
  readonly params: Params
  /** The `?`-headers part without the `?`, as written. */
  readonly headers: string | undefined
}

export interface TelUri {
  readonly _tag: "TelUri"
  readonly scheme: "tel"
  /** The telephone-subscriber number, as written (global numbers start with '+'). */
  readonly number: string
  readonly params: Params
}

/** Any other absolute URI (RFC 3261 §25.1 absoluteURI), kept verbatim. */
export interface OtherUri {
  readonly _tag: "OtherUri"
  readonly scheme: string
  readonly rest: string
}

export type Uri = SipUri | TelUri | OtherUri

const badUri = (defect: string): SipParseError => new SipParseError("BadUri", `Bad URI: ${defect}`)

const isSchemeChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 43 || c === 45 || c === 46

const isUserChar = (c: number): boolean =>
  // unreserved / escaped / user-unreserved (RFC 3261 §25.1) — plus ':' handled by the caller.
  isTokenChar(c) ||
  c === 38 ||
  c === 61 ||
  c === 36 ||
  c === 44 ||
  c === 59 ||
  c === 63 ||
  c === 47 ||
  c === 40 ||
  c === 41

/** Parses an absolute URI. SIP/SIPS/TEL are parsed fully; other schemes are kept verbatim. */
export const parseUri = (s: string): Uri => {
  const colon = s.indexOf(":")
  if (colon <= 0) throw badUri("missing scheme")
  for (let i = 0; i < colon; i++) {
    if (!isSchemeChar(s.charCodeAt(i))) throw badUri("invalid scheme")
  }
  const scheme = s.slice(0, colon).toLowerCase()
  if (scheme === "sip" || scheme === "sips") return parseSipUri(s, scheme, colon + 1)
  if (scheme === "tel") return parseTelUri(s, colon + 1)
  const rest = s.slice(colon + 1)
  if (rest.length === 0) throw badUri("empty after scheme")
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i)
    if (c <= 32 || c === 127 || c === 60 || c === 62 || c === 34) throw badUri("invalid character")
  }
  return { _tag: "OtherUri", scheme, rest }
}

const parseSipUri = (s: string, scheme: "sip" | "sips", start: number): SipUri => {
  let i = start
  let user: string | undefined
  let password: string | undefined
  // '@' may not appear unescaped in parameters or headers, while the user part may hold '?' and ';'.
  const at = s.lastIndexOf("@")
  if (at >= i) {
    const userinfo = s.slice(i, at)
    const pw = userinfo.indexOf(":")
    user = pw >= 0 ? userinfo.slice(0, pw) : userinfo
    password = pw >= 0 ? userinfo.slice(pw + 1) : undefined
    if (user.length === 0) throw badUri("empty user part")
    for (let k = 0; k < user.length; k++) {
      const c = user.charCodeAt(k)
      if (!isUserChar(c)) throw badUri("invalid character in user part")
    }
    checkEscapes(user)
    if (password !== undefined) checkEscapes(password)
    i = at + 1
  }
  const { hostPort, end } = readHostPort(s, i, "URI")
  i = end
  let params: Param[] = []
  if (i < s.length && s.charCodeAt(i) === 59) {
    const p = readParams(s, i, "URI", 63)
    params = p.params
    i = p.end
  }
  let headers: string | undefined
  if (i < s.length) {
    if (s.charCodeAt(i) !== 63) throw badUri(`unexpected character '${s[i]}' after host`)
    headers = s.slice(i + 1)
    i = s.length
  }
  for (const [, value] of params) if (value !== null) checkEscapes(value)
  return { _tag: "SipUri", scheme, user, password, host: hostPort.host, port: hostPort.port, params, headers }
}

const parseTelUri = (s: string, start: number): TelUri => {
  const semi = s.indexOf(";", start)
  const number = semi < 0 ? s.slice(start) : s.slice(start, semi)
  if (number.length === 0) throw badUri("empty telephone number")
  for (let i = 0; i < number.length; i++) {
    const c = number.charCodeAt(i)
    const ok =
      (c >= 48 && c <= 57) ||
      (c >= 65 && c <= 70) ||
      (c >= 97 && c <= 102) ||
      c === 43 ||
      c === 42 ||
      c === 35
    const visual = c === 45 || c === 46 || c === 40 || c === 41
    if (!ok && !visual) throw badUri("invalid character in telephone number")
  }
  const params = semi < 0 ? [] : readParams(s, semi, "URI").params
  return { _tag: "TelUri", scheme: "tel", number, params }
}

const checkEscapes = (s: string): void => {
  let p = s.indexOf("%")
  while (p >= 0) {
    if (p + 2 >= s.length) throw badUri("truncated %-escape")
    const a = s.charCodeAt(p + 1)
    const b = s.charCodeAt(p + 2)
    if (!isHex(a) || !isHex(b)) throw badUri("invalid %-escape")
    p = s.indexOf("%", p + 3)
  }
}

const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102)

/** Decodes %HH escapes once (RFC 3261 §19.1.2); never recursively. */
export const unescapeUri = (s: string): string =>
  s.indexOf("%") < 0
    ? s
    : s.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)))

export const formatUri = (uri: Uri): string => {
  switch (uri._tag) {
    case "SipUri": {
      let out = `${uri.scheme}:`
      if (uri.user !== undefined) {
        out += uri.user
        if (uri.password !== undefined) out += `:${uri.password}`
        out += "@"
      }
      out += formatHostPort({ host: uri.host, port: uri.port })
      out += formatParams(uri.params)
      if (uri.headers !== undefined) out += `?${uri.headers}`
      return out
    }
    case "TelUri":
      return `tel:${uri.number}${formatParams(uri.params)}`
    case "OtherUri":
      return `${uri.scheme}:${uri.rest}`
  }
}

export const sipUriHostPort = (uri: SipUri): HostPort => ({ host: uri.host, port: uri.port })
