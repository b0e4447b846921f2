/** `b2b.v1.auth.locate`: the live contacts of an AOR, highest q first (RFC 3261 §16.6 target order). */
import type { BusError } from "@b2bua/bus"
import type { LocateReply, LocateRequest } from "@b2bua/contracts"
import { Clock, Effect } from "effect"
import { aorOfUri } from "./Aor.js"
import { byPreference, liveBindings } from "./Bindings.js"
import type { BindingStore } from "./Stores.js"

export const makeLocate =
  (bindings: BindingStore) =>
  (request: LocateRequest): Effect.Effect<LocateReply, BusError> =>
    Effect.gen(function* () {
      const aor = aorOfUri(request.aor)
      if (aor === undefined) return { v: 1, contacts: [] }
      const now = yield* Clock.currentTimeMillis
      const live = byPreference(liveBindings(yield* bindings.read(aor.text), now))
      return {
        v: 1,
        contacts: live.map((b) => ({
          uri: b.uri,
          source: {
            host: b.source.host,
            port: b.source.port,
            transport: b.source.transport,
            ...(b.source.edge === undefined ? {} : { edge: b.source.edge }),
            ...(b.source.listener === undefined ? {} : { listener: b.source.listener }),
            ...(b.source.connection === undefined ? {} : { connection: b.source.connection }),
          },
          expiresAt: b.expiresAt,
          q: b.q,
        })),
      }
    })
