/** Re-INVITEs (RFC 3261 §14) relayed from one leg into the other's dialog, with 491 on glare. */
import { createResponse, type HeaderList, type SipRequest, type SipResponse } from "@b2bua/sip"
import { type Call, type CallAction, type PendingReinvite, type Step, T1 } from "./CallState.js"
import { awaitLateAnswer, isLateOffer } from "./LateOffer.js"
import { ackFor, bodyOf, bodyOptions, contact, endToEnd, requestToA, requestToB, toB } from "./LegMessages.js"
import { relayedRequestHeaders } from "./SessionTimer.js"

/**
 * A re-INVITE from one leg (hold/resume, codec change, T.38): relayed into the other leg's dialog with
 * its body; 491 when one is already in progress (glare, RFC 3261 §14.2) or the call is not answered.
 */
export const relayReinvite = (call: Call, from: "A" | "B", m: SipRequest): Step => {
  const reply = (status: number): CallAction => {
    const response = createResponse(m, status)
    return from === "A" ? { _tag: "SendA", message: response } : toB(call, response)
  }
  // A retransmission of the re-INVITE being relayed (§17.2.1): the relayed copy again, on the far side's
  // schedule (the suite keeps no Timer A of its own for it), and 100 again.
  const pending = call.reinvite
  if (pending !== undefined && pending.from === from && pending.received.cseq.seq === m.cseq.seq) {
    const again: CallAction =
      from === "A" ? toB(call, pending.relayed) : { _tag: "SendA", message: pending.relayed }
    return [call, [reply(100), again]]
  }
  if (pending !== undefined || call.phase !== "Answered") return [call, [reply(491)]]
  // Each leg keeps its own session timer (RFC 4028): the relayed copy carries the far leg's.
  const extra: HeaderList = [
    ["Contact", contact(call.id)],
    ...endToEnd(m),
    ...relayedRequestHeaders(call, from === "A" ? "B" : "A", m),
  ]
  const [next, relayed] =
    from === "A" ? requestToB(call, "INVITE", extra, bodyOf(m)) : requestToA(call, "INVITE", extra, bodyOf(m))
  const send: CallAction = from === "A" ? toB(call, relayed) : { _tag: "SendA", message: relayed }
  return [{ ...next, reinvite: { from, received: m, relayed } }, [reply(100), send]]
}

/** The answer to a relayed re-INVITE: ACKed on the leg it came from, relayed to the leg that asked
 * (`extra`: the asking leg's own headers on a 2xx, its session timer). */
export const answerReinvite = (
  call: Call,
  pending: PendingReinvite,
  response: SipResponse,
  extra: HeaderList = [],
): Step => {
  if (response.status < 200) {
    if (response.status === 100) return [call, []]
    const provisional = createResponse(pending.received, response.status, { reason: response.reason })
    return [call, [pending.from === "A" ? { _tag: "SendA", message: provisional } : toB(call, provisional)]]
  }
  const remoteTarget = pending.from === "A" ? call.bTarget : call.aTarget
  const ack = ackFor(call, pending.relayed, response, remoteTarget)
  const answer = createResponse(pending.received, response.status, {
    reason: response.reason,
    headers:
      response.status < 300
        ? [["Contact", contact(call.id)], ...endToEnd(response), ...extra]
        : endToEnd(response),
    ...bodyOptions(bodyOf(response)),
  })
  const next: Call = { ...call, reinvite: undefined, sent: call.sent + 1 }
  if (isLateOffer(pending.received, response)) {
    // A re-INVITE without SDP: the offer is in this 2xx; the ACK here waits for the asking leg's ACK,
    // which carries the answer (LateOffer.ts); the 2xx to that leg is retransmitted with Timer L.
    const lateAck = awaitLateAnswer(
      pending.from,
      pending.received,
      pending.relayed,
      response,
      remoteTarget,
      answer,
      true,
    )
    const relay: CallAction = pending.from === "A" ? { _tag: "SendA", message: answer } : toB(call, answer)
    return [{ ...next, lateAck }, [relay, { _tag: "StartTimer", timer: "L", delayMs: T1 }]]
  }
  return pending.from === "A"
    ? [next, [toB(call, ack), { _tag: "SendA", message: answer }]]
    : [next, [{ _tag: "SendA", message: ack }, toB(call, answer)]]
}
