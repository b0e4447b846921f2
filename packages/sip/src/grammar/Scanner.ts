/**
 * Low-level SIP grammar (RFC 3261 §25.1): character classes, tokens, quoted strings, generic parameters,
 * host and port, comma-separated lists. Pure string functions over header values that the message parser
 * has already unfolded. Every failure is a SipParseError naming what was wrong.
 *
 * Strings here are latin1 views of the wire bytes: one char per octet, so offsets match the bytes and
 * UTF-8 octets pass through untouched.
 */
import { SipParseError } from "../message/SipParseError.js"

const TOKEN_CHARS = new Uint8Array(256)
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1
}

/** RFC 3261 §25.1 token character. */
export const isTokenChar = (code: number): boolean => code < 256 && TOKEN_CHARS[code] === 1

/** RFC 3261 §25.1 token: one or more token characters. */
export const isToken = (s: string): boolean => {
  if (s.length === 0) return false
  for (let i = 0; i < s.length; i++) if (!isTokenChar(s.charCodeAt(i))) return false
  return true
}

/** SP or HTAB: the only whitespace left once folding has been undone (§7.3.1). */
export const isWsp = (code: number): boolean => code === 32 || code === 9

export const skipWsp = (s: string, i: number): number => {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++
  return i
}

export const trimWsp = (s: string): string => {
  let a = 0
  let b = s.length
  while (a < b && isWsp(s.charCodeAt(a))) a++
  while (b > a && isWsp(s.charCodeAt(b - 1))) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/**
 * Reads a quoted-string starting at `i` (which must be a DQUOTE); returns the unescaped content and the
 * index after the closing quote. RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F).
 */
export const readQuotedString = (s: string, i: number, what: string): { value: string; end: number } => {
  let out = ""
  let start = i + 1
  let j = start
  while (j < s.length) {
    const c = s.charCodeAt(j)
    if (c === 34) return { value: out + s.slice(start, j), end: j + 1 }
    if (c === 92) {
      if (j + 1 >= s.length) break
      const escaped = s.charCodeAt(j + 1)
      if (escaped === 10 || escaped === 13) {
        throw new SipParseError("BadHeaderValue", `Bad ${what}: invalid escape in quoted string`)
      }
      out += s.slice(start, j) + s[j + 1]
      j += 2
      start = j
      continue
    }
    j++
  }
  throw new SipParseError("BadHeaderValue", `Bad ${what}: unterminated quoted string`)
}

/** Quotes a string for use as a quoted-string, escaping `"` and `\`. */
export const quote = (s: string): string => `"${s.replace(/["\\]/g, (m) => `\\${m}`)}"`

/** One generic-param (RFC 3261 §25.1): name and value (null when the parameter has no `=`). */
export type Param = readonly [name: string, value: string | null]
export type Params = ReadonlyArray<Param>

/**
 * Parses `;name[=value]` parameters starting at `i` (at a ';' or at the end). Values may be tokens,
 * hosts (IPv6 references included) or quoted strings; quoted values keep their quotes so that they
 * serialize back unchanged. Stops at `stop` (a char code, e.g. ',' or '?') or the end.
 */
export const readParams = (
  s: string,
  i: number,
  what: string,
  stop = -1,
): { params: Param[]; end: number } => {
  const params: Param[] = []
  i = skipWsp(s, i)
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (c === stop) break
    if (c !== 59) throw new SipParseError("BadHeaderValue", `Bad ${what}: expected ';' before parameter`)
    i = skipWsp(s, i + 1)
    const nameStart = i
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++
    if (i === nameStart) throw new SipParseError("BadHeaderValue", `Bad ${what}: empty parameter name`)
    const name = s.slice(nameStart, i)
    i = skipWsp(s, i)
    if (i < s.length && s.charCodeAt(i) === 61) {
      i = skipWsp(s, i + 1)
      if (i < s.length && s.charCodeAt(i) === 34) {
        const q = readQuotedString(s, i, what)
        params.push([name, s.slice(i, q.end)])
        i = q.end
      } else {
        const valueStart = i
        if (i < s.length && s.charCodeAt(i) === 91) {
          const close = s.indexOf("]", i)
          if (close < 0) throw new SipParseError("BadHeaderValue", `Bad ${what}: unterminated IPv6 reference`)
          i = close + 1
        } else {
          while (i < s.length && isTokenChar(s.charCodeAt(i))) i++
        }
        if (i === valueStart) {
          throw new SipParseError("BadHeaderValue", `Bad ${what}: empty value for parameter ${name}`)
        }
        params.push([name, s.slice(valueStart, i)])
      }
      i = skipWsp(s, i)
    } else {
      params.push([name, null])
    }
  }
  return { params, end: i }
}

