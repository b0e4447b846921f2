/**
 * RFC 3262 bookkeeping for reliable provisional responses (100rel): RSeq on the UAS side, in-order
 * acceptance on the UAC side, RAck matching, and the UAS retransmission schedule until PRACK.
 * Pure values and step functions; timers are effects.
 */

/** RFC 3262 §3: "The value of the RSeq … MUST be between 1 and 2**31 - 1", then increments by one. */
export const MAX_RSEQ = 2 ** 31 - 1

/** An initial RSeq, from a random value in [0, 1) supplied by the caller (no hidden randomness here). */
export const initialRSeq = (random: number): number => 1 + Math.floor(random * (MAX_RSEQ / 2))

export const nextRSeq = (rseq: number): number => (rseq >= MAX_RSEQ ? 1 : rseq + 1)

/** UAC side (RFC 3262 §4): the last RSeq accepted per early dialog. */
export type ReliableVerdict = "New" | "Retransmission" | "OutOfOrder"

/**
 * §4: the first reliable provisional sets the expectation; later ones must have RSeq one higher. Lower or
 * equal is a retransmission (answer its PRACK again, don't pass it up); higher by more than one is out
 * of order and discarded.
 */
export const judgeReliableProvisional = (lastRSeq: number | undefined, rseq: number): ReliableVerdict => {
  if (lastRSeq === undefined) return "New"
  if (rseq === nextRSeq(lastRSeq)) return "New"
  if (rseq <= lastRSeq) return "Retransmission"
  return "OutOfOrder"
}

export interface RAckValue {
  readonly rseq: number
  readonly cseq: number
  readonly method: string
}

/** §7.2: a PRACK's RAck matches a reliable provisional by RSeq, CSeq number and method. */
export const rackMatches = (rack: RAckValue, sent: RAckValue): boolean =>
  rack.rseq === sent.rseq && rack.cseq === sent.cseq && rack.method === sent.method

/** UAS side retransmission of one reliable provisional until its PRACK (RFC 3262 §3). */
export interface ReliableSender<M> {
  readonly state: "Sending" | "Acknowledged" | "Failed"
  readonly response: M
  readonly rack: RAckValue
  readonly interval: number
  /** Time since the first transmission when the running timer fires. */
  readonly elapsed: number
  readonly T1: number
}

export type ReliableSenderEvent =
  | { readonly _tag: "Start" }
  | { readonly _tag: "TimerFired" }
  | { readonly _tag: "PrackReceived"; readonly rack: RAckValue }

export type ReliableSenderEffect<M> =
  | { readonly _tag: "Send"; readonly message: M }
  | { readonly _tag: "StartTimer"; readonly delayMs: number }
  | { readonly _tag: "CancelTimer" }
  | { readonly _tag: "Acknowledged" }
  /** §3: no PRACK within 64*T1: "the UAS SHOULD reject the original request with a 5xx". */
  | { readonly _tag: "GiveUp" }

export const createReliableSender = <M>(response: M, rack: RAckValue, T1: number): ReliableSender<M> => ({
  state: "Sending",
  response,
  rack,
  interval: T1,
  elapsed: T1,
  T1,
})

export const stepReliableSender = <M>(
  s: ReliableSender<M>,
  event: ReliableSenderEvent,
): readonly [ReliableSender<M>, ReadonlyArray<ReliableSenderEffect<M>>] => {
  if (s.state !== "Sending") return [s, []]
  switch (event._tag) {
    case "Start":
      return [
        s,
        [
          { _tag: "Send", message: s.response },
          { _tag: "StartTimer", delayMs: s.interval },
        ],
      ]
    case "TimerFired": {
      // §3: retransmitted with an interval that starts at T1 and doubles; after 64*T1 without PRACK the
      // UAS gives up.
      const limit = 64 * s.T1
      if (s.elapsed >= limit) return [{ ...s, state: "Failed" }, [{ _tag: "GiveUp" }]]
      const next = Math.min(s.interval * 2, limit - s.elapsed)
      return [
        { ...s, interval: s.interval * 2, elapsed: s.elapsed + next },
        [
          { _tag: "Send", message: s.response },
          { _tag: "StartTimer", delayMs: next },
        ],
      ]
    }
    case "PrackReceived":
      if (!rackMatches(event.rack, s.rack)) return [s, []]
      return [{ ...s, state: "Acknowledged" }, [{ _tag: "CancelTimer" }, { _tag: "Acknowledged" }]]
  }
}
