/**
 * The edge's short memory of which call-control instance took each new request, for its
 * retransmissions and its CANCEL (RFC 3261 §17.2.3: a transaction lives at most 64*T1 plus margin).
 * Bounded: past `capacity` the oldest entry goes; entries expire after `ttlMs`.
 */
import type { InstanceId } from "@b2bua/contracts"

export class OwnerCache {
  private readonly entries = new Map<string, { readonly owner: InstanceId; readonly expiresAt: number }>()

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size
  }

  remember(key: string, owner: InstanceId, now: number): void {
    this.entries.delete(key)
    this.entries.set(key, { owner, expiresAt: now + this.ttlMs })
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value
      if (oldest === undefined) break
      this.entries.delete(oldest)
    }
  }

  forget(key: string): void {
    this.entries.delete(key)
  }

  lookup(key: string, now: number): InstanceId | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.entries.delete(key)
      return undefined
    }
    return entry.owner
  }

  /** Drops expired entries (called periodically; insertion order is expiry order). */
  sweep(now: number): void {
    for (const [key, entry] of this.entries) {
      if (entry.expiresAt > now) break
      this.entries.delete(key)
    }
  }
}