/** Case-insensitive parameter lookup (parameter names are case-insensitive, RFC 3261 §7.3.1). */
export const getParam = (params: Params, name: string): string | null | undefined => {
  for (const p of params) {
    if (p[0] === name || p[0].toLowerCase() === name) return p[1]
  }
  return undefined
}

export const hasParam = (params: Params, name: string): boolean => getParam(params, name) !== undefined

/** Returns params with `name` set to `value` (replacing an existing one in place, else appended). */
export const setParam = (params: Params, name: string, value: string | null): Param[] => {
  const out: Param[] = []
  let replaced = false
  for (const p of params) {
    if (!replaced && p[0].toLowerCase() === name) {
      out.push([p[0], value])
      replaced = true
    } else out.push(p)
  }
  if (!replaced) out.push([name, value])
  return out
}

export const removeParam = (params: Params, name: string): Param[] =>
  params.filter((p) => p[0].toLowerCase() !== name)

export const formatParams = (params: Params): string => {
  let out = ""
  for (const [name, value] of params) out += value === null ? `;${name}` : `;${name}=${value}`
  return out
}

/**
 * Splits a header value on the commas that separate list elements (RFC 3261 §7.3.1), ignoring commas
 * inside quoted strings and inside <...> URIs. Elements are trimmed; empty elements are an error.
 */
export const splitCommaList = (s: string, what: string): string[] => {
  let start = 0
  let inQuote = false
  let inAngle = false
  let parts: string[] | undefined
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (inQuote) {
      if (c === 92) i++
      else if (c === 34) inQuote = false
    } else if (c === 34) inQuote = true
    else if (c === 60) inAngle = true
    else if (c === 62) inAngle = false
    else if (c === 44 && !inAngle) {
      parts ??= []
      parts.push(trimWsp(s.slice(start, i)))
      start = i + 1
    }
  }
  if (parts === undefined) {
    const single = trimWsp(s)
    if (single.length === 0) throw new SipParseError("BadHeaderValue", `Bad ${what} header: empty value`)
    return [single]
  }
  parts.push(trimWsp(s.slice(start)))
  for (const p of parts) {
    if (p.length === 0) throw new SipParseError("BadHeaderValue", `Bad ${what} header: empty list element`)
  }
  return parts
}

/** A host (hostname, IPv4 or bracketed IPv6 reference) and optional port, RFC 3261 §25.1 hostport. */
export interface HostPort {
  readonly host: string
  readonly port: number | undefined
}

const isHostChar = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 45 || c === 46 || c === 95

/** Reads hostport at `i`; stops at the first char that cannot belong to it. */
export const readHostPort = (s: string, i: number, what: string): { hostPort: HostPort; end: number } => {
  const start = i
  if (s.charCodeAt(i) === 91) {
    const close = s.indexOf("]", i)
    if (close < 0) throw new SipParseError("BadHeaderValue", `Bad ${what}: unterminated IPv6 reference`)
    for (let k = i + 1; k < close; k++) {
      const c = s.charCodeAt(k)
      const ok = (c >= 48 && c <= 58) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70) || c === 46
      if (!ok) throw new SipParseError("BadHeaderValue", `Bad ${what}: invalid IPv6 reference`)
    }
    i = close + 1
  } else {
    while (i < s.length && isHostChar(s.charCodeAt(i))) i++
  }
  if (i === start) throw new SipParseError("BadHeaderValue", `Bad ${what}: missing host`)
  const host = s.slice(start, i)
  let port: number | undefined
  if (i < s.length && s.charCodeAt(i) === 58) {
    i++
    const portStart = i
    let value = 0
    while (i < s.length) {
      const c = s.charCodeAt(i)
      if (c < 48 || c > 57) break
      value = value * 10 + (c - 48)
      i++
    }
    if (i === portStart || i - portStart > 5 || value > 65535) {
      throw new SipParseError("BadHeaderValue", `Bad ${what}: invalid port`)
    }
    port = value
  }
  return { hostPort: { host, port }, end: i }
}

export const formatHostPort = (hp: HostPort): string =>
  hp.port === undefined ? hp.host : `${hp.host}:${hp.port}`

/** Parses an unsigned decimal integer of at most `maxDigits` digits; -1 when the text is not one. */
export const parseUnsigned = (s: string, maxDigits = 10): number => {
  if (s.length === 0 || s.length > maxDigits) return -1
  let value = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 48 || c > 57) return -1
    value = value * 10 + (c - 48)
  }
  return value
}
