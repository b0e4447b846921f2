/**
 * One B2BUA call: the A-leg (the caller's dialog, where the suite is UAS) and the B-leg (the suite's own
 * dialog towards the destination, where it is UAC). Pure: `stepCall(call, event) → [call, actions]`; the
 * actor shell sends the actions' messages through the edge. Nothing of one leg's Via, Contact, Call-ID,
 * tags or Record-Route reaches the other (topology hiding); bodies (SDP) are carried across and the shell
 * has the SDP negotiator rewrite them (media/); late offers (offer in a 2xx, answer in the ACK) first
 * pass through LateOffer.ts.
 */
import { makeTag, type ReferPolicy } from "@b2bua/contracts"
import { createResponse, initialRSeq, type SipRequest, type SipResponse } from "@b2bua/sip"
import {
  type BTarget,
  type Call,
  type CallAction,
  type CallEvent,
  type CallIdentity,
  type Step,
  T1,
  T2,
  TIMER_B,
  TIMER_C,
} from "./CallState.js"
import { byeAnswered, hangUpBoth, retransmitByes, sendBye } from "./Hangup.js"
import { RELAYED_METHODS, relayRefer, relayRequest, relayResponse } from "./InDialogRelay.js"
import { awaitLateAnswer, lateOfferIn2xx, stepLateOffer } from "./LateOffer.js"
import { ackToB, cancelToB, inviteToB, relayToA, requestToA, requestToB, toB } from "./LegMessages.js"
import { onRedirect, refusedRedirect } from "./Redirect.js"
import { answerReinvite, relayReinvite } from "./Reinvite.js"
import { onPrackFromA, onReliableProvisional, reliableRSeq, retransmitReliable } from "./Reliable.js"
import {
  defaultSessionTimerPolicy,
  initialSessionTimers,
  observeSdp,
  offerHeaders,
  onAnswered,
  onPeerRefresh,
  onRefreshResponse,
  onRelayedRefresh,
  onSessionTimer,
  retryAfter422,
  type SessionTimerPolicy,
} from "./SessionTimer.js"

export * from "./CallState.js"
export { hostPortOf, userPartOf } from "./LegMessages.js"

/** Starts the B-leg attempt towards `dest`: INVITE, its retransmission and give-up timers. */
const attempt = (call: Call, dest: BTarget, nextTargets: ReadonlyArray<BTarget>, seq: number): Step => {
  const bInvite = inviteToB(call, dest, seq, offerHeaders(call.sessionTimer, call.aInvite, dest.drop))
  const next: Call = {
    ...call,
    dest,
    nextTargets,
    bInvite,
    bLocalSeq: seq,
    bHeard: false,
    bTimerA: T1,
    bRemoteTag: undefined,
    sent: call.sent + 1,
  }
  return [
    next,
    [
      { _tag: "Attempt", trunk: dest.trunk },
      toB(next, bInvite),
      // Over UDP the INVITE is retransmitted with Timer A until anything comes back (§17.1.1.2).
      ...(dest.transport === "udp" ? [{ _tag: "StartTimer", timer: "A", delayMs: T1 } as const] : []),
      {
        _tag: "StartTimer",
        timer: "B",
        delayMs: nextTargets.length > 0 ? Math.min(dest.noAnswerMs, TIMER_B) : TIMER_B,
      },
    ],
  ]
}

/**
 * Failover (the trunk's rule): a failure or silence of the current target moves the call to the next one,
 * unless A already has a final response or early media was relayed to it (A would hear two sessions).
 */
const canFailOver = (call: Call): boolean =>
  call.nextTargets.length > 0 &&
  call.aFinal === undefined &&
  !call.earlyMedia &&
  (call.phase === "Calling" || call.phase === "Early")

const failOver = (call: Call, extra: ReadonlyArray<CallAction>): Step => {
  const [dest, ...rest] = call.nextTargets
  const [next, actions] = attempt(call, dest!, rest, call.bLocalSeq + 1)
  return [next, [...extra, ...actions]]
}

