/**
 * What a call is: its phases, identity, targets, the state the machine keeps, its events and actions,
 * and the RFC 3261 timer values it runs on. Types only (and constants): the machine is in Call.ts.
 */
import type { Owner, RedirectPolicy, ReferPolicy } from "@b2bua/contracts"
import type { ReliableSender, SipRequest, SipResponse } from "@b2bua/sip"
import type { SessionTimerOutcome, SessionTimers } from "./SessionTimer.js"

export type CallPhase = "Calling" | "Early" | "Answered" | "Ending" | "Ended"

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface CallIdentity {
  /** The owner written into every tag and branch this call generates. */
  readonly owner: Owner
  /** Per-call randomness (letters/digits): tags, the B-leg Call-ID and branch prefixes derive from it. */
  readonly random: string
  /** host:port of the edge listener, for the suite's Via and Contact on both legs. */
  readonly local: HostPort
}

/**
 * One place the B-leg INVITE may go: a resolved gateway of a trunk, with what that trunk wants (its
 * numbers, which identity headers it gets) and when to give up on it for the next one (failover).
 */
export interface BTarget {
  readonly trunk: string
  readonly host: string
  readonly port: number
  readonly transport: "udp" | "tcp"
  /** User parts of the B-leg Request-URI/To and From, after the trunks' number rules. */
  readonly called: string
  readonly caller: string
  /** Final responses from this target that move the call to the next one. */
  readonly failoverCodes: ReadonlyArray<number>
  /** No response at all within this time moves the call to the next target (Timer B when it is the last). */
  readonly noAnswerMs: number
  /** Headers (lower-case names) not passed to this target. */
  readonly drop: ReadonlyArray<string>
  /** A registered contact's URI (RFC 3261 §10): the B-leg Request-URI, sent to host:port (its real source). */
  readonly contactUri?: string | undefined
  /** What a 3xx from this target does (Redirect.ts); absent: refuse. */
  readonly redirects?: RedirectPolicy | undefined
  /** Whether a REFER from this target's side is relayed to A (Refer.ts); absent: refuse. */
  readonly refer?: ReferPolicy | undefined
}

export interface Call {
  readonly phase: CallPhase
  readonly id: CallIdentity
  readonly aInvite: SipRequest
  /** The suite's tag on the A-leg (To-tag of its responses). */
  readonly aTag: string
  /** The caller's Contact: where in-dialog requests to A go. */
  readonly aTarget: string
  readonly aLocalSeq: number
  readonly aFinal: SipResponse | undefined
  /** The last provisional response sent to A: a retransmitted INVITE gets it again (RFC 3261 §17.2.1). */
  readonly aProvisional: SipResponse | undefined
  /** Whether A has ACKed the 2xx; until then the 2xx is retransmitted (RFC 3261 §13.3.1.4). */
  readonly aAcked: boolean
  /** The current interval of that retransmission. */
  readonly aRetransmit: number
  readonly bCallId: string
  readonly bFromTag: string
  readonly bInvite: SipRequest
  /** Where the current B-leg INVITE went, and where failover goes next, in order. */
  readonly dest: BTarget
  readonly nextTargets: ReadonlyArray<BTarget>
  /** Whether a provisional response with a body (early media) was relayed to A: no failover after it. */
  readonly earlyMedia: boolean
  readonly bRemoteTag: string | undefined
  readonly bTarget: string | undefined
  readonly bLocalSeq: number
  /** Whether the B-leg has answered anything yet (a provisional stops INVITE retransmissions). */
  readonly bHeard: boolean
  /** The current Timer A interval of the B-leg INVITE (RFC 3261 §17.1.1.2). */
  readonly bTimerA: number
  /** The suite's own BYE awaiting its final response, retransmitted over UDP with Timer E (§17.1.2.2). */
  readonly byes: ReadonlyArray<PendingBye>
  /** A re-INVITE being relayed (RFC 3261 §14): received on one leg, sent on the other. */
  readonly reinvite: PendingReinvite | undefined
  /** In-dialog non-INVITE requests (UPDATE, INFO, NOTIFY ...) relayed and awaiting their final response. */
  readonly relays: ReadonlyArray<PendingReinvite>
  /** RFC 3262 on the A-leg: the last RSeq the suite used, and the reliable provisional awaiting A's PRACK. */
  readonly aRSeq: number
  readonly reliable: PendingReliable | undefined
  /** RFC 3262 on the B-leg: the last RSeq accepted from B, and the PRACK the suite sent itself for it. */
  readonly bRSeq: number | undefined
  readonly bOwnPrack: SipRequest | undefined
  /** A late offer (offer in a 2xx, answer in the ACK) whose ACK is relayed (LateOffer.ts). */
  readonly lateAck: PendingLateAck | undefined
  /** Session timers (RFC 4028) of each leg: SessionTimer.ts. */
  readonly sessionTimer: SessionTimers
  /** Requests sent so far (makes each branch unique). */
  readonly sent: number
  /** 3xx redirections followed so far (Redirect.ts bounds them). */
  readonly redirected?: number | undefined
  /** Whether a REFER from the caller's side is relayed to B: the inbound trunk's policy; absent: refuse. */
  readonly aRefer?: ReferPolicy | undefined
}

