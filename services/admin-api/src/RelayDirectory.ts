/**
 * The relays this instance has heard announce themselves (b2b.v1.relay.announce, once a second each).
 * A relay silent for three intervals is no longer listed. Bounded: at most MAX_RELAYS are remembered.
 * A freshly started instance lists relays after their next announcement (within a second).
 */

import type { BusError } from "@b2bua/bus"
import { Bus } from "@b2bua/bus"
import { decodeRelayAnnounce, type RelayAnnounce, RelayContractError, relaySubjects } from "@b2bua/contracts"
import { Effect, type Scope } from "effect"

export const STALE_AFTER_MS = 3000
const MAX_RELAYS = 10_000

export interface HeardRelay {
  readonly announce: RelayAnnounce
  readonly seenAt: number
}

export interface RelayDirectory {
  /** Relays heard within STALE_AFTER_MS of `now`, ordered by id. */
  readonly list: (now: number) => ReadonlyArray<HeardRelay>
}

export const openRelayDirectory: Effect.Effect<RelayDirectory, BusError, Bus | Scope.Scope> = Effect.gen(
  function* () {
    const bus = yield* Bus
    const heard = new Map<string, HeardRelay>()
    yield* bus.subscribe(relaySubjects.announce(), (message) =>
      Effect.gen(function* () {
        const announce = decodeRelayAnnounce(message.data)
        if (announce instanceof RelayContractError)
          return yield* Effect.logWarning("unreadable relay announcement").pipe(
            Effect.annotateLogs({ reason: announce.message }),
          )
        heard.delete(announce.relayId)
        if (heard.size >= MAX_RELAYS) {
          const oldest = heard.keys().next()
          if (oldest.done !== true) heard.delete(oldest.value)
        }
        // Re-inserted last: the map's order is the order of last announcement.
        heard.set(announce.relayId, { announce, seenAt: Date.now() })
      }),
    )
    return {
      list: (now) =>
        [...heard.values()]
          .filter((r) => now - r.seenAt <= STALE_AFTER_MS)
          .sort((a, b) => (a.announce.relayId < b.announce.relayId ? -1 : 1)),
    }
  },
)
