/**
 * INVITE server transaction (RFC 3261 §17.2.1, Figure 7, as updated by RFC 6026 §8.5–8.7 with the
 * Accepted state). Pure. The TU sends responses through `TuResponse`; retransmitted INVITEs and ACKs
 * arrive as `RequestReceived` / `AckReceived`.
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

export type InviteServerState = "Proceeding" | "Completed" | "Confirmed" | "Accepted" | "Terminated"

export interface InviteServerTransaction<M> {
  readonly state: InviteServerState
  readonly request: M
  readonly reliable: boolean
  readonly timers: TimerConfig
  /** The most recent response sent, retransmitted on request retransmissions. */
  readonly lastResponse: M | undefined
  readonly timerG: number
}

export type InviteServerEvent<M> =
  | { readonly _tag: "Start" }
  | { readonly _tag: "RequestReceived" }
  | { readonly _tag: "AckReceived"; readonly ack: M }
  | { readonly _tag: "TuResponse"; readonly status: number; readonly response: M }
  | { readonly _tag: "TimerFired"; readonly timer: "G" | "H" | "I" | "L" }
  | { readonly _tag: "TransportError" }

export const createInviteServer = <M>(
  request: M,
  reliable: boolean,
  timers: TimerConfig,
): InviteServerTransaction<M> => ({
  state: "Proceeding",
  request,
  reliable,
  timers,
  lastResponse: undefined,
  timerG: timers.T1,
})

export const stepInviteServer = <M>(
  tx: InviteServerTransaction<M>,
  event: InviteServerEvent<M>,
): Step<InviteServerTransaction<M>, M> => {
  const to = (
    state: InviteServerState,
    effects: ReadonlyArray<TransactionEffect<M>>,
    patch: Partial<InviteServerTransaction<M>> = {},
  ): Step<InviteServerTransaction<M>, M> => [{ ...tx, ...patch, state }, effects]
  switch (event._tag) {
    case "Start":
      // §17.2.1: "the request MUST be passed to the TU". The TU (not the machine) sends 100 Trying at once.
      return [tx, [passToTu(tx.request)]]

    case "RequestReceived":
      // §17.2.1: a retransmitted INVITE in Proceeding gets the most recent provisional response; in
      // Completed, the final response again. RFC 6026 §8.7: absorbed in Accepted (and in Confirmed).
      if ((tx.state === "Proceeding" || tx.state === "Completed") && tx.lastResponse !== undefined) {
        return [tx, [send(tx.lastResponse)]]
      }
      return [tx, []]

    case "TuResponse": {
      const { status, response } = event
      if (tx.state === "Proceeding") {
        if (status < 200) return to("Proceeding", [send(response)], { lastResponse: response })
        if (status < 300) {
          // RFC 6026 §8.5: a 2xx from the TU is sent, the transaction enters Accepted and starts Timer L.
          return to("Accepted", [send(response), startTimer("L", transactionTimeout(tx.timers))], {
            lastResponse: response,
          })
        }
        // §17.2.1: a 300-699 moves to Completed; Timer G (unreliable only) and Timer H (64*T1).
        const effects: TransactionEffect<M>[] = [send(response)]
        if (!tx.reliable) effects.push(startTimer("G", tx.timerG))
        effects.push(startTimer("H", transactionTimeout(tx.timers)))
        return to("Completed", effects, { lastResponse: response })
      }
      // RFC 6026 §8.6: in Accepted, the TU's retransmissions of the 2xx are passed to the transport.
      if (tx.state === "Accepted" && status >= 200 && status < 300) return [tx, [send(response)]]
      return [tx, []]
    }

    case "AckReceived":
      // §17.2.1: "If an ACK is received while the server transaction is in the Completed state, the
      // server transaction MUST transition to the Confirmed state" and start Timer I (T4 / zero).
      if (tx.state === "Completed") {
        return to("Confirmed", [
          cancelTimer("G"),
          cancelTimer("H"),
          startTimer("I", tx.reliable ? 0 : tx.timers.T4),
        ])
      }
      // RFC 6026 §8.7: an ACK matching the transaction in Accepted is passed to the TU.
      if (tx.state === "Accepted") return [tx, [passToTu(event.ack)]]
      return [tx, []]

    case "TimerFired":
      switch (event.timer) {
        case "G": {
          // §17.2.1: retransmit the response and reset G to MIN(2*T1_prev, T2).
          if (tx.state !== "Completed" || tx.lastResponse === undefined) return [tx, []]
          const next = Math.min(tx.timerG * 2, tx.timers.T2)
          return [{ ...tx, timerG: next }, [send(tx.lastResponse), startTimer("G", next)]]
        }
        case "H":
          // §17.2.1: "If timer H fires while in the Completed state, it implies that the ACK was never
          // received … the server transaction MUST transition to the Terminated state, and MUST indicate
          // to the TU that a transaction failure has occurred."
          if (tx.state !== "Completed") return [tx, []]
          return to("Terminated", [cancelTimer("G"), { _tag: "Timeout", timer: "H" }, terminated()])
        case "I":
          return tx.state === "Confirmed" ? to("Terminated", [terminated()]) : [tx, []]
        case "L":
          return tx.state === "Accepted" ? to("Terminated", [terminated()]) : [tx, []]
      }
      return [tx, []]

    case "TransportError":
      // §17.2.4 / RFC 6026 §8.8: the TU is informed and the transaction terminates.
      if (tx.state === "Terminated") return [tx, []]
      return to("Terminated", [cancelTimer("G"), cancelTimer("H"), { _tag: "TransportError" }, terminated()])
    default:
      // Events of another kind of transaction (a misrouted message) change nothing.
      return [tx, []]
  }
}
