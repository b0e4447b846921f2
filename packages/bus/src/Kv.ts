/**
 * JetStream key-value buckets as Effect values: create-only writes (claims), compare-and-set updates
 * (ownership changes), and plain reads and writes. Buckets are created at start-up when absent.
 */
import { type KV, Kvm } from "@nats-io/kv"
import { Effect } from "effect"
import { Bus } from "./Bus.js"
import { BusError, KvConflict } from "./BusErrors.js"

export interface KvEntry {
  readonly key: string
  readonly value: Uint8Array
  readonly revision: number
}

export interface KvStore {
  readonly bucket: string
  readonly get: (key: string) => Effect.Effect<KvEntry | undefined, BusError>
  readonly put: (key: string, value: Uint8Array) => Effect.Effect<number, BusError>
  /** Writes only if the key does not exist (or was deleted); KvConflict otherwise. */
  readonly create: (key: string, value: Uint8Array) => Effect.Effect<number, KvConflict | BusError>
  /** Writes only if the key is still at `revision`; KvConflict otherwise. */
  readonly update: (
    key: string,
    value: Uint8Array,
    revision: number,
  ) => Effect.Effect<number, KvConflict | BusError>
  readonly remove: (key: string) => Effect.Effect<void, BusError>
  /** Every live key (optionally those matching a NATS subject filter such as `call.>`). */
  readonly keys: (filter?: string) => Effect.Effect<ReadonlyArray<string>, BusError>
  /** Every live entry: keys, then one read each (for small buckets such as configuration). */
  readonly entries: (filter?: string) => Effect.Effect<ReadonlyArray<KvEntry>, BusError>
}

/** JetStream answers a lost create-only or compare-and-set write with "wrong last sequence". */
const isConflict = (cause: unknown): boolean =>
  cause instanceof Error &&
  /wrong last sequence|key exists/i.test(`${cause.message} ${String(cause.cause ?? "")}`)

const fromKv = (bucket: string, kv: KV): KvStore => {
  const store: KvStore = {
    bucket,
    get: (key) =>
      Effect.tryPromise({
        try: () => kv.get(key),
        catch: (cause) => new BusError({ operation: `kv get ${bucket}/${key}`, cause }),
      }).pipe(
        Effect.map((e) =>
          e === null || e.operation !== "PUT" ? undefined : { key, value: e.value, revision: e.revision },
        ),
      ),
    put: (key, value) =>
      Effect.tryPromise({
        try: () => kv.put(key, value),
        catch: (cause) => new BusError({ operation: `kv put ${bucket}/${key}`, cause }),
      }),
    create: (key, value) =>
      Effect.tryPromise({
        try: () => kv.create(key, value),
        catch: (cause) =>
          isConflict(cause)
            ? new KvConflict({ bucket, key })
            : new BusError({ operation: `kv create ${bucket}/${key}`, cause }),
      }),
    update: (key, value, revision) =>
      Effect.tryPromise({
        try: () => kv.update(key, value, revision),
        catch: (cause) =>
          isConflict(cause)
            ? new KvConflict({ bucket, key })
            : new BusError({ operation: `kv update ${bucket}/${key}`, cause }),
      }),
    remove: (key) =>
      Effect.tryPromise({
        try: () => kv.delete(key),
        catch: (cause) => new BusError({ operation: `kv delete ${bucket}/${key}`, cause }),
      }),
    keys: (filter) =>
      Effect.tryPromise({
        try: async () => {
          const found: Array<string> = []
          for await (const key of await kv.keys(filter ?? ">")) found.push(key)
          return found.sort()
        },
        catch: (cause) => new BusError({ operation: `kv keys ${bucket}`, cause }),
      }),
    entries: (filter) =>
      store.keys(filter).pipe(
        Effect.flatMap((keys) => Effect.forEach(keys, (key) => store.get(key))),
        Effect.map((entries) => entries.filter((e): e is KvEntry => e !== undefined)),
      ),
  }
  return store
}

/** Opens a bucket, creating it (file storage, one history entry per key, the bus's replicas) when absent. */
export const openKv = (bucket: string): Effect.Effect<KvStore, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const kv = yield* Effect.tryPromise({
      try: () => new Kvm(bus.connection).create(bucket, { history: 1, replicas: bus.jetStreamReplicas }),
      catch: (cause) => new BusError({ operation: `kv open ${bucket}`, cause }),
    })
    return fromKv(bucket, kv)
  })
