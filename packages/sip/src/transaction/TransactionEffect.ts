/**
 * What a transaction machine asks its shell to do (RFC 3261 §17: "the transaction layer … passes up to
 * the TU … instructs the transport"). Effects are data; the shell performs them in order.
 * `M` is the message type the shell uses; the machines only carry messages through.
 */
import type { TimerName } from "./Timers.js"

export type TransactionEffect<M> =
  /** Hand a message to the transport (a request, a retransmission, or a response). */
  | { readonly _tag: "Send"; readonly message: M }
  /** Build and send the ACK for a non-2xx final response (RFC 3261 §17.1.1.3). */
  | { readonly _tag: "SendAck"; readonly response: M }
  | { readonly _tag: "StartTimer"; readonly timer: TimerName; readonly delayMs: number }
  | { readonly _tag: "CancelTimer"; readonly timer: TimerName }
  /** Pass a response (client) or request (server) up to the transaction user. */
  | { readonly _tag: "PassToTu"; readonly message: M }
  /** Timer B/F fired: the TU treats it as a 408 (RFC 3261 §8.1.3.1); Timer H: the ACK never came. */
  | { readonly _tag: "Timeout"; readonly timer: "B" | "F" | "H" }
  /** The transport failed to send (RFC 3261 §17.1.4, §17.2.4): the TU treats it as a 503. */
  | { readonly _tag: "TransportError" }
  /** The transaction is over; the shell drops it and its timers. */
  | { readonly _tag: "Terminated" }

export const send = <M>(message: M): TransactionEffect<M> => ({ _tag: "Send", message })
export const passToTu = <M>(message: M): TransactionEffect<M> => ({ _tag: "PassToTu", message })
export const startTimer = <M>(timer: TimerName, delayMs: number): TransactionEffect<M> => ({
  _tag: "StartTimer",
  timer,
  delayMs,
})
export const cancelTimer = <M>(timer: TimerName): TransactionEffect<M> => ({ _tag: "CancelTimer", timer })
export const terminated = <M>(): TransactionEffect<M> => ({ _tag: "Terminated" })

export type Step<S, M> = readonly [S, ReadonlyArray<TransactionEffect<M>>]
