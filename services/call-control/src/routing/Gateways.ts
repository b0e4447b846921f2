/**
 * The order in which a trunk's gateways are tried: lower priority first; among equal priorities, a
 * weighted random order (RFC 2782's selection, the same rule RFC 3263 applies to SRV records). Pure: the
 * caller passes the random source, so tests are deterministic.
 */

export interface Weighted {
  readonly priority?: number | undefined
  readonly weight?: number | undefined
}

export const orderByPriorityAndWeight = <G extends Weighted>(
  items: ReadonlyArray<G>,
  random: () => number,
): ReadonlyArray<G> => {
  const byPriority = new Map<number, Array<G>>()
  for (const item of items) {
    const p = item.priority ?? 0
    byPriority.set(p, [...(byPriority.get(p) ?? []), item])
  }
  const ordered: Array<G> = []
  for (const priority of [...byPriority.keys()].sort((a, b) => a - b)) {
    // RFC 2782: weight-0 entries first in the list so they keep a small chance of being picked.
    const pool = [...byPriority.get(priority)!].sort((a, b) => (a.weight ?? 1) - (b.weight ?? 1))
    while (pool.length > 0) {
      const total = pool.reduce((sum, g) => sum + (g.weight ?? 1), 0)
      const pick = total === 0 ? 0 : random() * total
      let running = 0
      let index = pool.findIndex((g) => {
        running += g.weight ?? 1
        return running > pick
      })
      if (index < 0) index = pool.length - 1
      ordered.push(pool[index]!)
      pool.splice(index, 1)
    }
  }
  return ordered
}
