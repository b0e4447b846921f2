/**
 * The suite's registrations with carriers, one fiber per configured trunk. Exactly one auth instance
 * registers a trunk: it holds a lease in KV `auth-outbound` (create-only to take a free or lapsed
 * lease, compare-and-set to renew); when it dies the lease lapses and another instance takes over.
 * The same record carries the registration's state, so any instance answers the admin API's query.
 * REGISTERs leave through any edge; the Via branch names this instance, so the edge routes the
 * carrier's responses to `Subjects.authInstance(instance)`.
 */
import { randomBytes } from "node:crypto"
import { Bus, type BusError, type KvStore, openKv } from "@b2bua/bus"
import {
  encodeSipEnvelopeHeaders,
  formatHostPort,
  type InstanceId,
  ListenerId,
  makeBranch,
  makeTag,
  OutboundRegistrationState,
  type OutboundStateReply,
  type OutboundStateRequest,
  Subjects,
} from "@b2bua/contracts"
import { type SipMessage, type SipResponse, serializeMessage, viaBranch } from "@b2bua/sip"
import { Clock, Deferred, Effect, Option, Schema, type Scope, Semaphore } from "effect"
import type { AuthServiceConfig, OutboundRegistration } from "./Config.js"
import {
  answerChallenge,
  buildRegister,
  contactUri,
  grantedExpires,
  minExpiresOf,
  pickChallenge,
  refreshDelayMs,
  registrarUri,
  retryDelayMs,
} from "./OutboundRegister.js"

export interface OutboundRegistrations {
  /** A response whose Via branch names this instance. */
  readonly onResponse: (response: SipMessage) => Effect.Effect<void>
  readonly state: (request: OutboundStateRequest) => Effect.Effect<OutboundStateReply, BusError>
}

interface LeaseRecord {
  readonly owner: string
  readonly leaseUntil: number
  readonly state: OutboundRegistrationState
}

const encoder = new TextEncoder()
const decodeLease = (data: Uint8Array): LeaseRecord | undefined => {
  try {
    const v: unknown = JSON.parse(new TextDecoder().decode(data))
    if (typeof v !== "object" || v === null) return undefined
    const r = new Map(Object.entries(v))
    const owner = r.get("owner")
    const leaseUntil = r.get("leaseUntil")
    const state = r.get("state")
    const decoded = Schema.decodeUnknownOption(OutboundRegistrationState)(state)
    if (typeof owner !== "string" || typeof leaseUntil !== "number" || Option.isNone(decoded))
      return undefined
    return { owner, leaseUntil, state: decoded.value }
  } catch {
    return undefined
  }
}

const leaseKey = (trunk: string): string => `t.${trunk}`

/** RFC 3261 §17.1.2.2: Timer E starts at T1 and doubles up to T2; Timer F gives up at 64*T1. */
const T1 = 500
const T2 = 4000
const TIMER_F = 64 * T1

type Attempt =
  | { readonly _tag: "Registered"; readonly granted: number; readonly status: number }
  | { readonly _tag: "Failed"; readonly status?: number | undefined; readonly error: string }

