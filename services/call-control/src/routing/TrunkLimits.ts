/**
 * Per-trunk admission: concurrent calls and new calls per second (a token bucket holding one second's
 * worth, at least one call). Counted per call-control instance: with N instances behind the queue group a
 * trunk admits up to N times its limits (docs/architecture.md says why and what would make it global).
 * Time is passed in, so the rules are testable without a clock.
 */
import type { Trunk } from "@b2bua/contracts"

interface TrunkCounters {
  active: number
  tokens: number
  refilledAt: number
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: string }

export class TrunkLimits {
  private readonly counters = new Map<string, TrunkCounters>()

  private countersOf(trunk: Trunk, now: number): TrunkCounters {
    let c = this.counters.get(trunk.name)
    if (c === undefined) {
      c = { active: 0, tokens: burstOf(trunk), refilledAt: now }
      this.counters.set(trunk.name, c)
    }
    const rate = trunk.limits?.maxCps
    if (rate !== undefined) {
      c.tokens = Math.min(burstOf(trunk), c.tokens + ((now - c.refilledAt) / 1000) * rate)
    }
    c.refilledAt = now
    return c
  }

  /** Whether a new call may use this trunk now (does not take it). */
  check(trunk: Trunk, now: number): Admission {
    const c = this.countersOf(trunk, now)
    const maxCalls = trunk.limits?.maxCalls
    if (maxCalls !== undefined && c.active >= maxCalls)
      return { ok: false, reason: `trunk ${trunk.name} at its limit of ${maxCalls} calls` }
    if (trunk.limits?.maxCps !== undefined && c.tokens < 1)
      return {
        ok: false,
        reason: `trunk ${trunk.name} at its limit of ${trunk.limits.maxCps} calls per second`,
      }
    return { ok: true }
  }

  /** Takes a call slot (and a call-rate token) on the trunk. */
  take(trunk: Trunk, now: number): void {
    const c = this.countersOf(trunk, now)
    c.active++
    if (trunk.limits?.maxCps !== undefined) c.tokens -= 1
  }

  release(trunkName: string): void {
    const c = this.counters.get(trunkName)
    if (c !== undefined && c.active > 0) c.active--
  }

  active(trunkName: string): number {
    return this.counters.get(trunkName)?.active ?? 0
  }
}

const burstOf = (trunk: Trunk): number => Math.max(1, trunk.limits?.maxCps ?? 1)
