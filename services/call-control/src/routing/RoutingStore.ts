/**
 * Where call control's routing comes from: JetStream KV buckets `config-trunks` (key = trunk name) and
 * `config-routes` (key = route name), the store the admin API edits. At start, when both are empty, the
 * configuration file (B2BUA_ROUTING_FILE) seeds them; with no file, a built-in configuration is used
 * without being stored (an inbound trunk from loopback, a default route to B2BUA_ROUTE_TARGET), so a
 * demo never leaves stale routes behind. The buckets are read again every `refreshMs`: a change reaches
 * new calls on every instance within that delay, without restart.
 */
import { createHash } from "node:crypto"
import { type Bus, type KvStore, openKv } from "@b2bua/bus"
import {
  decodeRoute,
  decodeRoutingConfig,
  decodeTrunk,
  describeProblems,
  type Route,
  type RoutingConfig,
  type Trunk,
} from "@b2bua/contracts"
import { Data, Effect, Result, Schedule, type Scope } from "effect"
import { compileRoutingTable, type RoutingTable } from "./RoutingTable.js"

export class RoutingConfigError extends Data.TaggedError("RoutingConfigError")<{ readonly reason: string }> {
  override get message(): string {
    return this.reason
  }
}

export interface RoutingSource {
  readonly file: { readonly path: string; readonly config: RoutingConfig } | undefined
  readonly fallbackTarget: { readonly host: string; readonly port: number }
  readonly refreshMs: number
}

export interface Routing {
  readonly current: () => RoutingTable
  /** Where the table came from: "store" or "built-in". */
  readonly origin: () => string
}

/** The configuration used when neither the store nor a file has one (the local demo and the tests). */
export const builtInRouting = (target: { readonly host: string; readonly port: number }): RoutingConfig => ({
  trunks: [
    { name: "local", sources: ["127.0.0.0/8", "::1/128"] },
    { name: "default-out", gateways: [{ host: target.host, port: target.port, transport: "udp" }] },
  ],
  routes: [{ name: "default", prefix: "", trunks: ["default-out"] }],
})

const encoder = new TextEncoder()
const decoder = new TextDecoder()

const seed = (trunks: KvStore, routes: KvStore, config: RoutingConfig) =>
  Effect.gen(function* () {
    for (const t of config.trunks) yield* trunks.put(t.name, encoder.encode(JSON.stringify(t)))
    for (const r of config.routes) yield* routes.put(r.name, encoder.encode(JSON.stringify(r)))
  })

const parseJson = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}

/** Reads both buckets; entries that do not decode are skipped with a warning naming the key. */
const readStore = (trunks: KvStore, routes: KvStore) =>
  Effect.gen(function* () {
    const trunkEntries = yield* trunks.entries()
    const routeEntries = yield* routes.entries()
    const readTrunks: Array<Trunk> = []
    const readRoutes: Array<Route> = []
    for (const e of trunkEntries) {
      const decoded = decodeTrunk(parseJson(e.value))
      if (Result.isSuccess(decoded)) readTrunks.push(decoded.success)
      else
        yield* Effect.logWarning("stored trunk skipped").pipe(
          Effect.annotateLogs({ key: e.key, reason: describeProblems(decoded.failure) }),
        )
    }
    for (const e of routeEntries) {
      const decoded = decodeRoute(parseJson(e.value))
      if (Result.isSuccess(decoded)) readRoutes.push(decoded.success)
      else
        yield* Effect.logWarning("stored route skipped").pipe(
          Effect.annotateLogs({ key: e.key, reason: describeProblems(decoded.failure) }),
        )
    }
    return { trunks: readTrunks, routes: readRoutes }
  })

export const startRouting = (
  source: RoutingSource,
): Effect.Effect<Routing, RoutingConfigError, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const fail = (reason: string) => new RoutingConfigError({ reason })
    const trunks = yield* openKv("config-trunks").pipe(Effect.mapError((e) => fail(e.message)))
    const routes = yield* openKv("config-routes").pipe(Effect.mapError((e) => fail(e.message)))
    const storedKeys =
      (yield* trunks.keys().pipe(Effect.mapError((e) => fail(e.message)))).length +
      (yield* routes.keys().pipe(Effect.mapError((e) => fail(e.message)))).length
    if (storedKeys === 0 && source.file !== undefined) {
      yield* seed(trunks, routes, source.file.config).pipe(Effect.mapError((e) => fail(e.message)))
      yield* Effect.logInfo("routing store seeded from file").pipe(
        Effect.annotateLogs({ file: source.file.path }),
      )
    } else if (storedKeys > 0 && source.file !== undefined) {
      yield* Effect.logInfo("routing store not empty: configuration file not applied").pipe(
        Effect.annotateLogs({ file: source.file.path }),
      )
    }
    let origin = "built-in"
    let table = compileRoutingTable(builtInRouting(source.fallbackTarget))
    /** What the last reading held: a different one is logged (operators see when a change took effect). */
    let seen: string | undefined
    const refresh = Effect.gen(function* () {
      const stored = yield* readStore(trunks, routes)
      const fingerprint = createHash("sha256")
        .update(
          JSON.stringify([
            [...stored.trunks].sort((a, b) => a.name.localeCompare(b.name)),
            [...stored.routes].sort((a, b) => a.name.localeCompare(b.name)),
          ]),
        )
        .digest("hex")
        .slice(0, 12)
      if (seen !== undefined && fingerprint !== seen)
        yield* Effect.logInfo("routing changed").pipe(
          Effect.annotateLogs({ trunks: stored.trunks.length, routes: stored.routes.length, fingerprint }),
        )
      seen = fingerprint
      if (stored.trunks.length === 0 && stored.routes.length === 0) {
        if (origin !== "built-in") table = compileRoutingTable(builtInRouting(source.fallbackTarget))
        origin = "built-in"
        return
      }
      // Routes naming a trunk that is gone are checked the same way as in a file; the table keeps what is usable.
      const checked = decodeRoutingConfig({ trunks: stored.trunks, routes: stored.routes })
      if (Result.isFailure(checked)) {
        yield* Effect.logWarning("stored routing inconsistent").pipe(
          Effect.annotateLogs({ reason: describeProblems(checked.failure) }),
        )
      }
      table = compileRoutingTable(
        Result.isSuccess(checked) ? checked.success : { trunks: stored.trunks, routes: stored.routes },
      )
      origin = "store"
    })
    yield* refresh.pipe(Effect.mapError((e) => fail(e.message)))
    yield* Effect.forkScoped(
      refresh.pipe(
        Effect.catch((e) =>
          Effect.logWarning("routing refresh failed").pipe(Effect.annotateLogs({ error: e.message })),
        ),
        Effect.repeat(Schedule.spaced(source.refreshMs)),
      ),
    )
    return { current: () => table, origin: () => origin }
  })
