/**
 * A configuration bucket (KV `config-trunks` or `config-routes`): one JSON value per object, keyed by
 * its name, written with create-only and compare-and-set so two operators never overwrite each other
 * unknowingly. Values are validated by the contracts schema on the way in and again on the way out (a
 * value someone wrote to the bucket by hand that does not decode is reported, never served).
 */
import { type BusError, type KvStore, openKv } from "@b2bua/bus"
import type { SchemaProblem } from "@b2bua/contracts"
import { Effect, Result } from "effect"
import { AlreadyExists, Conflict, Internal, NotFound, Unavailable } from "./AdminErrors.js"

export interface Stored<T> {
  readonly value: T
  readonly revision: number
}

export interface ConfigStore<T> {
  readonly what: string
  readonly create: (name: string, value: T) => Effect.Effect<Stored<T>, AlreadyExists | Unavailable>
  readonly get: (name: string) => Effect.Effect<Stored<T>, NotFound | Internal | Unavailable>
  /** Replaces the value; with `expectedRevision`, only if still at it (Conflict otherwise). */
  readonly update: (
    name: string,
    value: T,
    expectedRevision: number | undefined,
  ) => Effect.Effect<Stored<T>, NotFound | Conflict | Unavailable | Internal>
  readonly remove: (name: string) => Effect.Effect<void, NotFound | Unavailable | Internal>
  /** Every object, ordered by name; values that no longer decode are skipped and logged. */
  readonly list: () => Effect.Effect<ReadonlyArray<Stored<T>>, Unavailable>
}

const unavailable = (e: BusError) => new Unavailable({ reason: e.message })

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export const makeConfigStore = <T>(options: {
  readonly what: string
  readonly kv: KvStore
  readonly decode: (value: unknown) => Result.Result<T, ReadonlyArray<SchemaProblem>>
}): ConfigStore<T> => {
  const { what, kv } = options
  const decodeBytes = (name: string, bytes: Uint8Array): Result.Result<T, string> => {
    let json: unknown
    try {
      json = JSON.parse(decoder.decode(bytes))
    } catch {
      return Result.fail(`stored ${what} "${name}" is not JSON`)
    }
    return Result.mapError(
      options.decode(json),
      (problems) =>
        `stored ${what} "${name}" is invalid: ${problems.map((p) => `${p.key}: ${p.reason}`).join("; ")}`,
    )
  }
  const get = (name: string): Effect.Effect<Stored<T>, NotFound | Internal | Unavailable> =>
    kv.get(name).pipe(
      Effect.mapError(unavailable),
      Effect.flatMap((entry): Effect.Effect<Stored<T>, NotFound | Internal> => {
        if (entry === undefined) return Effect.fail(new NotFound({ what, id: name }))
        const decoded = decodeBytes(name, entry.value)
        return Result.isSuccess(decoded)
          ? Effect.succeed({ value: decoded.success, revision: entry.revision })
          : Effect.fail(new Internal({ reason: decoded.failure }))
      }),
    )
  return {
    what,
    create: (name, value) =>
      kv.create(name, encoder.encode(JSON.stringify(value))).pipe(
        Effect.map((revision) => ({ value, revision })),
        Effect.catchTags({
          KvConflict: () => Effect.fail(new AlreadyExists({ what, id: name })),
          BusError: (e) => Effect.fail(unavailable(e)),
        }),
      ),
    get,
    update: (name, value, expectedRevision) =>
      Effect.gen(function* () {
        // Without an expected revision: compare-and-set on the revision just read, so a concurrent
        // delete is not silently undone.
        const revision =
          expectedRevision ??
          (yield* kv.get(name).pipe(
            Effect.mapError(unavailable),
            Effect.flatMap((e) =>
              e === undefined ? Effect.fail(new NotFound({ what, id: name })) : Effect.succeed(e.revision),
            ),
          ))
        const written = yield* kv.update(name, encoder.encode(JSON.stringify(value)), revision).pipe(
          Effect.catchTags({
            KvConflict: () =>
              // Lost the compare-and-set: gone (NOT_FOUND) or changed (ABORTED)?
              kv.get(name).pipe(
                Effect.mapError(unavailable),
                Effect.flatMap((e) =>
                  Effect.fail(
                    e === undefined ? new NotFound({ what, id: name }) : new Conflict({ what, id: name }),
                  ),
                ),
              ),
            BusError: (e) => Effect.fail(unavailable(e)),
          }),
        )
        return { value, revision: written }
      }),
    remove: (name) => get(name).pipe(Effect.andThen(kv.remove(name).pipe(Effect.mapError(unavailable)))),
    list: () =>
      kv.entries().pipe(
        Effect.mapError(unavailable),
        Effect.flatMap((entries) =>
          Effect.forEach(entries, (entry) => {
            const decoded = decodeBytes(entry.key, entry.value)
            return Result.isSuccess(decoded)
              ? Effect.succeed([{ value: decoded.success, revision: entry.revision }])
              : Effect.logWarning("skipped an invalid stored value").pipe(
                  Effect.annotateLogs({ bucket: kv.bucket, key: entry.key, reason: decoded.failure }),
                  Effect.as([]),
                )
          }),
        ),
        Effect.map((lists) => lists.flat()),
      ),
  }
}

export const openConfigStore = <T>(options: {
  readonly what: string
  readonly bucket: string
  readonly decode: (value: unknown) => Result.Result<T, ReadonlyArray<SchemaProblem>>
}) =>
  openKv(options.bucket).pipe(
    Effect.map((kv) => makeConfigStore({ what: options.what, kv, decode: options.decode })),
  )
