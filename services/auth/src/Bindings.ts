/**
 * The registrar's bindings (RFC 3261 §10.3): what a REGISTER does to the contacts of one
 * address-of-record. Pure: the current bindings and a decoded REGISTER in, the new bindings (or why the
 * request fails) out. No KV, no clock: the time is a value in the input.
 */
import { parseUri, type SipUri, unescapeUri } from "@b2bua/sip"

export type BindingTransport = "udp" | "tcp" | "tls"

/** Where the REGISTER really came from (RFC 3581 received/rport): calls follow it through NATs. */
export interface BindingSource {
  readonly host: string
  readonly port: number
  readonly transport: BindingTransport
  readonly edge?: string | undefined
  readonly listener?: string | undefined
  readonly connection?: string | undefined
}

export interface Binding {
  /** The Contact URI as registered. */
  readonly uri: string
  /** Contact parameters other than expires and q, as written (e.g. `;+sip.instance="<urn:...>"`). */
  readonly params: string
  /** RFC 3261 §20.10 q-value, 0..1. */
  readonly q: number
  /** ms since the epoch; the binding is gone from then on (§10.2.1.1). */
  readonly expiresAt: number
  /** §10.3 step 7: the Call-ID and CSeq of the REGISTER that last wrote the binding. */
  readonly callId: string
  readonly cseq: number
  readonly source: BindingSource
}

export interface ContactInput {
  readonly uri: string
  readonly params: string
  readonly q: number
  /** The `expires` parameter in seconds, when the Contact carries one (§10.2.1.1). */
  readonly expires: number | undefined
}

export interface RegisterInput {
  readonly callId: string
  readonly cseq: number
  /** `Contact: *` (§10.2.2). */
  readonly star: boolean
  readonly contacts: ReadonlyArray<ContactInput>
  /** The Expires header in seconds, when present. */
  readonly expiresHeader: number | undefined
  readonly source: BindingSource
  readonly now: number
}

export interface RegistrarPolicy {
  /** Below this (and above 0) a REGISTER gets 423 with Min-Expires (§10.3 step 7). Seconds. */
  readonly minExpires: number
  /** Longer requests are shortened to this (§10.3 step 7: the registrar MAY shorten). Seconds. */
  readonly maxExpires: number
  /** When neither the contact nor the request says (§10.2.1.1: a locally configured default). Seconds. */
  readonly defaultExpires: number
  /** Most contacts per address-of-record; beyond it the REGISTER is refused (bounded state). */
  readonly maxContacts: number
}

export type RegisterOutcome =
  /** The new set of live bindings (unchanged for a query); the 200 lists them (§10.3 step 8). */
  | { readonly _tag: "Updated"; readonly bindings: ReadonlyArray<Binding>; readonly changed: boolean }
  | { readonly _tag: "IntervalTooBrief"; readonly minExpires: number }
  /** §10.3 steps 6 and 7: same Call-ID and a CSeq not higher than the binding's: the update is aborted. */
  | { readonly _tag: "OutOfOrder"; readonly uri: string }
  | { readonly _tag: "BadRequest"; readonly reason: string }
  | { readonly _tag: "TooManyContacts"; readonly max: number }

/** Bindings still in force at `now` (an expired one is ignored even before the sweep removes it). */
export const liveBindings = (bindings: ReadonlyArray<Binding>, now: number): ReadonlyArray<Binding> =>
  bindings.filter((b) => b.expiresAt > now)

// RFC 3261 §19.1.4: these URI parameters must match when present in either URI.
const STRICT_PARAMS = ["user", "ttl", "method", "maddr", "transport"]

const lowerParams = (uri: SipUri): Map<string, string | null> =>
  new Map(uri.params.map(([n, v]) => [n.toLowerCase(), v === null ? null : unescapeUri(v).toLowerCase()]))

