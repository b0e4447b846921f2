/**
 * The suite's own BYEs (RFC 3261 §15): on one leg when the other hung up, or on both legs when the suite
 * ends the call itself (media lost, session expired, an operator's hangup). Each BYE is a non-INVITE
 * client transaction retransmitted with Timer E (§17.1.2.2) until its final response or 64*T1; the call
 * ends when every BYE is answered or given up.
 */
import type { HeaderList, SipRequest, SipResponse } from "@b2bua/sip"
import { type Call, type CallAction, type PendingBye, type Step, T1, T2 } from "./CallState.js"
import { requestToA, requestToB, toB } from "./LegMessages.js"

const sendOn = (call: Call, side: "A" | "B", request: SipRequest): CallAction =>
  side === "A" ? { _tag: "SendA", message: request } : toB(call, request)

/** Sends a BYE on one leg; the shared Timer E starts with the first pending BYE. */
export const sendBye = (call: Call, side: "A" | "B", bye: SipRequest): Step => [
  {
    ...call,
    byes: [...call.byes.filter((b) => b.side !== side), { side, request: bye, interval: T1, elapsed: 0 }],
  },
  [
    sendOn(call, side, bye),
    ...(call.byes.length === 0 ? [{ _tag: "StartTimer", timer: "E", delayMs: T1 } as const] : []),
  ],
]

/** The suite ends the call on both legs (those that have a dialog), with a Reason header (RFC 3326). */
export const hangUpBoth = (call: Call, reason: string): Step => {
  const extra: HeaderList = [["Reason", reason]]
  const [withA, byeA] = requestToA(call, "BYE", extra)
  let [next, actions] = sendBye({ ...withA, phase: "Ending" }, "A", byeA)
  if (call.bRemoteTag !== undefined) {
    const [withB, byeB] = requestToB(next, "BYE", extra)
    const [afterB, moreActions] = sendBye(withB, "B", byeB)
    next = afterB
    actions = [...actions, ...moreActions]
  }
  return [next, actions]
}

/** Timer E: every pending BYE again, intervals doubling to T2; those past 64*T1 are given up. */
export const retransmitByes = (call: Call): Step => {
  if (call.byes.length === 0) return [call, []]
  const actions: Array<CallAction> = []
  const pending: Array<PendingBye> = []
  for (const bye of call.byes) {
    const elapsed = bye.elapsed + bye.interval
    if (elapsed >= 64 * T1) continue
    pending.push({ ...bye, interval: Math.min(bye.interval * 2, T2), elapsed })
    actions.push(sendOn(call, bye.side, bye.request))
  }
  if (pending.length === 0)
    return [{ ...call, phase: "Ended", byes: [] }, [{ _tag: "Ended", reason: "BYE unanswered" }]]
  const delayMs = Math.min(...pending.map((b) => b.interval))
  return [{ ...call, byes: pending }, [...actions, { _tag: "StartTimer", timer: "E", delayMs }]]
}

/** A final response to one of the suite's BYEs: that leg is done; the call ends with the last one. */
export const byeAnswered = (call: Call, side: "A" | "B", response: SipResponse): Step => {
  const byes = call.byes.filter((b) => !(b.side === side && b.request.cseq.seq === response.cseq.seq))
  if (byes.length === call.byes.length && call.byes.length > 0) return [call, []]
  if (byes.length > 0) return [{ ...call, byes }, []]
  return [{ ...call, phase: "Ended", byes: [] }, [{ _tag: "Ended", reason: "BYE completed" }]]
}
