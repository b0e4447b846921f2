/**
 * name-addr / addr-spec values (RFC 3261 §20.10, §25.1) as used by From, To, Contact, Route,
 * Record-Route, Reply-To, P-Asserted-Identity and friends:
 *   [ display-name ] LAQUOT addr-spec RAQUOT *( SEMI param )   or   addr-spec *( SEMI param )
 * In the addr-spec form every ';' parameter belongs to the header, not to the URI (§20.10), and the URI
 * may not contain ',', ';' or '?'. The URI stays a string here; `parseUri` decodes it when asked.
 */
import {
  formatParams,
  getParam,
  isTokenChar,
  isWsp,
  type Params,
  quote,
  readParams,
  readQuotedString,
  skipWsp,
} from "../grammar/Scanner.js"
import { badHeaderValue } from "./SipParseError.js"

export interface NameAddr {
  /** The display name without its quotes and escapes, when one is written. */
  readonly displayName: string | undefined
  /** Whether the display name was (or is to be) written as a quoted-string. */
  readonly quoted: boolean
  readonly uri: string
  /** Whether the URI is written inside < >. */
  readonly bracketed: boolean
  readonly params: Params
}

/** Characters that cannot appear in a URI on the wire (RFC 3261 §25.1): controls, space, DEL, < > ". */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the purpose
export const URI_FORBIDDEN = /[\x00-\x20\x7f<>"]/

const checkUriText = (uri: string, header: string): void => {
  const colon = uri.indexOf(":")
  if (colon <= 0) throw badHeaderValue(header, "URI has no scheme")
  if (URI_FORBIDDEN.test(uri)) throw badHeaderValue(header, "URI contains whitespace or a delimiter")
}

export const parseNameAddr = (s: string, header: string): NameAddr => {
  let i = skipWsp(s, 0)
  let displayName: string | undefined
  let quoted = false
  const c0 = s.charCodeAt(i)
  if (c0 === 34) {
    const q = readQuotedString(s, i, `${header} header`)
    displayName = q.value
    quoted = true
    i = skipWsp(s, q.end)
    if (s.charCodeAt(i) !== 60) throw badHeaderValue(header, "display name not followed by <URI>")
  } else if (c0 !== 60) {
    // Either an unquoted display name (tokens separated by LWS) followed by <, or an addr-spec.
    const lt = s.indexOf("<", i)
    if (lt >= 0) {
      const name = s.slice(i, lt).trimEnd()
      for (let k = 0; k < name.length; k++) {
        const c = name.charCodeAt(k)
        if (!isTokenChar(c) && !isWsp(c))
          throw badHeaderValue(header, "display name must be a token or quoted")
      }
      displayName = name.length > 0 ? name : undefined
      i = lt
    } else {
      let end = i
      while (end < s.length) {
        const c = s.charCodeAt(end)
        if (c === 59 || c === 32 || c === 9) break
        if (c === 63 || c === 44) throw badHeaderValue(header, "URI with '?' or ',' must be enclosed in <>")
        end++
      }
      const uri = s.slice(i, end)
      checkUriText(uri, header)
      const { params, end: pend } = readParams(s, end, `${header} header`)
      if (pend !== s.length) throw badHeaderValue(header, "unexpected text after parameters")
      return { displayName: undefined, quoted: false, uri, bracketed: false, params }
    }
  }
  // At '<'.
  const gt = s.indexOf(">", i + 1)
  if (gt < 0) throw badHeaderValue(header, "missing '>'")
  const uri = s.slice(i + 1, gt)
  checkUriText(uri, header)
  const { params, end } = readParams(s, gt + 1, `${header} header`)
  if (end !== s.length) throw badHeaderValue(header, "unexpected text after parameters")
  return { displayName, quoted, uri, bracketed: true, params }
}

export const formatNameAddr = (na: NameAddr): string => {
  let out = ""
  if (na.displayName !== undefined) out += `${na.quoted ? quote(na.displayName) : na.displayName} `
  out += na.bracketed || na.displayName !== undefined ? `<${na.uri}>` : na.uri
  return out + formatParams(na.params)
}

export const nameAddrTag = (na: NameAddr): string | undefined => getParam(na.params, "tag") ?? undefined