/** RFC 3261 §19.1.4 URI equality (SIP/SIPS); other schemes compare as strings. */
export const sameContactUri = (a: string, b: string): boolean => {
  if (a === b) return true
  let ua: ReturnType<typeof parseUri>
  let ub: ReturnType<typeof parseUri>
  try {
    ua = parseUri(a)
    ub = parseUri(b)
  } catch {
    return false
  }
  if (ua._tag !== "SipUri" || ub._tag !== "SipUri") return false
  if (ua.scheme !== ub.scheme) return false
  const user = (u: SipUri) => (u.user === undefined ? undefined : unescapeUri(u.user))
  if (user(ua) !== user(ub) || ua.password !== ub.password) return false
  if (ua.host.toLowerCase() !== ub.host.toLowerCase() || ua.port !== ub.port) return false
  const pa = lowerParams(ua)
  const pb = lowerParams(ub)
  for (const name of STRICT_PARAMS) if (pa.get(name) !== pb.get(name)) return false
  for (const [name, value] of pa) if (pb.has(name) && pb.get(name) !== value) return false
  return (ua.headers ?? "") === (ub.headers ?? "")
}

/** §10.2.1.1: the contact's expires parameter, else the Expires header, else the default. */
const requestedExpiry = (c: ContactInput, input: RegisterInput, policy: RegistrarPolicy): number =>
  c.expires ?? input.expiresHeader ?? policy.defaultExpires

export const applyRegister = (
  current: ReadonlyArray<Binding>,
  input: RegisterInput,
  policy: RegistrarPolicy,
): RegisterOutcome => {
  let bindings = liveBindings(current, input.now)

  // §10.3 step 6: "Contact: *" removes every binding, valid only alone and with Expires: 0.
  if (input.star) {
    if (input.contacts.length > 0)
      return { _tag: "BadRequest", reason: "Contact: * cannot be combined with other contacts" }
    if (input.expiresHeader !== 0) return { _tag: "BadRequest", reason: "Contact: * requires Expires: 0" }
    for (const b of bindings) {
      if (b.callId === input.callId && input.cseq <= b.cseq) return { _tag: "OutOfOrder", uri: b.uri }
    }
    return { _tag: "Updated", bindings: [], changed: bindings.length > 0 }
  }

  // A REGISTER without Contact is a query (§10.2.3).
  if (input.contacts.length === 0) return { _tag: "Updated", bindings, changed: false }

  // §10.3 step 7: 423 when an interval is above zero and below the minimum — before anything changes.
  for (const c of input.contacts) {
    const e = requestedExpiry(c, input, policy)
    if (e > 0 && e < policy.minExpires) return { _tag: "IntervalTooBrief", minExpires: policy.minExpires }
  }

  // Every contact is checked before any is applied: the update is atomic (§10.3 step 7 "aborted").
  let changed = false
  for (const c of input.contacts) {
    const seconds = Math.min(requestedExpiry(c, input, policy), policy.maxExpires)
    const existing = bindings.find((b) => sameContactUri(b.uri, c.uri))
    if (existing !== undefined && existing.callId === input.callId && input.cseq <= existing.cseq) {
      return { _tag: "OutOfOrder", uri: c.uri }
    }
    const others = bindings.filter((b) => b !== existing)
    if (seconds === 0) {
      if (existing !== undefined) changed = true
      bindings = others
      continue
    }
    changed = true
    bindings = [
      ...others,
      {
        uri: c.uri,
        params: c.params,
        q: c.q,
        expiresAt: input.now + seconds * 1000,
        callId: input.callId,
        cseq: input.cseq,
        source: input.source,
      },
    ]
  }
  if (bindings.length > policy.maxContacts) return { _tag: "TooManyContacts", max: policy.maxContacts }
  return { _tag: "Updated", bindings, changed }
}

/** Seconds left, rounded up, never below 1 while the binding is live. */
export const remainingSeconds = (b: Binding, now: number): number =>
  Math.max(1, Math.ceil((b.expiresAt - now) / 1000))

const formatQ = (q: number): string => (q === 1 ? "1" : q.toFixed(3).replace(/0+$/, "").replace(/\.$/, ""))

/** §10.3 step 8: each current binding as a Contact value with its remaining expiry. */
export const contactValue = (b: Binding, now: number): string =>
  `<${b.uri}>${b.params};expires=${remainingSeconds(b, now)}${b.q === 1 ? "" : `;q=${formatQ(b.q)}`}`

/** Highest q first (§16.6: q-values order the targets); ties keep registration order. */
export const byPreference = (bindings: ReadonlyArray<Binding>): ReadonlyArray<Binding> =>
  [...bindings].sort((a, b) => b.q - a.q)
