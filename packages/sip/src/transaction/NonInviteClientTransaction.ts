/** Non-INVITE client transaction (RFC 3261 §17.1.2, Figure 6). Pure. */

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

export type NonInviteClientState = "Trying" | "Proceeding" | "Completed" | "Terminated"

export interface NonInviteClientTransaction<M> {
  readonly state: NonInviteClientState
  readonly request: M
  readonly reliable: boolean
  readonly timers: TimerConfig
  readonly timerE: number
}

export type NonInviteClientEvent<M> =
  | { readonly _tag: "Start" }
  | { readonly _tag: "ResponseReceived"; readonly status: number; readonly response: M }
  | { readonly _tag: "TimerFired"; readonly timer: "E" | "F" | "K" }
  | { readonly _tag: "TransportError" }

export const createNonInviteClient = <M>(
  request: M,
  reliable: boolean,
  timers: TimerConfig,
): NonInviteClientTransaction<M> => ({ state: "Trying", request, reliable, timers, timerE: timers.T1 })

export const stepNonInviteClient = <M>(
  tx: NonInviteClientTransaction<M>,
  event: NonInviteClientEvent<M>,
): Step<NonInviteClientTransaction<M>, M> => {
  const to = (
    state: NonInviteClientState,
    effects: ReadonlyArray<TransactionEffect<M>>,
  ): Step<NonInviteClientTransaction<M>, M> => [{ ...tx, state }, effects]
  switch (event._tag) {
    case "Start":
      if (tx.state !== "Trying") return [tx, []]
      // §17.1.2.2: "timer F MUST be set to fire in 64*T1 seconds"; timer E at T1 for unreliable transports.
      return [
        tx,
        tx.reliable
          ? [send(tx.request), startTimer("F", transactionTimeout(tx.timers))]
          : [send(tx.request), startTimer("E", tx.timerE), startTimer("F", transactionTimeout(tx.timers))],
      ]

    case "TimerFired":
      switch (event.timer) {
        case "E": {
          // §17.1.2.2: in Trying, E is reset to MIN(2*T1_prev, T2); in Proceeding, to T2.
          if (tx.state !== "Trying" && tx.state !== "Proceeding") return [tx, []]
          const next = tx.state === "Trying" ? Math.min(tx.timerE * 2, tx.timers.T2) : tx.timers.T2
          return [{ ...tx, timerE: next }, [send(tx.request), startTimer("E", next)]]
        }
        case "F":
          // §17.1.2.2: "If Timer F fires while the client transaction is still in the Trying or Proceeding
          // state, the client transaction SHOULD inform the TU about the timeout".
          if (tx.state !== "Trying" && tx.state !== "Proceeding") return [tx, []]
          return to("Terminated", [cancelTimer("E"), { _tag: "Timeout", timer: "F" }, terminated()])
        case "K":
          return tx.state === "Completed" ? to("Terminated", [terminated()]) : [tx, []]
      }
      return [tx, []]

    case "ResponseReceived": {
      if (tx.state !== "Trying" && tx.state !== "Proceeding") return [tx, []] // §17.1.2.2: absorbed in Completed
      if (event.status < 200) return to("Proceeding", [passToTu(event.response)])
      // §17.1.2.2: a final response moves to Completed and starts Timer K: T4 unreliable, zero reliable.
      return to("Completed", [
        cancelTimer("E"),
        cancelTimer("F"),
        passToTu(event.response),
        startTimer("K", tx.reliable ? 0 : tx.timers.T4),
      ])
    }

    case "TransportError":
      if (tx.state === "Terminated") return [tx, []]
      return to("Terminated", [cancelTimer("E"), cancelTimer("F"), { _tag: "TransportError" }, terminated()])
    default:
      // Events of another kind of transaction (a misrouted message) change nothing.
      return [tx, []]
  }
}
