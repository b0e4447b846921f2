/**
 * The auth service's JetStream KV state. nats-server 2.9 has no per-key TTL, so every value carries its
 * own expiry: readers ignore what has expired and `sweep` removes it.
 *
 *   registrations     aor.<hash>   {aor, bindings[]}       one key per address-of-record (CAS updates)
 *   auth-nc           n.<hash>     {nc, issuedAt}          the highest nonce count seen per nonce
 *   auth-credentials  c.<hash>     StoredCredential        HA1 per algorithm, seeded from configuration
 *
 * Keys are hashes: user names and URIs hold characters KV keys cannot.
 */
import { createHash } from "node:crypto"
import type { BusError, KvStore } from "@b2bua/bus"
import { Effect } from "effect"
import type { Binding } from "./Bindings.js"
import type { StoredCredential } from "./Config.js"

const hash = (text: string): string => createHash("sha256").update(text).digest("hex").slice(0, 40)
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const json = (value: unknown): Uint8Array => encoder.encode(JSON.stringify(value))
const parseJson = (data: Uint8Array): unknown => {
  try {
    return JSON.parse(decoder.decode(data))
  } catch {
    return undefined
  }
}
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null

/** Compare-and-set retries before a write is given up (each loss means another writer just won). */
const CAS_ATTEMPTS = 8

// ---------------------------------------------------------------------------------------------------
// Bindings

export interface AorRecord {
  readonly aor: string
  readonly bindings: ReadonlyArray<Binding>
}

const isBinding = (b: unknown): b is Binding =>
  isObject(b) &&
  typeof b.uri === "string" &&
  typeof b.params === "string" &&
  typeof b.q === "number" &&
  typeof b.expiresAt === "number" &&
  typeof b.callId === "string" &&
  typeof b.cseq === "number" &&
  isObject(b.source) &&
  typeof b.source.host === "string" &&
  typeof b.source.port === "number"

const decodeAorRecord = (data: Uint8Array): AorRecord | undefined => {
  const v = parseJson(data)
  if (!isObject(v) || typeof v.aor !== "string" || !Array.isArray(v.bindings)) return undefined
  return { aor: v.aor, bindings: v.bindings.filter(isBinding) }
}

export const aorKey = (aor: string): string => `aor.${hash(aor)}`

export interface BindingStore {
  readonly read: (aor: string) => Effect.Effect<ReadonlyArray<Binding>, BusError>
  /**
   * Applies `change` to the AOR's bindings with compare-and-set, retrying when another instance wrote
   * in between. `change` returns the new bindings and a result, or only a result to write nothing.
   */
  readonly modify: <A>(
    aor: string,
    change: (current: ReadonlyArray<Binding>) => {
      readonly write?: ReadonlyArray<Binding>
      readonly result: A
    },
  ) => Effect.Effect<A, BusError>
  /** Removes expired bindings (and records left empty); returns how many records changed. */
  readonly sweep: (now: number) => Effect.Effect<number, BusError>
}

export const bindingStore = (kv: KvStore): BindingStore => {
  const modify: BindingStore["modify"] = (aor, change) =>
    Effect.gen(function* () {
      const key = aorKey(aor)
      for (let attempt = 0; ; attempt++) {
        const entry = yield* kv.get(key)
        const current = entry === undefined ? [] : (decodeAorRecord(entry.value)?.bindings ?? [])
        const { write, result } = change(current)
        if (write === undefined) return result
        const value = json({ aor, bindings: write })
        // An emptied record stays (empty) until the sweep: removing it here could not be compare-and-set.
        if (write.length === 0 && entry === undefined) return result
        const written = yield* (
          entry === undefined ? kv.create(key, value) : kv.update(key, value, entry.revision)
        ).pipe(
          Effect.as(true),
          Effect.catchTag("KvConflict", () => Effect.succeed(false)),
        )
        if (written) return result
        if (attempt >= CAS_ATTEMPTS) return result
      }
    })
  return {
    read: (aor) =>
      kv
        .get(aorKey(aor))
        .pipe(Effect.map((e) => (e === undefined ? [] : (decodeAorRecord(e.value)?.bindings ?? [])))),
    modify,
    sweep: (now) =>
      Effect.gen(function* () {
        let changed = 0
        for (const key of yield* kv.keys("aor.>")) {
          const entry = yield* kv.get(key)
          const record = entry === undefined ? undefined : decodeAorRecord(entry.value)
          if (entry === undefined) continue
          if (record === undefined) {
            yield* kv.remove(key)
            changed++
            continue
          }
          const live = record.bindings.filter((b) => b.expiresAt > now)
          if (live.length === record.bindings.length) continue
          changed++
          // A lost compare-and-set means someone just wrote the record: the next sweep looks again.
          if (live.length === 0)
            yield* kv.update(key, json({ aor: record.aor, bindings: [] }), entry.revision).pipe(
              Effect.andThen(kv.remove(key)),
              Effect.catchTag("KvConflict", () => Effect.void),
            )
          else
            yield* kv.update(key, json({ aor: record.aor, bindings: live }), entry.revision).pipe(
              Effect.asVoid,
              Effect.catchTag("KvConflict", () => Effect.void),
            )
        }
        return changed
      }),
  }
}

