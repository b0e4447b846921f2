/**
 * Header names: compact forms (RFC 3261 §7.3.3 and the extensions that define them) and the canonical
 * spelling used when the suite writes a header it did not receive. Lookup keys are lower-case long names.
 */

const COMPACT: Readonly<Record<string, string>> = {
  i: "call-id",
  m: "contact",
  e: "content-encoding",
  l: "content-length",
  c: "content-type",
  f: "from",
  s: "subject",
  k: "supported",
  t: "to",
  v: "via",
  o: "event", // RFC 6665 §8.2.1
  u: "allow-events", // RFC 6665 §8.2.2
  r: "refer-to", // RFC 3515 §2.1
  b: "referred-by", // RFC 3892 §3
  x: "session-expires", // RFC 4028 §4
  a: "accept-contact", // RFC 3841 §9.2
  j: "reject-contact",
  d: "request-disposition",
  y: "identity", // RFC 8224 §4
}

const CANONICAL: Readonly<Record<string, string>> = {
  "call-id": "Call-ID",
  cseq: "CSeq",
  "www-authenticate": "WWW-Authenticate",
  "mime-version": "MIME-Version",
  rack: "RAck",
  rseq: "RSeq",
  "min-se": "Min-SE",
  "p-asserted-identity": "P-Asserted-Identity",
  "p-preferred-identity": "P-Preferred-Identity",
  "sip-etag": "SIP-ETag",
  "sip-if-match": "SIP-If-Match",
}

/** Cache of the header names seen on the wire → lookup key; bounded so hostile names cannot grow it. */
const seen = new Map<string, string>()
const SEEN_LIMIT = 512

/**
 * The spellings nearly every message uses, matched without hashing: the parser meets them for almost
 * every field, so this switch is on its hot path. Anything else goes through the cache.
 */
export const commonKey = (name: string): string | undefined => {
  switch (name.length) {
    case 1:
      return COMPACT[name] ?? COMPACT[name.toLowerCase()]
    case 2:
      return name === "To" ? "to" : undefined
    case 3:
      return name === "Via" ? "via" : undefined
    case 4:
      return name === "From" ? "from" : name === "CSeq" ? "cseq" : undefined
    case 5:
      return name === "Allow" ? "allow" : name === "Event" ? "event" : name === "Route" ? "route" : undefined
    case 6:
      return name === "Accept" ? "accept" : name === "Server" ? "server" : undefined
    case 7:
      return name === "Call-ID"
        ? "call-id"
        : name === "Contact"
          ? "contact"
          : name === "Expires"
            ? "expires"
            : name === "Privacy"
              ? "privacy"
              : name === "Require"
                ? "require"
                : undefined
    case 9:
      return name === "Supported" ? "supported" : undefined
    case 10:
      return name === "User-Agent" ? "user-agent" : undefined
    case 12:
      return name === "Max-Forwards"
        ? "max-forwards"
        : name === "Content-Type"
          ? "content-type"
          : name === "Record-Route"
            ? "record-route"
            : undefined
    case 14:
      return name === "Content-Length" ? "content-length" : undefined
    case 13:
      return name === "Authorization" ? "authorization" : undefined
    case 15:
      return name === "Session-Expires" ? "session-expires" : undefined
    case 16:
      return name === "WWW-Authenticate" ? "www-authenticate" : undefined
    case 18:
      return name === "Proxy-Authenticate"
        ? "proxy-authenticate"
        : name === "Subscription-State"
          ? "subscription-state"
          : undefined
    case 19:
      return name === "P-Asserted-Identity"
        ? "p-asserted-identity"
        : name === "Proxy-Authorization"
          ? "proxy-authorization"
          : undefined
    case 20:
      return name === "P-Preferred-Identity" ? "p-preferred-identity" : undefined
    default:
      return undefined
  }
}

/** The lookup key of a header name as written: lower-case, compact forms expanded. */
export const headerKey = (name: string): string => {
  const common = commonKey(name)
  if (common !== undefined) return common
  const cached = seen.get(name)
  if (cached !== undefined) return cached
  const lower = name.toLowerCase()
  const key = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower
  if (seen.size < SEEN_LIMIT) seen.set(name, key)
  return key
}

/** The spelling the suite uses when it writes a header: `call-id` → `Call-ID`, `max-forwards` → `Max-Forwards`. */
export const canonicalHeaderName = (name: string): string => {
  const key = headerKey(name)
  const special = CANONICAL[key]
  if (special !== undefined) return special
  return key.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())
}
