/**
 * Addresses-of-record (RFC 3261 §10.2: the To of a REGISTER names the AOR whose bindings change). The
 * canonical form is `sip:user@domain`: scheme sip (a SIPS AOR is the same AOR, §10.2.1 / §19.1.4),
 * the user part unescaped and as written, the domain lower-cased, no port, parameters or headers.
 * Pure.
 */
import { parseNameAddr, parseUri, unescapeUri } from "@b2bua/sip"

export interface Aor {
  readonly user: string
  readonly domain: string
  /** `sip:user@domain`. */
  readonly text: string
}

/** The AOR of a SIP or SIPS URI with a user part; undefined for anything else. */
export const aorOfUri = (uri: string): Aor | undefined => {
  try {
    const parsed = parseUri(uri)
    if (parsed._tag !== "SipUri" || parsed.user === undefined) return undefined
    const user = unescapeUri(parsed.user)
    const domain = parsed.host.toLowerCase()
    return { user, domain, text: `sip:${user}@${domain}` }
  } catch {
    return undefined
  }
}

/** The AOR of a From/To header value (name-addr or addr-spec). */
export const aorOfHeader = (value: string): Aor | undefined => {
  try {
    return aorOfUri(parseNameAddr(value, "From").uri)
  } catch {
    return undefined
  }
}

/** The domain of a SIP URI (host lower-cased), with or without a user part. */
export const domainOfUri = (uri: string): string | undefined => {
  try {
    const parsed = parseUri(uri)
    return parsed._tag === "SipUri" ? parsed.host.toLowerCase() : undefined
  } catch {
    return undefined
  }
}
