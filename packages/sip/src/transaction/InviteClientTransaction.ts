/**
 * INVITE client transaction (RFC 3261 §17.1.1, Figure 5, as updated by RFC 6026 §8.4 with the Accepted
 * state). Pure: `step(state, event) → [state, effects]`.
 */

import { type TimerConfig, transactionTimeout } from "./Timers.js"
import {
  cancelTimer,
  passToTu,
  type Step,
  send,
  startTimer,
  type TransactionEffect,
  terminated,
} from "./TransactionEffect.js"

export type InviteClientState = "Calling" | "Proceeding" | "Completed" | "Accepted" | "Terminated"

export interface InviteClientTransaction<M> {
  readonly state: InviteClientState
  readonly request: M
  readonly reliable: boolean
  readonly timers: TimerConfig
  /** The current Timer A interval (doubles on each retransmission). */
  readonly timerA: number
}

export type InviteClientEvent<M> =
  | { readonly _tag: "Start" }
  | { readonly _tag: "ResponseReceived"; readonly status: number; readonly response: M }
  | { readonly _tag: "TimerFired"; readonly timer: "A" | "B" | "D" | "M" }
  | { readonly _tag: "TransportError" }

export const createInviteClient = <M>(
  request: M,
  reliable: boolean,
  timers: TimerConfig,
): InviteClientTransaction<M> => ({
  state: "Calling",
  request,
  reliable,
  timers,
  timerA: timers.T1,
})

export const stepInviteClient = <M>(
  tx: InviteClientTransaction<M>,
  event: InviteClientEvent<M>,
): Step<InviteClientTransaction<M>, M> => {
  const to = (
    state: InviteClientState,
    effects: ReadonlyArray<TransactionEffect<M>>,
  ): Step<InviteClientTransaction<M>, M> => [{ ...tx, state }, effects]
  switch (event._tag) {
    case "Start":
      if (tx.state !== "Calling") return [tx, []]
      // §17.1.1.2: "the client transaction MUST start timer A with a value of T1" (unreliable only) and
      // "MUST set timer B to a value of 64*T1 seconds".
      return [
        tx,
        tx.reliable
          ? [send(tx.request), startTimer("B", transactionTimeout(tx.timers))]
          : [send(tx.request), startTimer("A", tx.timerA), startTimer("B", transactionTimeout(tx.timers))],
      ]

    case "TimerFired":
      switch (event.timer) {
        case "A": {
          // §17.1.1.2: "When timer A fires, the client transaction MUST retransmit the request … and
          // reset the timer with a value of 2*T1." Only while Calling.
          if (tx.state !== "Calling") return [tx, []]
          const next = tx.timerA * 2
          return [{ ...tx, timerA: next }, [send(tx.request), startTimer("A", next)]]
        }
        case "B":
          // §17.1.1.2: "If the client transaction is still in the Calling state when timer B fires, the
          // client transaction SHOULD inform the TU that a timeout has occurred."
          if (tx.state !== "Calling") return [tx, []]
          return to("Terminated", [cancelTimer("A"), { _tag: "Timeout", timer: "B" }, terminated()])
        case "D":
          // §17.1.1.2: "If timer D fires while the client transaction is in the Completed state, the
          // client transaction MUST move to the terminated state."
          return tx.state === "Completed" ? to("Terminated", [terminated()]) : [tx, []]
        case "M":
          // RFC 6026 §8.4: "If Timer M fires while the client transaction is in the Accepted state, the
          // client transaction MUST move to the Terminated state."
          return tx.state === "Accepted" ? to("Terminated", [terminated()]) : [tx, []]
      }
      return [tx, []]

    case "ResponseReceived": {
      const { status, response } = event
      switch (tx.state) {
        case "Calling":
        case "Proceeding":
          if (status < 200) {
            // §17.1.1.2: a provisional response moves Calling to Proceeding, stops retransmissions and is
            // passed to the TU; further provisionals are passed up too.
            return to(
              "Proceeding",
              tx.state === "Calling" ? [cancelTimer("A"), passToTu(response)] : [passToTu(response)],
            )
          }
          if (status < 300) {
            // RFC 6026 §8.4: "a 2xx response MUST be passed up to the TU … the client transaction MUST
            // transition to the Accepted state, and Timer M MUST be started with a value of 64*T1."
            return to("Accepted", [
              cancelTimer("A"),
              cancelTimer("B"),
              passToTu(response),
              startTimer("M", transactionTimeout(tx.timers)),
            ])
          }
          // §17.1.1.2: a 300-699 response moves to Completed: pass it up, generate an ACK, start Timer D
          // ("at least 32 seconds for unreliable transports, and … zero seconds for reliable").
          return to("Completed", [
            cancelTimer("A"),
            cancelTimer("B"),
            passToTu(response),
            { _tag: "SendAck", response },
            startTimer("D", tx.reliable ? 0 : tx.timers.timerD),
          ])
        case "Completed":
          // §17.1.1.2: "Any retransmissions of the final response … MUST cause the ACK to be re-passed to
          // the transport layer for retransmission, but the newly received response MUST NOT be passed up."
          return status >= 300 ? [tx, [{ _tag: "SendAck", response }]] : [tx, []]
        case "Accepted":
          // RFC 6026 §8.4: "any 2xx responses that match this client transaction … MUST be passed up to
          // the TU" (so it re-sends the ACK); other responses are discarded.
          return status >= 200 && status < 300 ? [tx, [passToTu(response)]] : [tx, []]
        case "Terminated":
          return [tx, []]
      }
      return [tx, []]
    }

    case "TransportError":
      // §17.1.4: the TU is informed, the transaction goes directly to Terminated.
      if (tx.state === "Terminated") return [tx, []]
      return to("Terminated", [cancelTimer("A"), cancelTimer("B"), { _tag: "TransportError" }, terminated()])
    default:
      // Events of another kind of transaction (a misrouted message) change nothing.
      return [tx, []]
  }
}
