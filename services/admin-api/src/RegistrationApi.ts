/**
 * RegistrationService: the registrar's bindings from KV `registrations` (written by the auth service:
 * key `aor.<first 40 hex of sha256(aor)>`, value `{aor, bindings[]}`, each binding with its own expiry,
 * since nats-server 2.9 has no per-key TTL) and the suite's registrations to carriers, asked of the auth
 * service. Removing a binding rewrites the record with compare-and-set, as the auth service does.
 */
import { createHash } from "node:crypto"
import type {
  Binding,
  GetBindingsRequest,
  ListBindingsRequest,
  ListOutboundRegistrationsRequest,
  RegistrationServiceServer,
  RemoveBindingRequest,
} from "@b2bua/admin-proto"
import type { BusError, BusShape, KvStore } from "@b2bua/bus"
import { authSubjects, decodeOutboundStateReply, encodeAuthPayload } from "@b2bua/contracts"
import { Effect } from "effect"
import {
  Conflict,
  DeadlineExceeded,
  Internal,
  InvalidArgument,
  NotFound,
  Unavailable,
} from "./AdminErrors.js"
import { type Run, unary } from "./GrpcHandlers.js"
import { pageOf } from "./Paging.js"
import { fromResult } from "./Validation.js"

/** The auth service's key for an address-of-record (services/auth Stores.ts). */
export const aorKey = (aor: string): string =>
  `aor.${createHash("sha256").update(aor).digest("hex").slice(0, 40)}`

interface StoredBinding {
  readonly uri: string
  readonly params: string
  readonly q: number
  readonly expiresAt: number
  readonly callId: string
  readonly cseq: number
  readonly source: { readonly host: string; readonly port: number; readonly transport?: string }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null

const isBinding = (b: unknown): b is StoredBinding =>
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

/** Pure: the record of one address-of-record, keeping every binding field (raw) for a rewrite. */
export const decodeAorRecord = (
  data: Uint8Array,
): { readonly aor: string; readonly bindings: ReadonlyArray<unknown> } | undefined => {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(data))
    if (!isObject(v) || typeof v.aor !== "string" || !Array.isArray(v.bindings)) return undefined
    return { aor: v.aor, bindings: v.bindings }
  } catch {
    return undefined
  }
}

const toProto = (aor: string, b: StoredBinding): Binding => ({
  aor,
  contact: b.uri,
  expiresAtMs: b.expiresAt,
  source: b.source.host.includes(":")
    ? `[${b.source.host}]:${b.source.port}`
    : `${b.source.host}:${b.source.port}`,
  transport: typeof b.source.transport === "string" ? b.source.transport : "",
  callId: b.callId,
  cseq: b.cseq,
  q: b.q,
  params: b.params,
})

/** Live bindings of a record at `now` (expired ones are ignored before the auth service sweeps them). */
const liveOf = (aor: string, bindings: ReadonlyArray<unknown>, now: number): ReadonlyArray<Binding> =>
  bindings.filter(isBinding).flatMap((b) => (b.expiresAt > now ? [toProto(aor, b)] : []))

const unavailable = (e: BusError) => new Unavailable({ reason: e.message })
const CAS_ATTEMPTS = 8
const AUTH_TIMEOUT_MS = 3000

const checkAor = (aor: string) =>
  /^(sips?|tel):\S{1,250}$/i.test(aor)
    ? Effect.succeed(aor)
    : Effect.fail(
        new InvalidArgument({
          field: "aor",
          reason: aor === "" ? "required" : "expected a SIP, SIPS or TEL URI",
        }),
      )

export const registrationService = (run: Run, kv: KvStore, bus: BusShape): RegistrationServiceServer => ({
  listBindings: unary(run, "RegistrationService/ListBindings", (request: ListBindingsRequest) =>
    Effect.gen(function* () {
      const now = Date.now()
      const entries = yield* kv.entries("aor.>").pipe(Effect.mapError(unavailable))
      const rows = entries.flatMap((e) => {
        const record = decodeAorRecord(e.value)
        return record === undefined || !record.aor.startsWith(request.aorPrefix)
          ? []
          : liveOf(record.aor, record.bindings, now)
      })
      const page = yield* fromResult(pageOf(rows, (b) => `${b.aor}\u0000${b.contact}`, request))
      return { bindings: [...page.items], nextPageToken: page.nextPageToken }
    }),
  ),
  getBindings: unary(run, "RegistrationService/GetBindings", (request: GetBindingsRequest) =>
    Effect.gen(function* () {
      const aor = yield* checkAor(request.aor)
      const entry = yield* kv.get(aorKey(aor)).pipe(Effect.mapError(unavailable))
      const record = entry === undefined ? undefined : decodeAorRecord(entry.value)
      const live = record === undefined ? [] : liveOf(record.aor, record.bindings, Date.now())
      if (live.length === 0) return yield* new NotFound({ what: "address of record", id: aor })
      return { bindings: [...live] }
    }),
  ),
  removeBinding: unary(run, "RegistrationService/RemoveBinding", (request: RemoveBindingRequest) =>
    Effect.gen(function* () {
      const aor = yield* checkAor(request.aor)
      if (request.contact === "") return yield* new InvalidArgument({ field: "contact", reason: "required" })
      for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
        const entry = yield* kv.get(aorKey(aor)).pipe(Effect.mapError(unavailable))
        const record = entry === undefined ? undefined : decodeAorRecord(entry.value)
        if (entry === undefined || record === undefined)
          return yield* new NotFound({ what: "address of record", id: aor })
        const rest = record.bindings.filter((b) => !(isBinding(b) && b.uri === request.contact))
        if (rest.length === record.bindings.length)
          return yield* new NotFound({ what: "contact", id: request.contact })
        const value = new TextEncoder().encode(JSON.stringify({ aor: record.aor, bindings: rest }))
        const written = yield* kv.update(entry.key, value, entry.revision).pipe(
          Effect.as(true),
          Effect.catchTags({
            KvConflict: () => Effect.succeed(false),
            BusError: (e) => Effect.fail(unavailable(e)),
          }),
        )
        if (written) return {}
      }
      return yield* new Conflict({ what: "address of record", id: aor })
    }),
  ),
  listOutboundRegistrations: unary(
    run,
    "RegistrationService/ListOutboundRegistrations",
    (_: ListOutboundRegistrationsRequest) =>
      Effect.gen(function* () {
        const reply = yield* bus
          .request(authSubjects.outboundState(), encodeAuthPayload({ v: 1 }), { timeoutMs: AUTH_TIMEOUT_MS })
          .pipe(
            Effect.catchTags({
              BusNoResponders: () =>
                Effect.fail(new Unavailable({ reason: "the auth service is not running" })),
              BusTimeout: () => Effect.fail(new DeadlineExceeded({ operation: "auth outbound state" })),
              BusError: (e) => Effect.fail(unavailable(e)),
            }),
          )
        const decoded = decodeOutboundStateReply(reply.data)
        if (typeof decoded === "string") return yield* new Internal({ reason: `auth replied: ${decoded}` })
        return {
          registrations: decoded.registrations.map((r) => ({
            trunk: r.trunk,
            state: r.state,
            owner: r.owner ?? "",
            expiresAtMs: r.expiresAt ?? 0,
            lastSipCode: r.lastStatus ?? 0,
            lastError: r.lastError ?? "",
            nextAttemptAtMs: r.nextAttemptAt ?? 0,
            updatedAtMs: r.updatedAt,
          })),
        }
      }),
  ),
})
