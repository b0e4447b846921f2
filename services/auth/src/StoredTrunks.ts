/**
 * The trunks the auth service identifies: those of its own configuration file, plus those of the shared
 * store (KV `config-trunks`, the admin API's and call control's trunks, one schema from the contracts
 * package). The store is read again every `refreshMs`, so a trunk added through the admin API is
 * recognised by every auth instance within that delay. A file trunk wins over a stored one of the same
 * name.
 */
import { type Bus, openKv } from "@b2bua/bus"
import { decodeTrunk, type Trunk } from "@b2bua/contracts"
import { Effect, Result, Schedule, type Scope } from "effect"
import { type TrunkMatcher, trunkMatcher } from "./TrunkMatch.js"

const parseJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return undefined
  }
}

export const storedTrunks = (
  fileTrunks: ReadonlyArray<Trunk>,
  refreshMs: number,
): Effect.Effect<TrunkMatcher, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    let current = trunkMatcher(fileTrunks)
    const fileNames = new Set(fileTrunks.map((t) => t.name))
    const store = yield* openKv("config-trunks").pipe(Effect.option)
    if (store._tag === "Some") {
      const refresh = store.value.entries().pipe(
        Effect.andThen((entries) => {
          const stored = entries
            .map((e) => decodeTrunk(parseJson(e.value)))
            .flatMap((d) => (Result.isSuccess(d) ? [d.success] : []))
            .filter((t) => !fileNames.has(t.name))
          current = trunkMatcher([...fileTrunks, ...stored])
          return Effect.void
        }),
        Effect.catch((e) =>
          Effect.logWarning("stored trunks not read").pipe(Effect.annotateLogs({ error: e.message })),
        ),
      )
      yield* refresh
      yield* Effect.forkScoped(refresh.pipe(Effect.repeat(Schedule.spaced(refreshMs))))
    }
    return {
      bySource: (address) => current.bySource(address),
      byDigestUser: (realm, username) => current.byDigestUser(realm, username),
    }
  })
