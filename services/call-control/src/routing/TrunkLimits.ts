/**
 * Per-trunk admission: concurrent calls and new calls per second, held for the whole cluster. Each instance
 * counts its own calls exactly and learns the others' from their load reports (`TrunkLoadV1`, twice a
 * second): a trunk admits a call while this instance's calls plus the others' last reported ones stay under
 * `maxCalls`, and this instance's call-rate bucket refills at what the trunk's `maxCps` leaves after the
 * others' last-second rates. The others' figures are at most a report interval old, so a burst spread over
 * instances can overshoot by what arrives within that interval (docs/architecture.md); a report older than
 * STALE_MS (an instance gone) no longer counts. Time is passed in, so the rules are testable without a clock.
 */
import type { Trunk, TrunkLoadV1 } from "@b2bua/contracts"

interface TrunkCounters {
  active: number
  tokens: number
  refilledAt: number
  /** When this instance started its calls of the last second (for its load report), oldest first. */
  started: Array<number>
  /** Whether the trunk has limits (only those are reported). */
  limited: boolean
}

interface PeerLoad {
  readonly at: number
  readonly trunks: ReadonlyMap<string, { readonly active: number; readonly lastSecond: number }>
}

export type Admission = { readonly ok: true } | { readonly ok: false; readonly reason: string }

/** A peer's report counts this long after it arrived: four report intervals. */
export const STALE_MS = 2000
/** Bounds the record of recent starts on a trunk (a report says "at least this many" beyond it). */
const MAX_STARTS_KEPT = 10_000

export class TrunkLimits {
  private readonly counters = new Map<string, TrunkCounters>()
  private readonly peers = new Map<string, PeerLoad>()

  private countersOf(trunk: Trunk, now: number): TrunkCounters {
    let c = this.counters.get(trunk.name)
    if (c === undefined) {
      c = { active: 0, tokens: burstOf(trunk), refilledAt: now, started: [], limited: false }
      this.counters.set(trunk.name, c)
    }
    c.limited = trunk.limits !== undefined
    const rate = trunk.limits?.maxCps
    if (rate !== undefined) {
      const share = Math.max(0, rate - this.peerSum(trunk.name, now, "lastSecond"))
      c.tokens = Math.min(Math.max(1, share), c.tokens + ((now - c.refilledAt) / 1000) * share)
    }
    c.refilledAt = now
    return c
  }

  private peerSum(trunk: string, now: number, field: "active" | "lastSecond"): number {
    let sum = 0
    for (const peer of this.peers.values()) {
      if (now - peer.at <= STALE_MS) sum += peer.trunks.get(trunk)?.[field] ?? 0
    }
    return sum
  }

  /** Whether a new call may use this trunk now (does not take it). */
  check(trunk: Trunk, now: number): Admission {
    const c = this.countersOf(trunk, now)
    const maxCalls = trunk.limits?.maxCalls
    if (maxCalls !== undefined && c.active + this.peerSum(trunk.name, now, "active") >= maxCalls)
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
    if (c.limited) {
      c.started.push(now)
      if (c.started.length > MAX_STARTS_KEPT) c.started.shift()
    }
  }

  release(trunkName: string): void {
    const c = this.counters.get(trunkName)
    if (c !== undefined && c.active > 0) c.active--
  }

  active(trunkName: string): number {
    return this.counters.get(trunkName)?.active ?? 0
  }

  /** This instance's load on its limited trunks, for the others (trunks with nothing to say are left out). */
  report(now: number): TrunkLoadV1["trunks"] {
    const out: Array<TrunkLoadV1["trunks"][number]> = []
    for (const [name, c] of this.counters) {
      while (c.started.length > 0 && now - c.started[0]! >= 1000) c.started.shift()
      if (c.limited && (c.active > 0 || c.started.length > 0))
        out.push({ name, active: c.active, lastSecond: c.started.length })
    }
    return out
  }

  /** Another instance's report (its own reports are not passed here). */
  observe(load: TrunkLoadV1, now: number): void {
    this.peers.set(load.instance, {
      at: now,
      trunks: new Map(load.trunks.map((t) => [t.name, { active: t.active, lastSecond: t.lastSecond }])),
    })
    for (const [instance, peer] of this.peers) if (now - peer.at > STALE_MS) this.peers.delete(instance)
  }
}

const burstOf = (trunk: Trunk): number => Math.max(1, trunk.limits?.maxCps ?? 1)
