/**
 * Reliable provisional responses (RFC 3262) across the two legs. The suite is UAC on B and UAS on A, so
 * 100rel is negotiated per leg:
 * - B sends a reliable 1xx and A supports 100rel: the suite relays it to A reliably with its own RSeq,
 *   retransmits it until A's PRACK (§3), then sends B the PRACK for B's RSeq carrying A's PRACK body (an
 *   offer or answer, §5) and relays B's 200 back to A's PRACK.
 * - B sends a reliable 1xx and A does not support 100rel: the suite PRACKs B itself and relays the 1xx
 *   unreliably.
 */
import {
  createReliableSender,
  createResponse,
  judgeReliableProvisional,
  nextRSeq,
  RAck,
  RSeq,
  rackMatches,
  readHeader,
  type SipRequest,
  type SipResponse,
  stepReliableSender,
} from "@b2bua/sip"
import { type Call, type CallAction, type PendingReinvite, type Step, T1 } from "./CallState.js"
import { bodyOf, endToEnd, relayToA, requestToB, toB } from "./LegMessages.js"

const tokens = (m: SipRequest | SipResponse, header: string): ReadonlyArray<string> =>
  m
    .headerValues(header)
    .flatMap((v) => v.split(","))
    .map((t) => t.trim().toLowerCase())

export const supports100rel = (m: SipRequest | SipResponse): boolean =>
  tokens(m, "Supported").includes("100rel") || tokens(m, "Require").includes("100rel")

/** The RSeq of a provisional response that requires PRACK (§7.1), or undefined for an unreliable one. */
export const reliableRSeq = (m: SipResponse): number | undefined => {
  if (m.status === 100 || !tokens(m, "Require").includes("100rel")) return undefined
  try {
    return readHeader(m, RSeq)
  } catch {
    return undefined
  }
}

/** A reliable 1xx from B, already recorded as the call's early state by the caller. */
export const onReliableProvisional = (call: Call, m: SipResponse, rseq: number): Step => {
  const verdict = judgeReliableProvisional(call.bRSeq, rseq)
  // §4: a retransmission means B did not get the PRACK: send ours again (A's is relayed when A sends it).
  if (verdict === "Retransmission")
    return [call, call.bOwnPrack === undefined ? [] : [toB(call, call.bOwnPrack)]]
  if (verdict === "OutOfOrder") return [call, []]
  const rack = `${rseq} ${call.bInvite.cseq.seq} INVITE`
  if (!supports100rel(call.aInvite)) {
    const [next, prack] = requestToB(call, "PRACK", [["RAck", rack]])
    const toA = relayToA(call, m)
    return [
      { ...next, bRSeq: rseq, bOwnPrack: prack, aProvisional: toA },
      [toB(next, prack), { _tag: "SendA", message: toA }],
    ]
  }
  const aRSeq = nextRSeq(call.aRSeq)
  const toA = relayToA(call, m, [
    ["Require", "100rel"],
    ["RSeq", String(aRSeq)],
  ])
  const [sender, effects] = stepReliableSender(
    createReliableSender(toA, { rseq: aRSeq, cseq: call.aInvite.cseq.seq, method: "INVITE" }, T1),
    { _tag: "Start" },
  )
  return [
    {
      ...call,
      aRSeq,
      bRSeq: rseq,
      bOwnPrack: undefined,
      reliable: { sender, bRSeq: rseq },
      aProvisional: toA,
    },
    effects.flatMap(
      (e): ReadonlyArray<CallAction> =>
        e._tag === "Send"
          ? [{ _tag: "SendA", message: e.message }]
          : e._tag === "StartTimer"
            ? [{ _tag: "StartTimer", timer: "P", delayMs: e.delayMs }]
            : [],
    ),
  ]
}

/** Timer P: the reliable provisional to A again, until its PRACK, the final response, or 64*T1 (§3). */
export const retransmitReliable = (call: Call): Step => {
  const pending = call.reliable
  if (pending === undefined || call.aFinal !== undefined) return [{ ...call, reliable: undefined }, []]
  const [sender, effects] = stepReliableSender(pending.sender, { _tag: "TimerFired" })
  return [
    { ...call, reliable: sender.state === "Sending" ? { ...pending, sender } : undefined },
    effects.flatMap(
      (e): ReadonlyArray<CallAction> =>
        e._tag === "Send"
          ? [{ _tag: "SendA", message: e.message }]
          : e._tag === "StartTimer"
            ? [{ _tag: "StartTimer", timer: "P", delayMs: e.delayMs }]
            : [],
    ),
  ]
}

/** A's PRACK: acknowledges the suite's reliable 1xx; B gets its own PRACK with A's body (offer/answer, §5). */
export const onPrackFromA = (call: Call, m: SipRequest): Step => {
  const retransmitted = call.relays.find((r) => r.from === "A" && r.received.cseq.seq === m.cseq.seq)
  if (retransmitted !== undefined) return [call, [toB(call, retransmitted.relayed)]]
  let rack: ReturnType<typeof RAck.parse> | undefined
  try {
    rack = readHeader(m, RAck)
  } catch {
    rack = undefined
  }
  const pending = call.reliable
  if (pending === undefined || rack === undefined || !rackMatches(rack, pending.sender.rack)) {
    // §3: a PRACK that matches no unacknowledged reliable provisional gets 481.
    return [
      call,
      [
        {
          _tag: "SendA",
          message: createResponse(m, 481, { reason: "Call/Transaction Does Not Exist (no such RSeq)" }),
        },
      ],
    ]
  }
  const [next, prack] = requestToB(
    call,
    "PRACK",
    [["RAck", `${pending.bRSeq} ${call.bInvite.cseq.seq} INVITE`], ...endToEnd(m)],
    bodyOf(m),
  )
  const relay: PendingReinvite = { from: "A", received: m, relayed: prack }
  return [{ ...next, reliable: undefined, relays: [...next.relays, relay] }, [toB(next, prack)]]
}