export const runOutboundRegistrations = (
  config: AuthServiceConfig,
): Effect.Effect<OutboundRegistrations, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const kv: KvStore = yield* openKv("auth-outbound").pipe(Effect.orDie)
    const owner = { kind: "auth" as const, instance: config.instance as InstanceId }
    const pending = new Map<string, Deferred.Deferred<SipResponse>>()
    const random = () => randomBytes(6).toString("hex")

    const onResponse = (response: SipMessage) =>
      Effect.gen(function* () {
        if (response.kind !== "response" || response.status < 200) return
        const branch = viaBranch(response.topVia)
        const waiter = branch === undefined ? undefined : pending.get(branch)
        if (waiter !== undefined) yield* Deferred.succeed(waiter, response)
      })

    const state = (request: OutboundStateRequest) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const trunks = config.outbound
          .map((o) => o.trunk)
          .filter((t) => request.trunk === undefined || request.trunk === t)
        const registrations: OutboundRegistrationState[] = []
        for (const trunk of trunks) {
          const entry = yield* kv.get(leaseKey(trunk))
          const record = entry === undefined ? undefined : decodeLease(entry.value)
          registrations.push(
            record === undefined
              ? { trunk, state: "Unregistered", updatedAt: now }
              : { ...record.state, owner: record.leaseUntil > now ? record.owner : undefined },
          )
        }
        return { v: 1 as const, registrations }
      })

    /** One trunk: take the lease when free, register and refresh while holding it, start over when lost. */
    const runTrunk = (reg: OutboundRegistration) =>
      Effect.gen(function* () {
        const lock = yield* Semaphore.make(1)
        let revision = 0
        let current: OutboundRegistrationState = { trunk: reg.trunk, state: "Unregistered", updatedAt: 0 }

        /** Writes the lease and state with compare-and-set; false when another instance holds it. */
        const write = (next: OutboundRegistrationState) =>
          lock.withPermits(1)(
            Effect.gen(function* () {
              const now = yield* Clock.currentTimeMillis
              const record: LeaseRecord = {
                owner: config.instance,
                leaseUntil: now + config.leaseMs,
                state: { ...next, owner: config.instance, updatedAt: now },
              }
              const ok = yield* kv
                .update(leaseKey(reg.trunk), encoder.encode(JSON.stringify(record)), revision)
                .pipe(
                  Effect.map((r) => {
                    revision = r
                    current = record.state
                    return true
                  }),
                  Effect.catchTag("KvConflict", () => Effect.succeed(false)),
                )
              return ok
            }),
          )

        const acquire = Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const entry = yield* kv.get(leaseKey(reg.trunk))
          const record = entry === undefined ? undefined : decodeLease(entry.value)
          const initial: LeaseRecord = {
            owner: config.instance,
            leaseUntil: now + config.leaseMs,
            state: { trunk: reg.trunk, state: "Unregistered", owner: config.instance, updatedAt: now },
          }
          const value = encoder.encode(JSON.stringify(initial))
          if (entry === undefined) {
            return yield* kv.create(leaseKey(reg.trunk), value).pipe(
              Effect.map((r) => {
                revision = r
                return true
              }),
              Effect.catchTag("KvConflict", () => Effect.succeed(false)),
            )
          }
          // A lapsed lease (its holder died) or our own from a previous run is taken with compare-and-set.
          if (record !== undefined && record.leaseUntil > now && record.owner !== config.instance)
            return false
          return yield* kv.update(leaseKey(reg.trunk), value, entry.revision).pipe(
            Effect.map((r) => {
              revision = r
              return true
            }),
            Effect.catchTag("KvConflict", () => Effect.succeed(false)),
          )
        })

        /** Sends a REGISTER and waits for its final response, retransmitting over UDP (§17.1.2.2). */
        const exchange = (bytes: Uint8Array, branch: string) =>
          Effect.gen(function* () {
            const done = yield* Deferred.make<SipResponse>()
            pending.set(branch, done)
            const headers = encodeSipEnvelopeHeaders({
              edge: config.instance,
              listener: ListenerId(`${reg.transport}:any`),
              transport: reg.transport,
              local: formatHostPort(config.sipAddress.host, config.sipAddress.port),
              remote: formatHostPort(reg.registrar.host, reg.registrar.port),
            })
            let waited = 0
            let interval = T1
            const loop = Effect.gen(function* () {
              while (waited < TIMER_F) {
                yield* bus.publish(Subjects.edgeSendAny(), bytes, headers)
                const wait = reg.transport === "udp" ? Math.min(interval, TIMER_F - waited) : TIMER_F
                const got = yield* Deferred.await(done).pipe(Effect.timeoutOption(wait))
                if (Option.isSome(got)) return got.value
                waited += wait
                interval = Math.min(interval * 2, T2)
              }
              return undefined
            })
            return yield* loop.pipe(Effect.ensuring(Effect.sync(() => pending.delete(branch))))
          })

        const callId = `${random()}@${config.sipAddress.host}`
        const fromTag = makeTag(owner, random())
        let cseq = 0
        let challenge:
          | {
              header: "Authorization" | "Proxy-Authorization"
              nc: number
              c: ReturnType<typeof pickChallenge>
            }
          | undefined
        let expires = reg.expires

        /** One registration: REGISTER, answer at most one fresh challenge and one 423. */
        const attempt = Effect.gen(function* () {
          let answeredFresh = false
          for (let round = 0; round < 4; round++) {
            cseq++
            const branch = makeBranch(owner, random())
            let credentials: readonly [string, string] | undefined
            if (challenge?.c !== undefined) {
              challenge.nc++
              credentials = [
                challenge.header,
                answerChallenge({
                  challenge: challenge.c.challenge,
                  username: reg.username,
                  password: reg.password,
                  method: "REGISTER",
                  uri: registrarUri(reg),
                  nc: challenge.nc,
                  cnonce: random(),
                }),
              ]
            }
            const request = buildRegister({
              registration: reg,
              local: config.sipAddress,
              callId,
              fromTag,
              cseq,
              branch,
              expires,
              credentials,
            })
            const response = yield* exchange(serializeMessage(request), branch)
            if (response === undefined)
              return { _tag: "Failed", error: "no response (Timer F)" } satisfies Attempt
            if (response.status >= 200 && response.status < 300) {
              const granted = grantedExpires(
                response,
                contactUri({ registration: reg, local: config.sipAddress }),
                expires,
              )
              return { _tag: "Registered", granted, status: response.status } satisfies Attempt
            }
            if (response.status === 401 || response.status === 407) {
              const picked = pickChallenge(response)
              if (picked === undefined)
                return {
                  _tag: "Failed",
                  status: response.status,
                  error: "no usable Digest challenge",
                } satisfies Attempt
              // Credentials computed from a challenge just received were refused: the password is wrong.
              if (answeredFresh && !picked.challenge.stale)
                return {
                  _tag: "Failed",
                  status: response.status,
                  error: "credentials refused",
                } satisfies Attempt
              challenge = { header: picked.header, nc: 0, c: picked }
              answeredFresh = true
              continue
            }
            if (response.status === 423) {
              const min = minExpiresOf(response)
              if (min === undefined || min <= expires)
                return {
                  _tag: "Failed",
                  status: 423,
                  error: "423 without a usable Min-Expires",
                } satisfies Attempt
              expires = min
              continue
            }
            return { _tag: "Failed", status: response.status, error: response.reason } satisfies Attempt
          }
          return { _tag: "Failed", error: "too many rounds" } satisfies Attempt
        })

        const register = Effect.gen(function* () {
          let failures = 0
          for (;;) {
            yield* write({ ...current, state: "Registering" })
            const result = yield* attempt
            const now = yield* Clock.currentTimeMillis
            if (result._tag === "Registered") {
              failures = 0
              const delay = refreshDelayMs(result.granted)
              yield* write({
                trunk: reg.trunk,
                state: "Registered",
                expiresAt: now + result.granted * 1000,
                lastStatus: result.status,
                nextAttemptAt: now + delay,
                updatedAt: now,
              })
              yield* Effect.logInfo("registered with carrier").pipe(
                Effect.annotateLogs({ trunk: reg.trunk, expires: String(result.granted) }),
              )
              yield* Effect.sleep(delay)
            } else {
              failures++
              const delay = retryDelayMs(failures, config.retryBaseMs, config.retryMaxMs)
              yield* write({
                trunk: reg.trunk,
                state: "Failed",
                lastStatus: result.status,
                lastError: result.error,
                nextAttemptAt: now + delay,
                updatedAt: now,
              })
              yield* Effect.logWarning("carrier registration failed").pipe(
                Effect.annotateLogs({
                  trunk: reg.trunk,
                  status: String(result.status ?? ""),
                  error: result.error,
                }),
              )
              yield* Effect.sleep(delay)
            }
          }
        })

        /** Renews the lease at a third of its length; returns when the lease is lost. */
        const keepLease = Effect.gen(function* () {
          for (;;) {
            yield* Effect.sleep(Math.floor(config.leaseMs / 3))
            if (!(yield* write(current))) return
          }
        })

        const release = lock.withPermits(1)(
          Effect.gen(function* () {
            const record: LeaseRecord = { owner: config.instance, leaseUntil: 0, state: current }
            yield* kv
              .update(leaseKey(reg.trunk), encoder.encode(JSON.stringify(record)), revision)
              .pipe(Effect.ignore)
          }),
        )

        for (;;) {
          const held = yield* acquire.pipe(Effect.catch(() => Effect.succeed(false)))
          if (held) {
            yield* Effect.logInfo("outbound registration lease taken").pipe(
              Effect.annotateLogs({ trunk: reg.trunk }),
            )
            // Whichever ends first: losing the lease stops registering (another instance has it now).
            // On a clean stop the lease is handed back at once: another instance need not wait for it to lapse.
            yield* Effect.raceFirst(
              keepLease.pipe(Effect.catch(() => Effect.void)),
              register.pipe(Effect.catch(() => Effect.void)),
            ).pipe(Effect.onInterrupt(() => release))
            yield* Effect.logInfo("outbound registration lease lost").pipe(
              Effect.annotateLogs({ trunk: reg.trunk }),
            )
          }
          yield* Effect.sleep(Math.floor(config.leaseMs / 3))
        }
      })

    // An unforeseen failure of one trunk's fiber is logged and the trunk starts over after a lease period.
    for (const reg of config.outbound)
      yield* Effect.forkScoped(
        runTrunk(reg).pipe(
          Effect.catchCause((cause) =>
            Effect.logError("outbound registration failed").pipe(
              Effect.annotateLogs({ trunk: reg.trunk, cause: String(cause) }),
            ),
          ),
          Effect.andThen(Effect.sleep(config.leaseMs)),
          Effect.forever,
        ),
      )
    return { onResponse, state }
  })
