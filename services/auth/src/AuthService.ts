/**
 * The auth service: the registrar on `Subjects.authRegister()` (queue group "auth"), the identify and
 * locate request/reply APIs, responses to the suite's own REGISTERs on this instance's subject, the
 * periodic sweep of expired KV state, and the outbound registrations this instance holds the lease of.
 */
import { Bus, type BusMessage, openKv } from "@b2bua/bus"
import {
  authSubjects,
  decodeAuthBlock,
  decodeIdentifyRequest,
  decodeLocateRequest,
  decodeOutboundStateRequest,
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeAuthPayload,
  encodeNewRequestReply,
  QueueGroups,
  type SipEnvelopeMeta,
  Subjects,
} from "@b2bua/contracts"
import { parseMessage, type SipMessage } from "@b2bua/sip"
import { Metrics } from "@b2bua/telemetry"
import { Clock, Effect, Schedule, type Scope } from "effect"
import { makeAuthenticator } from "./Authenticator.js"
import type { AuthServiceConfig } from "./Config.js"
import { makeIdentify } from "./Identify.js"
import { makeLocate } from "./Locate.js"
import { type OutboundRegistrations, runOutboundRegistrations } from "./OutboundRegistrations.js"
import { makeRegistrar, type RegistrarStats } from "./Registrar.js"
import { storedTrunks } from "./StoredTrunks.js"
import { bindingStore, credentialStore, nonceCounts } from "./Stores.js"

/** How often the shared trunk store is read again (call control uses the same delay). */
const TRUNK_REFRESH_MS = 2000

export interface RunningAuth {
  readonly registrar: RegistrarStats
  readonly outbound: OutboundRegistrations
}

/** Handlers at once per subscription: each waits mostly on KV round trips. */
const CONCURRENCY = 64

/**
 * A handler that fails in an unforeseen way (a defect) is logged and the subscription goes on: one bad
 * message must not stop the registrar.
 */
const guard =
  (subject: string) =>
  <E>(handler: Effect.Effect<void, E>): Effect.Effect<void> =>
    handler.pipe(
      Effect.catchCause((cause) =>
        Effect.logError("handler failed").pipe(Effect.annotateLogs({ subject, cause: String(cause) })),
      ),
    )

