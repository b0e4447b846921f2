/**
 * 3xx responses on the B-leg (RFC 3261 §8.1.3.4, §21.3) under the outbound trunk's policy (contracts
 * Routing `redirects`): `refuse` treats the redirection as a failure (failover on its code, else 480 to the
 * caller), `relay` passes the 3xx with its Contacts to the caller, `follow` sends the B-leg INVITE to the
 * best Contact itself (a new attempt: new branch, next CSeq, same Call-ID and From-tag). Pure.
 *
 * Following is bounded (MAX_REDIRECTS per call, never a URI twice: a redirection loop ends as a failure)
 * and limited to Contacts whose host is an IP address: the call machine resolves no names, and a callee
 * naming a host the routing table never vetted is the carrier's risk, not the suite's (documented in
 * docs/architecture.md).
 */
import { isIP } from "node:net"
import {
  createResponse,
  formatNameAddr,
  getParam,
  type NameAddr,
  parseUri,
  type SipResponse,
} from "@b2bua/sip"
import type { BTarget, Call, Step } from "./CallState.js"
import { relayToA } from "./LegMessages.js"

export const MAX_REDIRECTS = 3

/** §8.1.3.4: the Contacts of a 3xx are tried in order of their q value (absent q = 1.0). */
const byQ = (contacts: ReadonlyArray<NameAddr>): ReadonlyArray<NameAddr> =>
  [...contacts].sort((x, y) => qOf(y) - qOf(x))

const qOf = (contact: NameAddr): number => {
  const q = Number(getParam(contact.params, "q") ?? "1")
  return Number.isFinite(q) ? q : 0
}

/** The next hop a followed Contact names: an IP address, its port, its transport parameter. */
export const redirectTarget = (dest: BTarget, contact: NameAddr): BTarget | undefined => {
  let uri: ReturnType<typeof parseUri>
  try {
    uri = parseUri(contact.uri)
  } catch {
    return undefined
  }
  if (uri._tag !== "SipUri" || uri.scheme !== "sip") return undefined
  const host = uri.host.startsWith("[") ? uri.host.slice(1, -1) : uri.host
  if (isIP(host) === 0) return undefined
  const transport = getParam(uri.params, "transport")?.toLowerCase() === "tcp" ? "tcp" : "udp"
  return {
    ...dest,
    host,
    port: uri.port ?? 5060,
    transport,
    called: uri.user ?? dest.called,
    contactUri: contact.uri,
  }
}

/**
 * What the call does with a 3xx from B (already ACKed by the caller of this function). `retry` starts a B-leg
 * attempt (Call.ts `attempt`); `fail` fails the setup towards A (failover or the final response).
 */
export const onRedirect = (
  call: Call,
  response: SipResponse,
  retry: (call: Call, dest: BTarget) => Step,
  fail: (call: Call) => Step,
): Step => {
  const policy = call.dest.redirects ?? "refuse"
  if (policy === "relay") {
    // The Contacts are the callee's answer (where to call instead); the suite's own addresses stay hidden.
    const contacts = response.contacts.map(formatNameAddr).join(", ")
    const toA = relayToA(call, response, contacts === "" ? [] : [["Contact", contacts]])
    return [
      { ...call, phase: "Ended", aFinal: toA },
      [
        { _tag: "SendA", message: toA },
        { _tag: "Ended", reason: `B-leg ${response.status} relayed` },
      ],
    ]
  }
  // Like failover, never after early media reached A (it would hear two sessions).
  if (policy === "follow" && !call.earlyMedia && (call.redirected ?? 0) < MAX_REDIRECTS) {
    const tried = call.bInvite.uri
    for (const contact of byQ(response.contacts)) {
      if (contact.uri === tried) continue
      const dest = redirectTarget(call.dest, contact)
      if (dest !== undefined) return retry({ ...call, redirected: (call.redirected ?? 0) + 1 }, dest)
    }
  }
  return fail(call)
}

/** The final response A gets for a redirection the policy does not pass on. */
export const refusedRedirect = (call: Call, response: SipResponse) =>
  createResponse(call.aInvite, 480, {
    toTag: call.aTag,
    reason: `Temporarily Unavailable (redirection ${response.status} not followed)`,
  })
