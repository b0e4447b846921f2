/**
 * In-dialog requests other than INVITE, BYE, ACK and CANCEL — UPDATE (RFC 3311), INFO (RFC 6086), NOTIFY
 * (RFC 6665), MESSAGE (RFC 3428), OPTIONS, and REFER by policy — relayed into the other leg's dialog and their final responses
 * relayed back. The suite keeps no retransmission timer for them: the originator retransmits over UDP
 * (RFC 3261 §17.1.2.2) and each retransmission re-sends the relayed copy, so the far side sees the same
 * schedule. At most MAX_RELAYS are in flight per call; beyond that 500 with Retry-After (§21.5.1).
 */
import { createResponse, type HeaderList, type SipRequest, type SipResponse } from "@b2bua/sip"
import type { Call, CallAction, PendingReinvite, Step } from "./CallState.js"
import { bodyOf, bodyOptions, endToEnd, requestToA, requestToB, toB } from "./LegMessages.js"
import { onRelayedRefresh, relayedRequestHeaders } from "./SessionTimer.js"

export const RELAYED_METHODS: ReadonlyArray<string> = ["UPDATE", "INFO", "NOTIFY", "MESSAGE", "OPTIONS"]
const MAX_RELAYS = 8

/** Headers these methods carry for the far end: events and their state, info packages, dispositions. */
const RELAYED_HEADERS = [
  "event",
  "subscription-state",
  "info-package",
  "recv-info",
  "content-disposition",
  "reason",
  "accept",
  "allow-events",
  // RFC 3515 §2.1, RFC 3892, RFC 4488: where to call, who asked, whether to report back.
  "refer-to",
  "referred-by",
  "refer-sub",
]

const relayedHeaders = (m: SipRequest | SipResponse): HeaderList => [
  ...endToEnd(m),
  ...m.fields.filter((f) => RELAYED_HEADERS.includes(f.key)).map((f) => [f.name, f.value] as const),
]

const sendOn = (call: Call, side: "A" | "B", message: SipRequest | SipResponse): CallAction =>
  side === "A" ? { _tag: "SendA", message } : toB(call, message)

export const relayRequest = (call: Call, from: "A" | "B", m: SipRequest): Step => {
  const to = from === "A" ? "B" : "A"
  const same = call.relays.find(
    (r) => r.from === from && r.received.cseq.seq === m.cseq.seq && r.received.method === m.method,
  )
  if (same !== undefined) return [call, [sendOn(call, to, same.relayed)]]
  const reply = (status: number, reason: string, headers: HeaderList = []) =>
    [call, [sendOn(call, from, createResponse(m, status, { reason, headers }))]] as const
  if (call.phase === "Ending" || call.phase === "Ended")
    return reply(481, "Call/Transaction Does Not Exist (call ending)")
  // The other leg's dialog must exist: B's once it answered with a tag, A's from the start (its INVITE).
  if (to === "B" && call.bRemoteTag === undefined)
    return reply(500, "Server Internal Error (no dialog on the other leg yet)", [["Retry-After", "1"]])
  if (call.relays.length >= MAX_RELAYS)
    return reply(500, "Server Internal Error (too many requests in progress)", [["Retry-After", "1"]])
  // An UPDATE refreshes the session (RFC 4028): the relayed copy carries the far leg's own timer.
  const headers =
    m.method === "UPDATE" ? [...relayedHeaders(m), ...relayedRequestHeaders(call, to, m)] : relayedHeaders(m)
  const [next, relayed] =
    to === "B"
      ? requestToB(call, m.method, headers, bodyOf(m))
      : requestToA(call, m.method, headers, bodyOf(m))
  const pending: PendingReinvite = { from, received: m, relayed }
  return [{ ...next, relays: [...next.relays, pending] }, [sendOn(next, to, relayed)]]
}

/**
 * REFER (RFC 3515) within a call, under the policy of the trunk on the side it came from: 403 (the default: a
 * carrier's peer does not get to send the other party elsewhere), or relayed into the other leg's dialog like
 * the methods above; the NOTIFYs of its implicit subscription (Event: refer, sipfrag) come back as in-dialog
 * NOTIFYs. Attended transfer (Replaces naming a dialog of one leg) needs the suite to map dialog ids between
 * the legs: not done (docs/backlog.md).
 */
export const relayRefer = (call: Call, from: "A" | "B", m: SipRequest): Step => {
  const policy = from === "A" ? call.aRefer : call.dest.refer
  if (policy === "relay") return relayRequest(call, from, m)
  const refused = createResponse(m, 403, { reason: "Forbidden (REFER not accepted from this trunk)" })
  return [call, [sendOn(call, from, refused)]]
}

/** A final response from `side` to a request the suite relayed there goes back to the leg that asked. */
export const relayResponse = (call: Call, side: "A" | "B", response: SipResponse): Step => {
  const pending = call.relays.find(
    (r) =>
      r.from !== side &&
      r.relayed.cseq.seq === response.cseq.seq &&
      r.relayed.method === response.cseq.method,
  )
  if (pending === undefined || response.status < 200) return [call, []]
  // A 2xx to a relayed UPDATE refreshed both legs' sessions (RFC 4028): each timer restarts.
  const refreshed =
    pending.received.method === "UPDATE"
      ? onRelayedRefresh(call, pending, response)
      : { call, headers: [], actions: [] }
  const answer = createResponse(pending.received, response.status, {
    reason: response.reason,
    headers: [...relayedHeaders(response), ...refreshed.headers],
    ...bodyOptions(bodyOf(response)),
  })
  return [
    { ...refreshed.call, relays: refreshed.call.relays.filter((r) => r !== pending) },
    [sendOn(call, pending.from, answer), ...refreshed.actions],
  ]
}