/** Starts a call from the A-leg INVITE: 100 Trying to A at once, the B-leg INVITE to the first target. */
export const startCall = (
  aInvite: SipRequest,
  id: CallIdentity,
  targets: readonly [BTarget, ...ReadonlyArray<BTarget>],
  sessionTimers: SessionTimerPolicy = defaultSessionTimerPolicy,
  /** What the caller's (inbound) trunk allows it (contracts Routing). */
  inbound: { readonly refer?: ReferPolicy | undefined } = {},
): Step => {
  const [first, ...rest] = targets
  const trying = createResponse(aInvite, 100)
  const draft: Call = {
    phase: "Calling",
    id,
    aInvite,
    aTag: makeTag(id.owner, `${id.random}a`),
    aTarget: aInvite.contacts[0]?.uri ?? aInvite.uri,
    aLocalSeq: 0,
    aFinal: undefined,
    aProvisional: trying,
    aAcked: false,
    aRetransmit: T1,
    bCallId: `${makeTag(id.owner, id.random)}@b2bua`,
    bFromTag: makeTag(id.owner, `${id.random}b`),
    bInvite: aInvite,
    dest: first,
    nextTargets: rest,
    earlyMedia: false,
    bRemoteTag: undefined,
    bTarget: undefined,
    bLocalSeq: 0,
    bHeard: false,
    bTimerA: T1,
    byes: [],
    reinvite: undefined,
    relays: [],
    aRSeq: initialRSeq(Number.parseInt(id.random.slice(0, 6), 36) / 36 ** 6),
    reliable: undefined,
    bRSeq: undefined,
    bOwnPrack: undefined,
    lateAck: undefined,
    sessionTimer: initialSessionTimers(sessionTimers),
    sent: 0,
    aRefer: inbound.refer,
  }
  // The B-leg INVITE's offer is the suite's SDP on the B-leg until something replaces it.
  const [call, actions] = observeSdp(attempt(draft, first, rest, 1))
  return [
    call,
    [
      { _tag: "SendA", message: trying },
      ...actions,
      // Timer C > 3 minutes (§16.6 step 11) covers the whole setup, whatever failover does.
      { _tag: "StartTimer", timer: "C", delayMs: TIMER_C },
    ],
  ]
}

/**
 * RFC 4028 §7.3: the callee wants a longer session interval: the B-leg INVITE is sent again (same target,
 * next CSeq) asking for the callee's Min-SE. The 422 never reaches A — A's interval was fine; when no retry
 * helps, A gets 500.
 */
const retrySessionInterval = (call: Call, m: SipResponse, ack: SipRequest): Step => {
  const timers = retryAfter422(call.sessionTimer, m)
  if (timers === undefined) {
    const toA = createResponse(call.aInvite, 500, {
      toTag: call.aTag,
      reason: "Server Internal Error (the destination refused the session interval)",
    })
    return [
      { ...call, phase: "Ended", aFinal: toA },
      [toB(call, ack), { _tag: "SendA", message: toA }, { _tag: "Ended", reason: "B-leg 422" }],
    ]
  }
  const [next, actions] = attempt(
    { ...call, sessionTimer: timers },
    call.dest,
    call.nextTargets,
    call.bLocalSeq + 1,
  )
  return [
    next,
    [
      toB(call, ack),
      ...actions.filter((a) => a._tag !== "Attempt"),
      { _tag: "SessionTimer", leg: "B", what: "retry-422" },
    ],
  ]
}

/** The B-leg INVITE never got a final response: 408 to A (§8.1.3.1, §16.7 step 6), CANCEL on B if it rang. */
const timeout = (call: Call): Step =>
  failSetup(call, 408, "Request Timeout (no answer from the destination)", [], "B-leg timeout")

/** The call fails before A had its final response: `status` to A, CANCEL to B if B has answered at all. */
const failSetup = (
  call: Call,
  status: number,
  reason: string,
  headers: ReadonlyArray<readonly [string, string]>,
  why: string,
): Step => {
  if (call.aFinal !== undefined) return [call, []]
  const toA = createResponse(call.aInvite, status, { toTag: call.aTag, reason, headers })
  if (!call.bHeard) {
    return [
      { ...call, phase: "Ended", aFinal: toA },
      [
        { _tag: "SendA", message: toA },
        { _tag: "Ended", reason: why },
      ],
    ]
  }
  return [
    { ...call, phase: "Ending", aFinal: toA },
    [{ _tag: "SendA", message: toA }, toB(call, cancelToB(call))],
  ]
}

/**
 * After the call ended, the shell keeps the actor a while (a transaction lifetime) so that
 * retransmissions still get their answers: a repeated BYE its 200, a repeated 2xx its ACK, a repeated
 * INVITE its final response.
 */
