/**
 * What a takeover needs beyond the call itself, pure: when the call's record must be rewritten, the
 * deadlines of its running timers (absolute wall-clock times, stored with the record), and the timers a
 * new owner arms from them. No store, no clock: the shell passes `now`.
 *
 * The record is written *before* the step's actions are performed (write-ahead): whatever a peer has seen
 * of a state, the store has that state too, so a survivor that restores the record never answers from an
 * older state than the one the dead owner acted on (see docs/architecture.md, "Owning a call").
 */
import type { Call, CallAction, CallTimer } from "./CallState.js"

/** When each running timer of a call fires, as epoch milliseconds (the last start of each timer). */
export type Deadlines = Readonly<Partial<Record<CallTimer, number>>>

/**
 * Whether a step changed what a survivor needs to continue the call: the dialogs (phase, remote tag,
 * CSeqs, remote target), the B-leg INVITE (a failover to the next target), the final response to A and
 * its ACK, early media (no failover after it), and RFC 3262 state (RSeqs, the reliable provisional
 * awaiting A's PRACK, the suite's own PRACK to B). Retransmission counters and intervals are left out:
 * a survivor restarts them.
 */
export const recordChanged = (before: Call, after: Call): boolean =>
  before.phase !== after.phase ||
  before.bRemoteTag !== after.bRemoteTag ||
  before.bTarget !== after.bTarget ||
  before.aLocalSeq !== after.aLocalSeq ||
  before.bLocalSeq !== after.bLocalSeq ||
  before.bInvite !== after.bInvite ||
  before.aFinal !== after.aFinal ||
  before.aProvisional !== after.aProvisional ||
  before.aAcked !== after.aAcked ||
  before.earlyMedia !== after.earlyMedia ||
  before.aRSeq !== after.aRSeq ||
  before.bRSeq !== after.bRSeq ||
  before.bOwnPrack !== after.bOwnPrack ||
  before.reliable?.sender.response !== after.reliable?.sender.response

/** Every timer name (a Record, so that a timer added to CallTimer must be added here: tsc says so). */
const TIMERS: Readonly<Record<CallTimer, true>> = {
  A: true,
  B: true,
  C: true,
  E: true,
  R: true,
  P: true,
  L: true,
  SessionA: true,
  SessionB: true,
}

export const isCallTimer = (name: string): name is CallTimer => Object.hasOwn(TIMERS, name)

/** The deadlines after a step: each timer the step starts fires `delayMs` from `now`. */
export const noteDeadlines = (
  deadlines: Deadlines,
  actions: ReadonlyArray<CallAction>,
  now: number,
): Deadlines => {
  let next = deadlines
  for (const action of actions)
    if (action._tag === "StartTimer") next = { ...next, [action.timer]: now + action.delayMs }
  return next
}

/**
 * The timers a new owner arms for a restored call: every stored timer at its deadline, at once when the
 * deadline passed while no instance owned the call. The machine ignores a timer that no longer applies
 * (Timer A once B answered, Timer C after the answer, R after the ACK), so re-arming all of them is safe,
 * and a passed retransmission timer (A for the B-leg INVITE, R for the 2xx to A, P for a reliable
 * provisional) fires at once: the dead owner's retransmissions stopped with it.
 */
export const resumeTimers = (deadlines: Deadlines, now: number): ReadonlyArray<CallAction> =>
  Object.entries(deadlines).flatMap(
    ([timer, at]): ReadonlyArray<CallAction> =>
      at === undefined || !isCallTimer(timer)
        ? []
        : [{ _tag: "StartTimer", timer, delayMs: Math.max(0, at - now) }],
  )
