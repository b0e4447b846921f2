/**
 * Late offers across the two legs (RFC 3264 §5, RFC 3261 §13.2.1): an INVITE or re-INVITE without SDP
 * is relayed without SDP; the other leg's 2xx carries the offer and is relayed to the leg that asked (the
 * SDP negotiator anchors it); the asking leg's ACK carries the answer, and the suite's ACK of that 2xx on
 * the other leg carries it too (§13.2.2.4: "If the 2xx contains an offer ... the ACK MUST carry an answer
 * in its body"). So only in that case the other leg's ACK waits for the asking leg's ACK:
 * - the other leg's 2xx retransmitted meanwhile is absorbed (an ACK without the answer would end the
 *   offer/answer); once the ACK exists, each retransmission gets it again (§13.2.2.4);
 * - no ACK from the asking leg within 64*T1 of 2xx retransmissions (§13.3.1.4: "the session SHOULD be
 *   terminated ... with a BYE"): the other leg gets its ACK without an answer, then BYE on both legs;
 * - an ACK without an answer (the asking UA broke §13.2.1), or an answer or offer the negotiator refuses:
 *   the offer cannot be answered, so, as §13.2.2.4 tells a UAC whose 2xx offer is not acceptable, the
 *   other leg is ACKed and the session ended with BYE on both legs, with a Reason header (RFC 3326). An
 *   initial 2xx whose offer is refused gives the caller the refusal (488/503) instead of the 2xx.
 * - a re-INVITE or an UPDATE with SDP (either leg) while the answer is outstanding gets 491 (§14.1,
 *   RFC 3311 §5.2: no new offer before the previous one is answered).
 * Pure: the call machine (Call.ts) runs every event through `stepLateOffer` first.
 */
import { createResponse, type SipRequest, type SipResponse } from "@b2bua/sip"
import {
  type Call,
  type CallAction,
  type CallEvent,
  type PendingLateAck,
  type Step,
  T1,
  T2,
} from "./CallState.js"
import { hangUpBoth, sendBye } from "./Hangup.js"
import { ackFor, bodyOf, requestToB, toB } from "./LegMessages.js"
import { carriesSdp } from "./media/SdpRole.js"

const other = (side: "A" | "B"): "A" | "B" => (side === "A" ? "B" : "A")

const sendOn = (call: Call, side: "A" | "B", m: SipRequest | SipResponse): CallAction =>
  side === "A" ? { _tag: "SendA", message: m } : toB(call, m)

/** Whether a 2xx to `request` (an INVITE the suite relayed as it came) carries a late offer. */
export const isLateOffer = (request: SipRequest, response: SipResponse): boolean =>
  response.status >= 200 && response.status < 300 && carriesSdp(response) && !carriesSdp(request)

/**
 * The initial INVITE's 2xx carries a late offer: A's INVITE had no SDP, B's 2xx has, and no offer came
 * earlier in a reliable provisional (RFC 3262 §5: then the PRACK carried the answer and this 2xx only
 * repeats the SDP — it is ACKed at once).
 */
export const lateOfferIn2xx = (call: Call, response: SipResponse): boolean =>
  isLateOffer(call.aInvite, response) && !(call.bRSeq !== undefined && call.earlyMedia)

/** The wait for `from`'s ACK after its 2xx with the offer (`relayed`) was sent. */
export const awaitLateAnswer = (
  from: "A" | "B",
  request: SipRequest,
  invite: SipRequest,
  response: SipResponse,
  remoteTarget: string | undefined,
  relayed: SipResponse,
  retransmitted: boolean,
): PendingLateAck => ({
  from,
  request,
  invite,
  response,
  remoteTarget,
  relayed,
  retransmit: retransmitted ? { interval: T1, elapsed: 0 } : undefined,
  ack: undefined,
})

/** The other leg's ACK of the 2xx with the offer; `body` is the answer, when there is one. */
const ackOther = (call: Call, late: PendingLateAck, body: ReturnType<typeof bodyOf>): [Call, SipRequest] => {
  const ack = ackFor(call, late.invite, late.response, late.remoteTarget, body)
  return [{ ...call, sent: call.sent + 1, lateAck: { ...late, ack, retransmit: undefined } }, ack]
}

/**
 * The offer cannot be answered: the other leg gets its ACK (without an answer) and the call ends with
 * BYE on both legs (§13.2.2.4, §13.3.1.4).
 */
const abandon = (call: Call, late: PendingLateAck, reason: string): Step => {
  const [acked, ack] = ackOther(call, late, undefined)
  const [ended, byes] = hangUpBoth(acked, reason)
  return [ended, [sendOn(call, other(late.from), ack), ...byes]]
}

/** The initial 2xx's offer was refused: the caller gets the refusal instead; B is ACKed and BYE'd. */
const refuseInitial = (call: Call, late: PendingLateAck, refusal: SipResponse): Step => {
  const [acked, ack] = ackOther(call, late, undefined)
  const [withBye, bye] = requestToB({ ...acked, phase: "Ending", aFinal: refusal }, "BYE")
  const [next, byeActions] = sendBye(withBye, "B", bye)
  return [next, [{ _tag: "SendA", message: refusal }, toB(call, ack), ...byeActions]]
}