const afterEnd = (call: Call, event: CallEvent): Step => {
  if (event._tag !== "FromA" && event._tag !== "FromB") return [call, []]
  const m = event.message
  if (m.kind === "request") {
    if (m.method === "BYE") {
      const ok = createResponse(m, 200)
      return [call, [event._tag === "FromA" ? { _tag: "SendA", message: ok } : toB(call, ok)]]
    }
    if (
      event._tag === "FromA" &&
      m.method === "INVITE" &&
      m.toTag === undefined &&
      call.aFinal !== undefined
    ) {
      return [call, [{ _tag: "SendA", message: call.aFinal }]]
    }
    return [call, []]
  }
  if (
    event._tag === "FromB" &&
    m.cseq.method === "INVITE" &&
    m.status >= 200 &&
    m.status < 300 &&
    m.cseq.seq === call.bInvite.cseq.seq
  ) {
    return [call, [toB(call, ackToB(call, m))]]
  }
  return [call, []]
}

/** The negotiator refused an offer the call was relaying: the request that carried it gets the refusal. */
const mediaRefused = (call: Call, event: Extract<CallEvent, { _tag: "MediaRefused" }>): Step => {
  const { message, status, reason, headers } = event
  if (message === call.bInvite) return failSetup(call, status, reason, headers, `media refused (${status})`)
  const pending =
    call.reinvite?.relayed === message ? call.reinvite : call.relays.find((r) => r.relayed === message)
  if (pending === undefined) return [call, []]
  const refusal = createResponse(pending.received, status, { reason, headers })
  const next: Call =
    pending === call.reinvite
      ? { ...call, reinvite: undefined }
      : { ...call, relays: call.relays.filter((r) => r !== pending) }
  return [next, [pending.from === "A" ? { _tag: "SendA", message: refusal } : toB(call, refusal)]]
}

const hangUp = (call: Call, reason: string, status: number): Step => {
  if (call.phase === "Ending") return [call, []]
  if (call.phase === "Answered") return hangUpBoth(call, reason)
  return failSetup(
    call,
    status,
    `${status === 503 ? "Service Unavailable" : "Call Ended"} (${reason})`,
    [],
    reason,
  )
}

/** The answer to a relayed re-INVITE, with each leg's session timer restarted (RFC 4028). */
const answerRelayed = (call: Call, pending: NonNullable<Call["reinvite"]>, m: SipResponse): Step => {
  const refreshed = onRelayedRefresh(call, pending, m)
  const [next, actions] = answerReinvite(refreshed.call, pending, m, refreshed.headers)
  return [next, [...actions, ...refreshed.actions]]
}

export const stepCall = (call: Call, event: CallEvent): Step =>
  observeSdp(call.phase === "Ended" ? afterEnd(call, event) : stepLateOffer(call, event, stepLive))

