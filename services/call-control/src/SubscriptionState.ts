/**
 * What a bridged subscription is (RFC 6665): its phases, the two dialogs the suite holds — the A-leg,
 * where the suite is the notifier facing the subscriber (UAS of the SUBSCRIBE), and the B-leg, where it
 * is the subscriber facing the notifier (UAC) — the transactions in flight, its events and actions.
 * Types and constants only: the machine is in Subscription.ts.
 */
import type { NonInviteClientTransaction, SipRequest, SipResponse } from "@b2bua/sip"
import type { BTarget, CallIdentity, HostPort } from "./CallState.js"

/**
 * `Subscribing`: the initial SUBSCRIBE is on its way to B (a NOTIFY may already have created both
 * dialogs, RFC 6665 §4.1.2.4). `Active`: A has its 2xx. `Terminating`: the subscription is over and its
 * last NOTIFY (`terminated`) is on its way to A. `Ended`: both dialogs are gone; the shell keeps the value
 * a while to answer retransmissions.
 */
export type SubscriptionPhase = "Subscribing" | "Active" | "Terminating" | "Ended"

/** A request the suite sent on one leg, its RFC 3261 §17.1.2 client transaction, and why it was sent. */
export interface ClientRelay {
  /** Numbers the transaction's timers (`E3`, `F3`). */
  readonly id: number
  readonly to: "A" | "B"
  readonly request: SipRequest
  readonly tx: NonInviteClientTransaction<SipRequest | SipResponse>
  /** The request received on the other leg that this one relays; absent for the suite's own NOTIFY. */
  readonly received: SipRequest | undefined
}

/** A request received on one leg: in progress (no response yet) or answered (its response kept). */
export interface ServerRecord {
  readonly from: "A" | "B"
  readonly method: string
  readonly seq: number
  readonly response: SipResponse | undefined
}

export interface Subscription {
  readonly phase: SubscriptionPhase
  readonly id: CallIdentity
  /** The subscriber's initial SUBSCRIBE (A-leg). */
  readonly aSubscribe: SipRequest
  /** The suite's tag on the A-leg: To-tag of its responses, From-tag of its NOTIFYs. */
  readonly aTag: string
  /** The subscriber's Contact: where NOTIFYs go (a refresh may change it, RFC 6665 §4.1.2.2). */
  readonly aTarget: string
  /** Whether A's transport is reliable (no Timer E towards A, RFC 3261 §17.1.2.2). */
  readonly aReliable: boolean
  readonly aRemoteSeq: number
  readonly aLocalSeq: number
  /** The final response the suite sent to A's initial SUBSCRIBE (resent to its retransmissions). */
  readonly aFinal: SipResponse | undefined
  readonly bCallId: string
  readonly bFromTag: string
  /** The initial SUBSCRIBE of the current B-leg attempt. */
  readonly bSubscribe: SipRequest
  readonly dest: BTarget
  readonly nextTargets: ReadonlyArray<BTarget>
  /** The notifier's tag, from its 2xx or its first NOTIFY (whichever came first). */
  readonly bRemoteTag: string | undefined
  /** The notifier's Contact (target refreshed by each NOTIFY and 2xx). */
  readonly bTarget: string | undefined
  readonly bRemoteSeq: number | undefined
  readonly bLocalSeq: number
  /** When the subscription lapses without a refresh (ms since the epoch, from the events' clock). */
  readonly expiresAt: number | undefined
  /** Client transactions in flight (requests the suite sent on either leg). */
  readonly clients: ReadonlyArray<ClientRelay>
  /** Requests received recently on either leg, for absorbing their retransmissions (RFC 3261 §17.2.2). */
  readonly servers: ReadonlyArray<ServerRecord>
  /** Transactions started so far (numbers the next one's timers). */
  readonly txCount: number
  /** Requests sent so far (makes each branch unique). */
  readonly sent: number
}

/** The subscription's lapse, and each client transaction's Timer E (retransmit) and F (give up). */
export type SubscriptionTimer = "Expires" | `E${number}` | `F${number}`

/** Every event carries the clock reading at which it happened: expiry is computed from it. */
export type SubscriptionEvent =
  | { readonly _tag: "FromA"; readonly message: SipRequest | SipResponse; readonly at: number }
  | { readonly _tag: "FromB"; readonly message: SipRequest | SipResponse; readonly at: number }
  | { readonly _tag: "TimerFired"; readonly timer: SubscriptionTimer; readonly at: number }

export type SubscriptionAction =
  | { readonly _tag: "SendA"; readonly message: SipRequest | SipResponse }
  | {
      readonly _tag: "SendB"
      readonly message: SipRequest | SipResponse
      readonly to: HostPort
      readonly transport: "udp" | "tcp"
    }
  | { readonly _tag: "StartTimer"; readonly timer: SubscriptionTimer; readonly delayMs: number }
  | { readonly _tag: "CancelTimer"; readonly timer: SubscriptionTimer }
  /** Both dialogs are over (the shell releases the claim, forgets the stored record, lingers). */
  | { readonly _tag: "Ended"; readonly reason: string }

export type SubscriptionStep = readonly [Subscription, ReadonlyArray<SubscriptionAction>]

/** RFC 6665 §4.1.2.1: without Expires the event package's default applies; 3600 s is the common one. */
export const DEFAULT_EXPIRES_S = 3600
/**
 * After an unsubscribe (Expires: 0) or a fetch, the notifier's last NOTIFY (`terminated`) is awaited this
 * long (64*T1, a transaction's lifetime) before the suite ends the subscription itself.
 */
export const FINAL_NOTIFY_WAIT_MS = 32_000
/** Client transactions in flight per subscription; beyond it a request is answered 500 + Retry-After. */
export const MAX_IN_FLIGHT = 8
/** Answered requests remembered per subscription for retransmission absorption. */
export const MAX_REMEMBERED = 16
