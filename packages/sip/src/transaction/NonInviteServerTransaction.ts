/** Non-INVITE server transaction (RFC 3261 §17.2.2, Figure 8). Pure. */

import { type TimerConfig, transactionTimeout } from "./Timers.js"
import {
  passToTu,
  type Step,
  send,
  startTimer,
  type TransactionEffect,
  terminated,
} from "./TransactionEffect.js"

export type NonInviteServerState = "Trying" | "Proceeding" | "Completed" | "Terminated"

export interface NonInviteServerTransaction<M> {
  readonly state: NonInviteServerState
  readonly request: M
  readonly reliable: boolean
  readonly timers: TimerConfig
  readonly lastResponse: M | undefined
}

export type NonInviteServerEvent<M> =
  | { readonly _tag: "Start" }
  | { readonly _tag: "RequestReceived" }
  | { readonly _tag: "TuResponse"; readonly status: number; readonly response: M }
  | { readonly _tag: "TimerFired"; readonly timer: "J" }
  | { readonly _tag: "TransportError" }

export const createNonInviteServer = <M>(
  request: M,
  reliable: boolean,
  timers: TimerConfig,
): NonInviteServerTransaction<M> => ({ state: "Trying", request, reliable, timers, lastResponse: undefined })

export const stepNonInviteServer = <M>(
  tx: NonInviteServerTransaction<M>,
  event: NonInviteServerEvent<M>,
): Step<NonInviteServerTransaction<M>, M> => {
  const to = (
    state: NonInviteServerState,
    effects: ReadonlyArray<TransactionEffect<M>>,
    lastResponse = tx.lastResponse,
  ): Step<NonInviteServerTransaction<M>, M> => [{ ...tx, state, lastResponse }, effects]
  switch (event._tag) {
    case "Start":
      return [tx, [passToTu(tx.request)]]

    case "RequestReceived":
      // §17.2.2: retransmissions are absorbed in Trying; in Proceeding and Completed the last response
      // is sent again.
      if ((tx.state === "Proceeding" || tx.state === "Completed") && tx.lastResponse !== undefined) {
        return [tx, [send(tx.lastResponse)]]
      }
      return [tx, []]

    case "TuResponse":
      if (tx.state !== "Trying" && tx.state !== "Proceeding") return [tx, []] // §17.2.2: final already sent
      if (event.status < 200) return to("Proceeding", [send(event.response)], event.response)
      // §17.2.2: a final response moves to Completed; Timer J is 64*T1 unreliable, zero reliable.
      return to(
        "Completed",
        [send(event.response), startTimer("J", tx.reliable ? 0 : transactionTimeout(tx.timers))],
        event.response,
      )

    case "TimerFired":
      return tx.state === "Completed" ? to("Terminated", [terminated()]) : [tx, []]

    case "TransportError":
      if (tx.state === "Terminated") return [tx, []]
      return to("Terminated", [{ _tag: "TransportError" }, terminated()])
    default:
      // Events of another kind of transaction (a misrouted message) change nothing.
      return [tx, []]
  }
}