/** The call before it ended; late offers (LateOffer.ts) have seen the event first. */
const stepLive = (call: Call, event: CallEvent): Step => {
  if (event._tag === "MediaRefused") return mediaRefused(call, event)
  if (event._tag === "HangUp") return hangUp(call, event.reason, event.status)
  if (event._tag === "TimerFired") {
    switch (event.timer) {
      case "E":
        return retransmitByes(call)
      case "A": {
        if (call.bHeard || call.phase !== "Calling") return [call, []]
        const next = call.bTimerA * 2
        return [
          { ...call, bTimerA: next },
          [toB(call, call.bInvite), { _tag: "StartTimer", timer: "A", delayMs: next }],
        ]
      }
      case "R": {
        // §13.3.1.4: the 2xx is retransmitted with T1 doubling up to T2 until the ACK, for 64*T1.
        if (call.aAcked || call.aFinal === undefined || call.aFinal.status >= 300) return [call, []]
        // "If the server retransmits the 2xx response for 64*T1 seconds without receiving an ACK, the
        // dialog is confirmed, but the session SHOULD be terminated. This is accomplished with a BYE."
        if (call.aRetransmit >= 64 * T1)
          return call.phase === "Answered"
            ? hangUpBoth(call, 'SIP;cause=408;text="no ACK for the 2xx"')
            : [call, []]
        const next = Math.min(call.aRetransmit * 2, T2)
        return [
          { ...call, aRetransmit: call.aRetransmit + next },
          [
            { _tag: "SendA", message: call.aFinal },
            { _tag: "StartTimer", timer: "R", delayMs: next },
          ],
        ]
      }
      case "P":
        return retransmitReliable(call)
      case "L":
        return [call, []] // LateOffer.ts
      case "B":
        if (call.bHeard) return [call, []]
        // RFC 3261 §17.1.1.2: Timer B ends this attempt; with targets left, the next one is tried.
        return canFailOver(call) ? failOver(call, []) : timeout(call)
      case "C":
        return call.phase === "Early" || call.phase === "Calling" ? timeout(call) : [call, []]
      case "SessionA":
        return onSessionTimer(call, "A")
      case "SessionB":
        return onSessionTimer(call, "B")
    }
  }
  const m = event.message
  if (event._tag === "FromB") {
    if (m.kind === "response") {
      const refreshed = onRefreshResponse(call, "B", m)
      if (refreshed !== undefined) return refreshed
      if (
        m.cseq.method === "INVITE" &&
        call.reinvite?.from === "A" &&
        m.cseq.seq === call.reinvite.relayed.cseq.seq
      ) {
        return answerRelayed(call, call.reinvite, m)
      }
      if (m.cseq.method === "INVITE") {
        // A late response of an earlier attempt (failover moved on): not this dialog's any more.
        if (m.cseq.seq !== call.bInvite.cseq.seq) return [call, []]
        call = call.bHeard ? call : { ...call, bHeard: true }
        if (m.status === 100) return [call, []]
        if (m.status < 200) {
          if (call.phase !== "Calling" && call.phase !== "Early") return [call, []]
          const early: Call = {
            ...call,
            phase: "Early",
            bRemoteTag: m.toTag ?? call.bRemoteTag,
            earlyMedia: call.earlyMedia || m.body.length > 0,
          }
          const rseq = reliableRSeq(m)
          if (rseq !== undefined) return onReliableProvisional(early, m, rseq)
          const toA = relayToA(call, m)
          return [{ ...early, aProvisional: toA }, [{ _tag: "SendA", message: toA }]]
        }
        if (m.status < 300) {
          const answered: Call = {
            ...call,
            phase: call.phase === "Ending" ? "Ending" : "Answered",
            bRemoteTag: m.toTag,
            bTarget: m.contacts[0]?.uri ?? call.bInvite.uri,
          }
          const ack = ackToB(answered, m)
          const next = { ...answered, sent: answered.sent + 1 }
          // A retransmission of the 2xx already handled: ACK it again, nothing more.
          if (call.bTarget !== undefined) return [next, [toB(next, ack)]]
          if (call.phase === "Ending" || call.phase === "Ended") {
            // RFC 3261 §9.1 note / the issue: a CANCEL that crossed a 200 ends in ACK + BYE on the B-leg.
            const [afterBye, bye] = requestToB(next, "BYE")
            const [withBye, byeActions] = sendBye(afterBye, "B", bye)
            return [withBye, [toB(next, ack), ...byeActions]]
          }
          if (call.aFinal !== undefined) return [next, [toB(next, ack)]] // 2xx retransmission
          // RFC 4028 §7.2/§9: each leg's session timer starts; the 2xx to A carries A's.
          const timers = onAnswered(next, m)
          const toA = relayToA(next, m, timers.toA)
          // A late offer: B's ACK waits for A's, which carries the answer (LateOffer.ts).
          const late = lateOfferIn2xx(call, m)
          return [
            {
              ...next,
              aFinal: toA,
              sessionTimer: timers.timers,
              lateAck: late
                ? awaitLateAnswer("A", call.aInvite, call.bInvite, m, next.bTarget, toA, false)
                : undefined,
            },
            [
              ...(late ? [] : [toB(next, ack)]),
              { _tag: "SendA", message: toA },
              { _tag: "StartTimer", timer: "R", delayMs: T1 },
              ...timers.actions,
            ],
          ]
        }
        // A final non-2xx on the B-leg: ACK it and relay the failure to A (unless A already had its final
        // response: after a CANCEL or a timeout, this 487 closes the B-leg and the call).
        const ack = toB(call, ackToB(call, m))
        if (call.aFinal !== undefined) {
          return [
            { ...call, phase: "Ended" },
            [ack, { _tag: "Ended", reason: `B-leg ${m.status} after the A-leg's final response` }],
          ]
        }
        if (m.status === 422) return retrySessionInterval(call, m, ackToB(call, m))
        const fail = (c: Call): Step => {
          if (canFailOver(c) && c.dest.failoverCodes.includes(m.status)) return failOver(c, [])
          const toA = m.status < 400 ? refusedRedirect(c, m) : relayToA(c, m)
          return [
            { ...c, phase: "Ended", aFinal: toA },
            [
              { _tag: "SendA", message: toA },
              { _tag: "Ended", reason: `B-leg ${m.status}` },
            ],
          ]
        }
        const retry = (c: Call, dest: BTarget) => attempt(c, dest, c.nextTargets, c.bLocalSeq + 1)
        const [next, actions] = m.status < 400 ? onRedirect(call, m, retry, fail) : fail(call)
        return [next, [ack, ...actions]]
      }
      if (m.cseq.method === "BYE" && m.status >= 200) return byeAnswered(call, "B", m)
      return relayResponse(call, "B", m)
    }
    // Requests from the callee within the B-leg dialog.
    if (m.method === "BYE") {
      const ok = createResponse(m, 200)
      // A retransmitted BYE while the call is already ending: only the 200 again (§17.2.2).
      if (call.phase === "Ending") return [call, [toB(call, ok)]]
      const [next, bye] = requestToA(call, "BYE")
      const [withBye, byeActions] = sendBye({ ...next, phase: "Ending" }, "A", bye)
      return [withBye, [toB(call, ok), ...byeActions]]
    }
    if (m.method === "ACK") return [call, []]
    if (m.method === "INVITE" || m.method === "UPDATE") {
      const local = onPeerRefresh(call, "B", m)
      if (local !== undefined) return local
    }
    if (m.method === "INVITE") return relayReinvite(call, "B", m)
    if (m.method === "REFER") return relayRefer(call, "B", m)
    if (RELAYED_METHODS.includes(m.method)) return relayRequest(call, "B", m)
    return [call, [toB(call, createResponse(m, 501))]]
  }

  // From the caller.
  if (m.kind === "response") {
    const refreshed = onRefreshResponse(call, "A", m)
    if (refreshed !== undefined) return refreshed
    if (
      m.cseq.method === "INVITE" &&
      call.reinvite?.from === "B" &&
      m.cseq.seq === call.reinvite.relayed.cseq.seq
    ) {
      return answerRelayed(call, call.reinvite, m)
    }
    if (m.cseq.method === "BYE" && m.status >= 200) return byeAnswered(call, "A", m)
    return relayResponse(call, "A", m)
  }
  if ((m.method === "INVITE" || m.method === "UPDATE") && m.toTag !== undefined) {
    const local = onPeerRefresh(call, "A", m)
    if (local !== undefined) return local
  }
  if (m.toTag !== undefined && m.method === "REFER") return relayRefer(call, "A", m)
  if (RELAYED_METHODS.includes(m.method) && m.toTag !== undefined) return relayRequest(call, "A", m)
  switch (m.method) {
    case "PRACK":
      return onPrackFromA(call, m)
    case "INVITE":
      // A retransmission of the initial INVITE (§17.2.1, §13.3.1.4): the final response again, or the
      // most recent provisional one while there is none.
      if (m.toTag === undefined) {
        const last = call.aFinal ?? call.aProvisional
        return [call, last === undefined ? [] : [{ _tag: "SendA", message: last }]]
      }
      return relayReinvite(call, "A", m)
    case "ACK":
      return call.aAcked ? [call, []] : [{ ...call, aAcked: true }, []]
    case "CANCEL": {
      // RFC 3261 §9.2: 200 to the CANCEL, 487 to the INVITE; CANCEL the B-leg INVITE with its branch (§9.1).
      const ok = createResponse(m, 200)
      if (call.aFinal !== undefined) return [call, [{ _tag: "SendA", message: ok }]]
      const terminated = createResponse(call.aInvite, 487, { toTag: call.aTag })
      const cancel = cancelToB(call)
      return [
        { ...call, phase: "Ending", aFinal: terminated },
        [{ _tag: "SendA", message: ok }, { _tag: "SendA", message: terminated }, toB(call, cancel)],
      ]
    }
    case "BYE": {
      const ok = createResponse(m, 200)
      // A BYE shows the caller has the 2xx: its retransmission stops (RFC 3261 §13.3.1.4).
      call = call.aAcked ? call : { ...call, aAcked: true }
      if (call.phase === "Ending") return [call, [{ _tag: "SendA", message: ok }]]
      if (call.bRemoteTag === undefined || call.phase !== "Answered") {
        return [
          { ...call, phase: "Ended" },
          [
            { _tag: "SendA", message: ok },
            { _tag: "Ended", reason: "BYE before answer" },
          ],
        ]
      }
      const [next, bye] = requestToB(call, "BYE")
      const [withBye, byeActions] = sendBye({ ...next, phase: "Ending" }, "B", bye)
      return [withBye, [{ _tag: "SendA", message: ok }, ...byeActions]]
    }
    default:
      return [
        call,
        [
          {
            _tag: "SendA",
            message: createResponse(m, 501),
          },
        ],
      ]
  }
}
