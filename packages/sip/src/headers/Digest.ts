/**
 * Digest authentication headers (RFC 3261 §20.27, §20.28, §20.44, §20.7, §20.1; RFC 2617 §3.2; RFC 7616
 * §3.3–3.5): challenges in WWW-Authenticate / Proxy-Authenticate, credentials in Authorization /
 * Proxy-Authorization, and Authentication-Info. auth-params are comma-separated name=value pairs whose
 * values are tokens or quoted strings.
 */
import { isToken, isTokenChar, quote, readQuotedString, skipWsp, trimWsp } from "../grammar/Scanner.js"
import { badHeaderValue } from "../message/SipParseError.js"
import type { HeaderCodec } from "./HeaderCodec.js"

/** name → value (unquoted); names lower-cased. */
export type AuthParams = ReadonlyMap<string, string>

const parseAuthParams = (s: string, i: number, header: string): Map<string, string> => {
  const params = new Map<string, string>()
  i = skipWsp(s, i)
  while (i < s.length) {
    const start = i
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++
    const name = s.slice(start, i).toLowerCase()
    if (name.length === 0) throw badHeaderValue(header, "expected a parameter name")
    i = skipWsp(s, i)
    if (s.charCodeAt(i) !== 61) throw badHeaderValue(header, `parameter ${name} has no value`)
    i = skipWsp(s, i + 1)
    let value: string
    if (s.charCodeAt(i) === 34) {
      const q = readQuotedString(s, i, `${header} header`)
      value = q.value
      i = q.end
    } else {
      const vs = i
      while (i < s.length && s.charCodeAt(i) !== 44 && s.charCodeAt(i) !== 32 && s.charCodeAt(i) !== 9) i++
      value = s.slice(vs, i)
      if (value.length === 0) throw badHeaderValue(header, `parameter ${name} has an empty value`)
    }
    if (params.has(name)) throw badHeaderValue(header, `parameter ${name} appears twice`)
    params.set(name, value)
    i = skipWsp(s, i)
    if (i < s.length) {
      if (s.charCodeAt(i) !== 44) throw badHeaderValue(header, "expected ',' between parameters")
      i = skipWsp(s, i + 1)
    }
  }
  return params
}

const parseScheme = (value: string, header: string): { scheme: string; params: Map<string, string> } => {
  const v = trimWsp(value)
  let i = 0
  while (i < v.length && isTokenChar(v.charCodeAt(i))) i++
  const scheme = v.slice(0, i)
  if (!isToken(scheme)) throw badHeaderValue(header, "missing authentication scheme")
  return { scheme, params: parseAuthParams(v, i, header) }
}

export interface DigestChallenge {
  readonly scheme: string
  readonly realm: string
  readonly nonce: string
  readonly opaque: string | undefined
  readonly stale: boolean
  /** MD5, MD5-sess, SHA-256, SHA-256-sess, ... (RFC 7616 §3.3); MD5 when absent. */
  readonly algorithm: string
  /** qop options offered ("auth", "auth-int"). */
  readonly qop: ReadonlyArray<string>
  readonly domain: string | undefined
  readonly params: AuthParams
}

const challengeCodec = (name: string): HeaderCodec<DigestChallenge> => ({
  name,
  parse: (value) => {
    const { scheme, params } = parseScheme(value, name)
    const realm = params.get("realm")
    const nonce = params.get("nonce")
    if (scheme.toLowerCase() === "digest" && (realm === undefined || nonce === undefined)) {
      throw badHeaderValue(name, "Digest challenge without realm or nonce")
    }
    const qop = params.get("qop")
    return {
      scheme,
      realm: realm ?? "",
      nonce: nonce ?? "",
      opaque: params.get("opaque"),
      stale: params.get("stale")?.toLowerCase() === "true",
      algorithm: params.get("algorithm") ?? "MD5",
      qop:
        qop === undefined
          ? []
          : qop
              .split(",")
              .map(trimWsp)
              .filter((q) => q.length > 0),
      domain: params.get("domain"),
      params,
    }
  },
  format: (c) => {
    const parts = [`realm=${quote(c.realm)}`, `nonce=${quote(c.nonce)}`]
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`)
    if (c.stale) parts.push("stale=true")
    parts.push(`algorithm=${c.algorithm}`)
    if (c.qop.length > 0) parts.push(`qop=${quote(c.qop.join(","))}`)
    if (c.domain !== undefined) parts.push(`domain=${quote(c.domain)}`)
    return `${c.scheme} ${parts.join(", ")}`
  },
})

export const WWWAuthenticate = challengeCodec("WWW-Authenticate")
export const ProxyAuthenticate = challengeCodec("Proxy-Authenticate")

export interface DigestCredentials {
  readonly scheme: string
  readonly username: string
  readonly realm: string
  readonly nonce: string
  readonly uri: string
  readonly response: string
  readonly algorithm: string
  readonly cnonce: string | undefined
  readonly opaque: string | undefined
  readonly qop: string | undefined
  /** nonce-count as written (8 hex digits). */
  readonly nc: string | undefined
  readonly params: AuthParams
}

const credentialsCodec = (name: string): HeaderCodec<DigestCredentials> => ({
  name,
  parse: (value) => {
    const { scheme, params } = parseScheme(value, name)
    const need = (key: string): string => {
      const v = params.get(key)
      if (v === undefined) throw badHeaderValue(name, `missing ${key}`)
      return v
    }
    const qop = params.get("qop")
    const nc = params.get("nc")
    const cnonce = params.get("cnonce")
    // RFC 2617 §3.2.2: cnonce and nc MUST be present when qop is.
    if (qop !== undefined && (nc === undefined || cnonce === undefined))
      throw badHeaderValue(name, "qop without nc or cnonce")
    if (nc !== undefined && !/^[0-9a-fA-F]{8}$/.test(nc)) throw badHeaderValue(name, "nc is not 8 hex digits")
    return {
      scheme,
      username: need("username"),
      realm: need("realm"),
      nonce: need("nonce"),
      uri: need("uri"),
      response: need("response"),
      algorithm: params.get("algorithm") ?? "MD5",
      cnonce,
      opaque: params.get("opaque"),
      qop,
      nc,
      params,
    }
  },
  format: (c) => {
    const parts = [
      `username=${quote(c.username)}`,
      `realm=${quote(c.realm)}`,
      `nonce=${quote(c.nonce)}`,
      `uri=${quote(c.uri)}`,
      `response=${quote(c.response)}`,
      `algorithm=${c.algorithm}`,
    ]
    if (c.cnonce !== undefined) parts.push(`cnonce=${quote(c.cnonce)}`)
    if (c.opaque !== undefined) parts.push(`opaque=${quote(c.opaque)}`)
    if (c.qop !== undefined) parts.push(`qop=${c.qop}`)
    if (c.nc !== undefined) parts.push(`nc=${c.nc}`)
    return `${c.scheme} ${parts.join(", ")}`
  },
})

export const Authorization = credentialsCodec("Authorization")
export const ProxyAuthorization = credentialsCodec("Proxy-Authorization")

/** RFC 3261 §20.6 / RFC 2617 §3.2.3: Authentication-Info = ainfo *(COMMA ainfo). */
export const AuthenticationInfo: HeaderCodec<AuthParams> = {
  name: "Authentication-Info",
  parse: (value) => parseAuthParams(value, 0, "Authentication-Info"),
  format: (params) =>
    [...params].map(([k, v]) => (k === "nc" || k === "qop" ? `${k}=${v}` : `${k}=${quote(v)}`)).join(", "),
}