// ---------------------------------------------------------------------------------------------------
// Nonce counts

export interface NonceCounts {
  /**
   * Records `nc` for `nonce` if it is higher than every count seen before, on any instance
   * (create-only for the first use, compare-and-set after). False: a replay (RFC 7616 §3.4.6 / §5.12).
   */
  readonly accept: (nonce: string, nc: number, issuedAt: number) => Effect.Effect<boolean, BusError>
  /** Removes the counts of nonces older than `lifetimeMs` (they can only be stale now). */
  readonly sweep: (now: number, lifetimeMs: number) => Effect.Effect<number, BusError>
}

const decodeCount = (data: Uint8Array): { nc: number; issuedAt: number } | undefined => {
  const v = parseJson(data)
  return isObject(v) && typeof v.nc === "number" && typeof v.issuedAt === "number"
    ? { nc: v.nc, issuedAt: v.issuedAt }
    : undefined
}

export const nonceCounts = (kv: KvStore): NonceCounts => ({
  accept: (nonce, nc, issuedAt) =>
    Effect.gen(function* () {
      const key = `n.${hash(nonce)}`
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const entry = yield* kv.get(key)
        const value = json({ nc, issuedAt })
        if (entry === undefined) {
          const created = yield* kv.create(key, value).pipe(
            Effect.as(true),
            Effect.catchTag("KvConflict", () => Effect.succeed(false)),
          )
          if (created) return true
          continue
        }
        const seen = decodeCount(entry.value)
        if (seen !== undefined && nc <= seen.nc) return false
        const updated = yield* kv.update(key, value, entry.revision).pipe(
          Effect.as(true),
          Effect.catchTag("KvConflict", () => Effect.succeed(false)),
        )
        if (updated) return true
      }
      // Persistent contention on one nonce is itself suspicious: refuse.
      return false
    }),
  sweep: (now, lifetimeMs) =>
    Effect.gen(function* () {
      let removed = 0
      for (const key of yield* kv.keys("n.>")) {
        const entry = yield* kv.get(key)
        const seen = entry === undefined ? undefined : decodeCount(entry.value)
        if (seen === undefined || now - seen.issuedAt > lifetimeMs) {
          yield* kv.remove(key)
          removed++
        }
      }
      return removed
    }),
})

// ---------------------------------------------------------------------------------------------------
// Credentials

export const credentialKey = (realm: string, username: string): string =>
  `c.${hash(`${realm}\u0000${username}`)}`

const decodeCredential = (data: Uint8Array): StoredCredential | undefined => {
  const v = parseJson(data)
  if (
    !isObject(v) ||
    typeof v.username !== "string" ||
    typeof v.realm !== "string" ||
    typeof v.aor !== "string"
  )
    return undefined
  const ha1 = isObject(v.ha1) ? v.ha1 : {}
  const text = (x: unknown) => (typeof x === "string" ? x : undefined)
  return {
    username: v.username,
    realm: v.realm,
    aor: v.aor,
    ha1: { MD5: text(ha1.MD5), "SHA-256": text(ha1["SHA-256"]) },
  }
}

export interface CredentialStore {
  readonly find: (realm: string, username: string) => Effect.Effect<StoredCredential | undefined, BusError>
  /** Writes the configured credentials and removes the others (the file is the source of truth until
   *  the admin API lands). */
  readonly seed: (credentials: ReadonlyArray<StoredCredential>) => Effect.Effect<void, BusError>
}

export const credentialStore = (kv: KvStore): CredentialStore => ({
  find: (realm, username) =>
    kv
      .get(credentialKey(realm, username))
      .pipe(Effect.map((e) => (e === undefined ? undefined : decodeCredential(e.value)))),
  seed: (credentials) =>
    Effect.gen(function* () {
      const keep = new Set(credentials.map((c) => credentialKey(c.realm, c.username)))
      for (const c of credentials) yield* kv.put(credentialKey(c.realm, c.username), json(c))
      // A user removed from the file loses its credentials (the file is the source of truth for now).
      for (const key of yield* kv.keys("c.>")) if (!keep.has(key)) yield* kv.remove(key)
    }),
})
