/**
 * RTP port pairs from a configured range: an even RTP port and RTCP on the next one (RFC 3550 §11).
 * A released pair is held out of use for the quarantine time so late packets of the last call cannot
 * reach the next one; a pair that failed to bind (a foreign process holds it) is quarantined too.
 * Pure bookkeeping with an explicit clock argument: no sockets, no timers. Allocation takes the pair
 * that has been free the longest (FIFO), which also spreads reuse over the whole range.
 */

export interface PortRange {
  readonly min: number
  readonly max: number
}

export interface PortAllocator {
  /** An even RTP port whose RTP+1 is also in range, or undefined when none is free. */
  readonly allocate: (nowMs: number) => number | undefined
  /** Returns a pair; it becomes allocatable `quarantineMs` after `nowMs`. */
  readonly release: (port: number, nowMs: number) => void
  readonly free: (nowMs: number) => number
  readonly capacity: number
}

/** A FIFO of numbers in a fixed ring (no allocation after construction). */
const ring = (size: number) => {
  const items = new Float64Array(Math.max(1, size))
  let head = 0
  let count = 0
  return {
    push: (v: number): void => {
      items[(head + count) % items.length] = v
      count++
    },
    peek: (): number | undefined => (count === 0 ? undefined : items[head]),
    shift: (): number | undefined => {
      if (count === 0) return undefined
      const v = items[head]
      head = (head + 1) % items.length
      count--
      return v
    },
    get size(): number {
      return count
    },
  }
}

export const makePortAllocator = (range: PortRange, quarantineMs: number): PortAllocator => {
  const first = range.min % 2 === 0 ? range.min : range.min + 1
  const pairs: Array<number> = []
  for (let p = first; p + 1 <= range.max; p += 2) pairs.push(p)
  const free = ring(pairs.length)
  for (const p of pairs) free.push(p)
  // Parallel FIFOs: the port and the time it may be used again (releases arrive in time order).
  const held = ring(pairs.length)
  const until = ring(pairs.length)
  const inUse = new Set<number>()

  const thaw = (nowMs: number): void => {
    for (let t = until.peek(); t !== undefined && t <= nowMs; t = until.peek()) {
      until.shift()
      const p = held.shift()
      if (p !== undefined) free.push(p)
    }
  }

  return {
    capacity: pairs.length,
    allocate: (nowMs) => {
      thaw(nowMs)
      const p = free.shift()
      if (p !== undefined) inUse.add(p)
      return p
    },
    release: (port, nowMs) => {
      if (!inUse.delete(port)) return
      held.push(port)
      until.push(nowMs + quarantineMs)
    },
    free: (nowMs) => {
      thaw(nowMs)
      return free.size
    },
  }
}