export interface PendingBye {
  readonly side: "A" | "B"
  readonly request: SipRequest
  readonly interval: number
  readonly elapsed: number
}

/** A reliable provisional relayed to A (its retransmission state) for B's reliable provisional `bRSeq`. */
export interface PendingReliable {
  readonly sender: ReliableSender<SipResponse>
  readonly bRSeq: number
}

export interface PendingReinvite {
  readonly from: "A" | "B"
  readonly received: SipRequest
  readonly relayed: SipRequest
}

/**
 * An INVITE or re-INVITE without SDP relayed from `from`: the other leg's 2xx carried the offer and was
 * relayed to `from`; the other leg's ACK waits for `from`'s ACK, which carries the answer (RFC 3264 §5,
 * RFC 3261 §13.2.1).
 */
export interface PendingLateAck {
  readonly from: "A" | "B"
  /** The INVITE `from` sent (its ACK has the same CSeq number, §17.1.1.3). */
  readonly request: SipRequest
  /** The suite's INVITE on the other leg, the 2xx with the offer it got, and where the ACK goes. */
  readonly invite: SipRequest
  readonly response: SipResponse
  readonly remoteTarget: string | undefined
  /** The 2xx sent to `from`, with the (anchored) offer. */
  readonly relayed: SipResponse
  /** Its retransmission (§13.3.1.4) when the call's Timer R does not already do it (re-INVITEs: Timer L). */
  readonly retransmit: { readonly interval: number; readonly elapsed: number } | undefined
  /** The ACK sent on the other leg once the answer came, sent again for each retransmitted 2xx. */
  readonly ack: SipRequest | undefined
}

/**
 * INVITE client A/B/C, BYE retransmission E, 2xx retransmission R, reliable provisional P (RFC 3262 §3),
 * L: the 2xx with a late offer to a re-INVITE, retransmitted until its ACK (§13.3.1.4), and each leg's
 * session timer (RFC 4028 §10: refresh, its retransmission, or expiry).
 */
export type CallTimer = "A" | "B" | "C" | "E" | "R" | "P" | "L" | "SessionA" | "SessionB"

export type CallEvent =
  | { readonly _tag: "FromA"; readonly message: SipRequest | SipResponse }
  | { readonly _tag: "FromB"; readonly message: SipRequest | SipResponse }
  | { readonly _tag: "TimerFired"; readonly timer: CallTimer }
  /** The SDP negotiator refused the SDP of `message` (which the call was about to send): 488 or 503. */
  | {
      readonly _tag: "MediaRefused"
      readonly message: SipRequest | SipResponse
      readonly status: number
      readonly reason: string
      readonly headers: ReadonlyArray<readonly [string, string]>
    }
  /**
   * The suite ends the call itself (media lost, session expired, an operator): BYE on both legs with
   * `reason` as the Reason header (RFC 3326); before the answer, `status` to A and CANCEL to B.
   */
  | { readonly _tag: "HangUp"; readonly reason: string; readonly status: number }

export type CallAction =
  | { readonly _tag: "SendA"; readonly message: SipRequest | SipResponse }
  | {
      readonly _tag: "SendB"
      readonly message: SipRequest | SipResponse
      readonly to: HostPort
      readonly transport: "udp" | "tcp"
    }
  | { readonly _tag: "StartTimer"; readonly timer: CallTimer; readonly delayMs: number }
  | { readonly _tag: "Ended"; readonly reason: string }
  /** A B-leg attempt starts towards a trunk (the shell counts the trunk's calls). */
  | { readonly _tag: "Attempt"; readonly trunk: string }
  /** What a leg's session timer did (the shell logs and counts it). */
  | { readonly _tag: "SessionTimer"; readonly leg: "A" | "B"; readonly what: SessionTimerOutcome }

/** RFC 3261 §17.1.1.1 T1, and the INVITE timers the call runs on its B-leg: Timer B = 64*T1 (no answer at
 * all), Timer C > 3 minutes (§16.6 step 11: a provisional but no final response). */
export const T1 = 500
export const TIMER_B = 64 * T1
export const TIMER_C = 181_000
/** T2 caps the retransmission intervals (RFC 3261 §17.1.2.2, §13.3.1.4). */
export const T2 = 4000

export type Step = readonly [Call, ReadonlyArray<CallAction>]
