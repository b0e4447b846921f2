/**
 * The final responses sent for recent REGISTERs, by transaction (RFC 3261 §17.2.2: a retransmitted
 * request gets the last response again, during Timer J = 64*T1 for unreliable transports). Bounded and
 * expiring; the edge sends retransmissions to the instance that answered the first copy.
 */
import { type SipRequest, viaBranch } from "@b2bua/sip"

export const transactionKey = (r: SipRequest): string =>
  `${viaBranch(r.topVia) ?? ""}|${r.topVia.host}:${r.topVia.port ?? ""}|${r.callId}|${r.cseq.seq}`

export class ResponseCache {
  private readonly entries = new Map<string, { readonly bytes: Uint8Array; readonly until: number }>()

  constructor(
    private readonly ttlMs = 32_000,
    private readonly max = 50_000,
  ) {}

  get(key: string, now: number): Uint8Array | undefined {
    const e = this.entries.get(key)
    if (e === undefined) return undefined
    if (e.until <= now) {
      this.entries.delete(key)
      return undefined
    }
    return e.bytes
  }

  put(key: string, bytes: Uint8Array, now: number): void {
    this.entries.delete(key)
    this.entries.set(key, { bytes, until: now + this.ttlMs })
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.max && e.until > now) break
      this.entries.delete(k)
    }
  }
}
