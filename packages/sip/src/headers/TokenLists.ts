/**
 * Headers whose elements are tokens: Allow (methods, RFC 3261 §20.5), Supported / Require /
 * Proxy-Require / Unsupported (option tags, §20.37, §20.32, §20.29, §20.40), Privacy (priv-values,
 * RFC 3323 §4.2, separated by ';'), Accept (media ranges with parameters, §20.1).
 */
import { formatParams, isToken, type Params, readParams, trimWsp } from "../grammar/Scanner.js"
import { badHeaderValue } from "../message/SipParseError.js"
import type { HeaderCodec } from "./HeaderCodec.js"

const tokenCodec = (name: string): HeaderCodec<string> => ({
  name,
  parse: (value) => {
    const token = trimWsp(value)
    if (!isToken(token)) throw badHeaderValue(name, `'${token}' is not a token`)
    return token
  },
  format: (token) => token,
})

export const Allow = tokenCodec("Allow")
export const Supported = tokenCodec("Supported")
export const Require = tokenCodec("Require")
export const ProxyRequire = tokenCodec("Proxy-Require")
export const Unsupported = tokenCodec("Unsupported")
export const AllowEvents = tokenCodec("Allow-Events")

/** RFC 3323 §4.2: Privacy = priv-value *(";" priv-value); one field, values separated by ';'. */
export const Privacy: HeaderCodec<ReadonlyArray<string>> = {
  name: "Privacy",
  parse: (value) => {
    const values = value.split(";").map(trimWsp)
    for (const v of values) if (!isToken(v)) throw badHeaderValue("Privacy", `'${v}' is not a priv-value`)
    return values
  },
  format: (values) => values.join(";"),
}

export interface MediaRange {
  readonly type: string
  readonly subtype: string
  readonly params: Params
}

/** One Accept element: type "/" subtype *(";" param) (RFC 3261 §20.1). */
export const Accept: HeaderCodec<MediaRange> = {
  name: "Accept",
  parse: (value) => {
    const semi = value.indexOf(";")
    const range = trimWsp(semi < 0 ? value : value.slice(0, semi))
    const slash = range.indexOf("/")
    const type = range.slice(0, slash)
    const subtype = range.slice(slash + 1)
    if (slash <= 0 || !isToken(type) || !isToken(subtype))
      throw badHeaderValue("Accept", `'${range}' is not a media range`)
    const params = semi < 0 ? [] : readParams(value, semi, "Accept header").params
    return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params }
  },
  format: (m) => `${m.type}/${m.subtype}${formatParams(m.params)}`,
}

/** Whether a list of media ranges accepts a content type, wildcards included (RFC 3261 §20.1). */
export const acceptsMediaType = (ranges: ReadonlyArray<MediaRange>, contentType: string): boolean => {
  const [type = "", subtype = ""] = contentType.split(";")[0]!.trim().toLowerCase().split("/")
  return ranges.some(
    (r) => (r.type === "*" || r.type === type) && (r.subtype === "*" || r.subtype === subtype),
  )
}
