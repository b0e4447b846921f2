/**
 * The relays that announced themselves (`relaySubjects.announce()`, once a second each) and the order to
 * try them in for a new call: fresh announcements only, not full, least loaded first. A call keeps the
 * relay it was given for its whole life (its media state names it); this only serves new calls.
 */
import { Bus } from "@b2bua/bus"
import {
  decodeRelayAnnounce,
  type RelayAnnounce,
  type RelayContractError,
  relaySubjects,
} from "@b2bua/contracts"
import { Clock, Context, Effect, Layer } from "effect"

export interface RelayDirectoryShape {
  /** Relays to try for a new call, best first. */
  readonly candidates: Effect.Effect<ReadonlyArray<RelayAnnounce>>
}

export class RelayDirectory extends Context.Service<RelayDirectory, RelayDirectoryShape>()(
  "@b2bua/sdp-negotiator/RelayDirectory",
) {}

/** Most relays remembered: announcements beyond it are ignored until stale ones are forgotten. */
const MAX_RELAYS = 1024

interface Seen {
  readonly announce: RelayAnnounce
  readonly at: number
}

/** Pure ranking: fresh, with room, least loaded, then fewest sessions, then by id (stable ties). */
export const rankRelays = (
  seen: Iterable<Seen>,
  now: number,
  staleMs: number,
): ReadonlyArray<RelayAnnounce> =>
  [...seen]
    // A busy relay (load 1) is still tried, last: it refuses with `capacity` itself when it is full.
    .filter((s) => now - s.at <= staleMs && s.announce.sessions < s.announce.capacity)
    .map((s) => s.announce)
    .sort((x, y) => x.load - y.load || x.sessions - y.sessions || x.relayId.localeCompare(y.relayId))

export const relayDirectoryLayer = (options: {
  readonly staleMs: number
}): Layer.Layer<RelayDirectory, never, Bus> =>
  Layer.effect(
    RelayDirectory,
    Effect.gen(function* () {
      const bus = yield* Bus
      const seen = new Map<string, Seen>()
      const forgetStale = (now: number) => {
        for (const [id, s] of seen) if (now - s.at > options.staleMs * 10) seen.delete(id)
      }
      yield* bus
        .subscribe(relaySubjects.announce(), (msg) =>
          Effect.gen(function* () {
            const announce: RelayAnnounce | RelayContractError = decodeRelayAnnounce(msg.data)
            if (!("v" in announce)) {
              yield* Effect.logWarning("ignored a relay announcement", { reason: announce.message })
              return
            }
            const now = yield* Clock.currentTimeMillis
            forgetStale(now)
            if (!seen.has(announce.relayId) && seen.size >= MAX_RELAYS) return
            seen.set(announce.relayId, { announce, at: now })
          }),
        )
        .pipe(Effect.orDie)
      return {
        candidates: Effect.map(Clock.currentTimeMillis, (now) =>
          rankRelays(seen.values(), now, options.staleMs),
        ),
      }
    }),
  )
