/**
 * Transaction timer values (RFC 3261 §17.1.1.1, Table 4). Values, never globals: each transaction gets
 * its TimerConfig, so tests and operators can change them without touching anything shared.
 */
export type TimerName = "A" | "B" | "D" | "E" | "F" | "G" | "H" | "I" | "J" | "K" | "L" | "M"

export interface TimerConfig {
  /** RTT estimate, default 500 ms. */
  readonly T1: number
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, default 4 s. */
  readonly T2: number
  /** Maximum duration a message remains in the network, default 5 s. */
  readonly T4: number
  /** Timer D for unreliable transports: at least 32 s (RFC 3261 §17.1.1.2). */
  readonly timerD: number
}

export const DEFAULT_TIMERS: TimerConfig = { T1: 500, T2: 4000, T4: 5000, timerD: 32_000 }

/** 64*T1: Timers B, F, H, J (unreliable), L and M (RFC 3261 §17, RFC 6026 §8.11). */
export const transactionTimeout = (timers: TimerConfig): number => 64 * timers.T1