export const runAuth = (config: AuthServiceConfig): Effect.Effect<RunningAuth, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const bindings = bindingStore(yield* openKv("registrations").pipe(Effect.orDie))
    const counts = nonceCounts(yield* openKv("auth-nc").pipe(Effect.orDie))
    const credentials = credentialStore(yield* openKv("auth-credentials").pipe(Effect.orDie))
    yield* credentials.seed(config.credentials).pipe(Effect.orDie)
    const authenticator = makeAuthenticator({
      nonceKey: config.nonceKey,
      nonceLifetimeMs: config.nonceLifetimeMs,
      bruteForce: config.bruteForce,
      credentials,
      counts,
      announceBlock: (key, until) =>
        bus.publish(authSubjects.blocks(), encodeAuthPayload({ v: 1, key, until })).pipe(Effect.ignore),
    })
    // Failures are counted per instance; a block, once decided, holds on every instance.
    yield* bus
      .subscribe(authSubjects.blocks(), (m) =>
        Effect.gen(function* () {
          const block = decodeAuthBlock(m.data)
          if (typeof block === "string") return
          authenticator.limiter.block(block.key, block.until, yield* Clock.currentTimeMillis)
        }).pipe(guard(authSubjects.blocks())),
      )
      .pipe(Effect.orDie)
    const registrar = makeRegistrar({ config, bus, bindings, authenticator })
    const identify = makeIdentify({
      config,
      trunks: yield* storedTrunks(config.trunks, TRUNK_REFRESH_MS),
      authenticator,
    })
    // Who called, as operators count it: trunk, user, challenge (407), refused (403), dropped.
    const identifications = (yield* Metrics).counter("auth_identifications_total", {
      description: "identify requests answered, by result (trunk, user, challenge, refused, dropped)",
      labels: ["result"],
    })
    const identified = (request: Parameters<typeof identify>[0]) =>
      identify(request).pipe(
        Effect.tap((reply) =>
          Effect.sync(() =>
            identifications.add({
              result:
                "trunk" in reply
                  ? "trunk"
                  : "user" in reply
                    ? "user"
                    : "challenge" in reply
                      ? "challenge"
                      : "refuse" in reply
                        ? "refused"
                        : "dropped",
            }),
          ),
        ),
      )
    const locate = makeLocate(bindings)
    const outbound = yield* runOutboundRegistrations(config)

    const parse = (m: BusMessage): { meta: SipEnvelopeMeta; sip: SipMessage } | undefined => {
      const meta = decodeSipEnvelopeMeta({ get: m.header })
      if (meta instanceof EnvelopeError) return undefined
      const parsed = parseMessage(m.data)
      return parsed.ok ? { meta, sip: parsed.message } : undefined
    }

    const dispatch = (meta: SipEnvelopeMeta, sip: SipMessage) =>
      sip.kind === "request"
        ? sip.method === "REGISTER"
          ? registrar.handle(meta, sip)
          : Effect.void
        : outbound.onResponse(sip)

    // The edge asks the queue group to take a REGISTER; the reply names this instance (retransmissions
    // then come here directly, where the response cache answers them).
    yield* bus
      .subscribe(
        Subjects.authRegister(),
        (m) =>
          Effect.gen(function* () {
            yield* m.respond(encodeNewRequestReply({ v: 1, owner: config.instance })).pipe(Effect.ignore)
            const decoded = parse(m)
            if (decoded !== undefined) yield* dispatch(decoded.meta, decoded.sip)
          }).pipe(guard(Subjects.authRegister())),
        { queue: QueueGroups.auth, concurrency: CONCURRENCY },
      )
      .pipe(Effect.orDie)

    yield* bus
      .subscribe(
        Subjects.authInstance(config.instance),
        (m) =>
          Effect.gen(function* () {
            yield* m.respond(new Uint8Array()).pipe(Effect.ignore)
            const decoded = parse(m)
            if (decoded !== undefined) yield* dispatch(decoded.meta, decoded.sip)
          }).pipe(guard(Subjects.authInstance(config.instance))),
        { concurrency: CONCURRENCY },
      )
      .pipe(Effect.orDie)

    const serve = <Q, A>(
      subject: string,
      decode: (data: Uint8Array) => Q | string,
      handle: (request: Q) => Effect.Effect<A, unknown>,
      encode: (reply: A) => Uint8Array,
    ) =>
      bus
        .subscribe(
          subject,
          (m) =>
            Effect.gen(function* () {
              const request = decode(m.data)
              if (typeof request === "string") {
                yield* Effect.logWarning("bad request").pipe(
                  Effect.annotateLogs({ subject, reason: request }),
                )
                return yield* m.respond(new TextEncoder().encode(JSON.stringify({ v: 1, error: request })))
              }
              const reply = yield* handle(request)
              yield* m.respond(encode(reply))
            }).pipe(
              Effect.catch((e) =>
                Effect.logWarning("request not answered").pipe(
                  Effect.annotateLogs({ subject, error: e instanceof Error ? e.message : String(e) }),
                ),
              ),
              guard(subject),
            ),
          { queue: QueueGroups.auth, concurrency: CONCURRENCY },
        )
        .pipe(Effect.orDie)

    yield* serve(authSubjects.identify(), decodeIdentifyRequest, identified, encodeAuthPayload)
    yield* serve(authSubjects.locate(), decodeLocateRequest, locate, encodeAuthPayload)
    yield* serve(authSubjects.outboundState(), decodeOutboundStateRequest, outbound.state, encodeAuthPayload)

    // nats-server 2.9 has no per-key TTL: expired bindings and old nonce counts are swept.
    const sweep = Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const aors = yield* bindings.sweep(now)
      const nonces = yield* counts.sweep(now, config.nonceLifetimeMs)
      if (aors + nonces > 0)
        yield* Effect.logDebug("swept").pipe(
          Effect.annotateLogs({ aors: String(aors), nonces: String(nonces) }),
        )
    }).pipe(
      Effect.catch((e) => Effect.logWarning("sweep failed").pipe(Effect.annotateLogs({ error: e.message }))),
    )
    yield* Effect.forkScoped(
      sweep.pipe(guard("sweep"), Effect.repeat(Schedule.spaced(config.sweepIntervalMs))),
    )

    if (!config.nonceKeyShared)
      yield* Effect.logWarning("no B2BUA_NONCE_KEY: a random nonce key; run one instance only")
    yield* Effect.logInfo("auth ready").pipe(
      Effect.annotateLogs({
        instance: config.instance,
        domains: config.domains.map((d) => d.name).join(","),
        users: String(config.credentials.length),
        trunks: String(config.trunks.length),
        outbound: String(config.outbound.length),
      }),
    )
    return { registrar: registrar.stats, outbound }
  })