/** `from`'s ACK for the 2xx with the offer: the other leg's ACK carries its answer. */
const answered = (call: Call, late: PendingLateAck, m: SipRequest): Step => {
  if (!carriesSdp(m)) return abandon(call, late, 'SIP;cause=488;text="no SDP answer in the ACK"')
  const [next, ack] = ackOther(call, late, bodyOf(m))
  return [next, [sendOn(call, other(late.from), ack)]]
}

/** Timer L: the re-INVITE's 2xx with the offer again, until the ACK or 64*T1 (§13.3.1.4). */
const retransmit = (call: Call, late: PendingLateAck): Step => {
  const r = late.retransmit
  if (r === undefined || late.ack !== undefined) return [call, []]
  const elapsed = r.elapsed + r.interval
  if (elapsed >= 64 * T1) return abandon(call, late, 'SIP;cause=408;text="no ACK for the 2xx"')
  const interval = Math.min(r.interval * 2, T2)
  return [
    { ...call, lateAck: { ...late, retransmit: { interval, elapsed } } },
    [sendOn(call, late.from, late.relayed), { _tag: "StartTimer", timer: "L", delayMs: interval }],
  ]
}

/** The initial 2xx's retransmission (Timer R) is at its end without an ACK from A. */
const rGivesUp = (call: Call): boolean =>
  !call.aAcked &&
  call.aFinal !== undefined &&
  call.aFinal.status >= 200 &&
  call.aFinal.status < 300 &&
  call.aRetransmit >= 64 * T1 &&
  call.phase === "Answered"

/**
 * Every call event passes here first; `core` is the rest of the call machine. Also the end of Timer R
 * for any 2xx that A never ACKed (§13.3.1.4: BYE on both legs), with or without a late offer.
 */
export const stepLateOffer = (call: Call, event: CallEvent, core: (c: Call, e: CallEvent) => Step): Step => {
  const late = call.lateAck
  const waiting = late !== undefined && late.ack === undefined ? late : undefined
  switch (event._tag) {
    case "TimerFired":
      if (event.timer === "L") return late === undefined ? [call, []] : retransmit(call, late)
      if (event.timer === "R" && rGivesUp(call)) {
        const reason = 'SIP;cause=408;text="no ACK for the 2xx"'
        return waiting !== undefined && waiting.from === "A"
          ? abandon(call, waiting, reason)
          : hangUpBoth(call, reason)
      }
      return core(call, event)
    case "MediaRefused": {
      if (waiting === undefined) {
        // The answer the ACK carried was refused (that ACK was not sent): an ACK without it, then BYEs.
        if (late?.ack !== undefined && event.message === late.ack)
          return abandon(
            call,
            { ...late, ack: undefined },
            `SIP;cause=${event.status};text="SDP answer in the ACK refused"`,
          )
        return core(call, event)
      }
      if (event.message !== waiting.relayed) return core(call, event)
      if (waiting.relayed === call.aFinal) {
        const refusal = createResponse(call.aInvite, event.status, {
          toTag: call.aTag,
          reason: event.reason,
          headers: event.headers,
        })
        return refuseInitial(call, waiting, refusal)
      }
      // A re-INVITE's: the asking leg gets the refusal to its re-INVITE; the other leg's 2xx offer stays
      // unanswerable, so that leg is ACKed and the call ends (§13.2.2.4).
      const refusal = createResponse(waiting.request, event.status, {
        reason: event.reason,
        headers: event.headers,
      })
      const [ended, actions] = abandon(
        call,
        waiting,
        `SIP;cause=${event.status};text="SDP offer in the 2xx refused"`,
      )
      return [ended, [sendOn(call, waiting.from, refusal), ...actions]]
    }
    case "HangUp": {
      if (waiting === undefined) return core(call, event)
      const [acked, ack] = ackOther(call, waiting, undefined)
      const [next, actions] = core(acked, event)
      return [next, [sendOn(call, other(waiting.from), ack), ...actions]]
    }
    case "FromA":
    case "FromB": {
      const side = event._tag === "FromA" ? "A" : "B"
      const m = event.message
      if (m.kind === "response") {
        // The other leg's 2xx again (§13.2.2.4): absorbed until the answer is there, then its ACK again.
        if (
          late !== undefined &&
          side === other(late.from) &&
          m.cseq.method === "INVITE" &&
          m.status >= 200 &&
          m.status < 300 &&
          m.cseq.seq === late.invite.cseq.seq
        )
          return [call, late.ack === undefined ? [] : [sendOn(call, side, late.ack)]]
        return core(call, event)
      }
      if (waiting === undefined) return core(call, event)
      if (m.method === "ACK" && side === waiting.from && m.cseq.seq === waiting.request.cseq.seq) {
        const [next, actions] = core(call, event)
        const [after, more] = answered(next, waiting, m)
        return [after, [...actions, ...more]]
      }
      if ((m.method === "INVITE" && m.toTag !== undefined) || (m.method === "UPDATE" && carriesSdp(m))) {
        // §14.1, RFC 3311 §5.2: no new offer while the late offer is not answered.
        const glare = createResponse(m, 491)
        return [call, [sendOn(call, side, glare)]]
      }
      if (m.method === "BYE") {
        // The dialog ends before the answer: the other leg's 2xx is ACKed (without one) before its BYE.
        const [acked, ack] = ackOther(call, waiting, undefined)
        const [next, actions] = core(acked, event)
        return [next, [sendOn(call, other(waiting.from), ack), ...actions]]
      }
      return core(call, event)
    }
  }
}
