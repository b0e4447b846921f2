/** RelayService: the relays heard recently (RelayDirectory) and their summed load. */
import type { ListRelaysRequest, RelayServiceServer } from "@b2bua/admin-proto"
import { Effect } from "effect"
import { type Run, unary } from "./GrpcHandlers.js"
import type { RelayDirectory } from "./RelayDirectory.js"

export const relayService = (run: Run, directory: RelayDirectory): RelayServiceServer => ({
  listRelays: unary(run, "RelayService/ListRelays", (_: ListRelaysRequest) =>
    Effect.sync(() => {
      const relays = directory.list(Date.now())
      return {
        relays: relays.map(({ announce, seenAt }) => ({
          id: announce.relayId,
          address: announce.address,
          sessions: announce.sessions,
          capacity: announce.capacity,
          load: announce.load,
          lastSeenMs: seenAt,
        })),
        totalSessions: relays.reduce((n, r) => n + r.announce.sessions, 0),
        totalCapacity: relays.reduce((n, r) => n + r.announce.capacity, 0),
      }
    }),
  ),
})
