/**
 * Brute-force protection: authentication failures counted per key (a source address, a username) in a
 * fixed window; past the threshold the key is blocked for a cool-down. Pure apart from its own memory:
 * the time is passed in. Bounded: beyond `maxKeys` the oldest windows are forgotten first.
 */

interface Entry {
  windowStart: number
  failures: number
  blockedUntil: number
}

export interface FailureLimits {
  readonly threshold: number
  readonly windowMs: number
  readonly cooldownMs: number
}

export class FailureLimiter {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly limits: FailureLimits,
    private readonly maxKeys = 100_000,
  ) {}

  /** Whether `key` is in its cool-down at `now`. */
  blocked(key: string, now: number): boolean {
    const e = this.entries.get(key)
    return e !== undefined && e.blockedUntil > now
  }

  /** Applies a block decided elsewhere (another instance): the key is refused until `until`. */
  block(key: string, until: number, now: number): void {
    const e = this.entries.get(key) ?? { windowStart: now, failures: 0, blockedUntil: 0 }
    e.blockedUntil = Math.max(e.blockedUntil, until)
    this.entries.delete(key)
    this.entries.set(key, e)
    this.trim()
  }

  /** When the key's cool-down ends (0 when it has none). */
  blockedUntil(key: string): number {
    return this.entries.get(key)?.blockedUntil ?? 0
  }

  /** Counts one failure; returns true when this failure starts (or extends) a block. */
  fail(key: string, now: number): boolean {
    let e = this.entries.get(key)
    if (e === undefined || now - e.windowStart >= this.limits.windowMs) {
      e = { windowStart: now, failures: 0, blockedUntil: e?.blockedUntil ?? 0 }
    }
    e.failures++
    const blocks = e.failures >= this.limits.threshold
    if (blocks) e.blockedUntil = now + this.limits.cooldownMs
    // Re-insert so the map's order is the order of last activity (oldest first when trimming).
    this.entries.delete(key)
    this.entries.set(key, e)
    this.trim()
    return blocks
  }

  /** A success ends the key's window (not a running block). */
  succeed(key: string): void {
    const e = this.entries.get(key)
    if (e !== undefined && e.blockedUntil === 0) this.entries.delete(key)
  }

  get size(): number {
    return this.entries.size
  }

  private trim(): void {
    // Oldest activity first; a running block is dropped only under pressure, like any other entry.
    for (const key of this.entries.keys()) {
      if (this.entries.size <= this.maxKeys) return
      this.entries.delete(key)
    }
  }
}
