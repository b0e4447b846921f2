/**
 * The relay's control plane on NATS (contract v1, `@b2bua/contracts` Relay): request/reply for create,
 * update, delete and renew on this relay's subjects; an announce every second; media events to each
 * session's owner; lease expiry. Requests are decoded and validated here; a bad one is answered with
 * `bad-request` naming the field, never dropped.
 */
import { Bus, type BusMessage } from "@b2bua/bus"
import {
  decodeCreateSession,
  decodeDeleteSession,
  decodeRenewLease,
  decodeUpdateSession,
  encodeRelayPayload,
  type LeaseRenewed,
  RelayContractError,
  type RelayReply,
  relaySubjects,
  type SessionCreated,
  type SessionDeleted,
  type SessionUpdated,
} from "@b2bua/contracts"
import { Metrics } from "@b2bua/telemetry"
import { Effect, Exit, Schedule, Scope } from "effect"
import type { RelayConfig } from "./Config.js"
import { ForwardingPlane } from "./ForwardingPlane.js"
import { makeRelayMetrics, type RelayOperation } from "./RelayTelemetry.js"
import {
  makeSessionManager,
  type OwnerEvent,
  type RelayFailure,
  type SessionManager,
} from "./SessionManager.js"

type Body = SessionCreated | SessionUpdated | SessionDeleted | LeaseRenewed

export interface RunningRelay {
  readonly manager: SessionManager
  readonly backend: string
}

const reply = (msg: BusMessage, value: RelayReply<Body>) =>
  msg
    .respond(encodeRelayPayload(value))
    .pipe(
      Effect.catch((e) =>
        Effect.logWarning("relay reply failed", { subject: msg.subject, error: e.message }),
      ),
    )

/** Serves one request subject: decode → handle → reply ok or error (counted by outcome). */
const serve = <Req, Res extends Body>(
  bus: typeof Bus.Service,
  subject: string,
  decode: (data: Uint8Array) => Req | RelayContractError,
  handle: (req: Req) => Effect.Effect<Res, RelayFailure>,
  served: (outcome: string) => void,
) =>
  bus.subscribe(
    subject,
    (msg) => {
      const req = decode(msg.data)
      if (req instanceof RelayContractError) {
        served("bad-request")
        return reply(msg, { v: 1, error: { code: "bad-request", reason: req.message } })
      }
      return handle(req).pipe(
        Effect.matchEffect({
          onSuccess: (ok) =>
            Effect.andThen(
              Effect.sync(() => served("ok")),
              reply(msg, { v: 1, ok }),
            ),
          onFailure: (e) =>
            Effect.andThen(
              Effect.sync(() => served(e.code)),
              reply(msg, { v: 1, error: { code: e.code, reason: e.reason } }),
            ),
        }),
      )
    },
    // One at a time per subject: session operations are short and the manager serialises them anyway.
    { concurrency: 1 },
  )

export const runRelay = (
  config: RelayConfig,
  /** Registers the graceful drain (SIGTERM) with the process runtime; tests may leave it out. */
  registerDrain: (drain: Effect.Effect<void>) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<RunningRelay, never, Bus | ForwardingPlane | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const plane = yield* ForwardingPlane
    // Sessions and capacity are read at scrape time; the manager exists by then.
    let running: SessionManager | undefined
    const metrics = makeRelayMetrics(yield* Metrics, {
      sessions: () => running?.count() ?? 0,
      capacity: () => running?.capacity ?? 0,
    })
    const manager = yield* makeSessionManager({
      address: config.address,
      ports: config.ports,
      maxSessions: config.maxSessions,
      quarantineMs: config.quarantineMs,
      mediaTimeoutMs: config.mediaTimeoutMs,
      meter: metrics.meter,
    })
    running = manager
    const served = (operation: RelayOperation) => (outcome: string) => metrics.request(operation, outcome)
    const id = config.relayId
    const subscribe = Effect.orDie
    // New sessions and announcements live in a scope of their own: draining closes it, so negotiators
    // stop choosing this relay while the sessions it has keep forwarding until they end.
    const intake = yield* Scope.make()
    yield* subscribe(
      serve(bus, relaySubjects.create(id), decodeCreateSession, manager.create, served("create")),
    ).pipe(Effect.provideService(Scope.Scope, intake))
    yield* subscribe(
      serve(bus, relaySubjects.update(id), decodeUpdateSession, manager.update, served("update")),
    )
    yield* subscribe(
      serve(bus, relaySubjects.delete(id), decodeDeleteSession, manager.remove, served("delete")),
    )
    yield* subscribe(serve(bus, relaySubjects.renew(id), decodeRenewLease, manager.renew, served("renew")))

    const publishEvent = (e: OwnerEvent) =>
      Effect.andThen(
        Effect.sync(() => metrics.event(e.body)),
        bus
          .publish(
            relaySubjects.events(e.owner),
            encodeRelayPayload({ v: 1, relayId: id, sessionId: e.sessionId, ...e.body }),
          )
          .pipe(
            Effect.catch((err) => Effect.logWarning("relay event not published", { error: err.message })),
          ),
      )

    // Leases, media timeouts and digits, every poll interval.
    const tick = Effect.gen(function* () {
      const expired = yield* manager.expireLeases()
      for (const e of expired) {
        yield* Effect.logInfo("session lease expired", { sessionId: e.sessionId, owner: e.owner })
        yield* publishEvent(e)
      }
      for (const e of yield* manager.poll()) yield* publishEvent(e)
    })
    yield* Effect.forkScoped(tick.pipe(Effect.repeat(Schedule.spaced(config.pollMs))))

    // Announce: load is the larger of session occupancy and the process's CPU share since the last one.
    let cpu = process.cpuUsage()
    let wall = process.hrtime.bigint()
    const announce = Effect.gen(function* () {
      const nowCpu = process.cpuUsage()
      const nowWall = process.hrtime.bigint()
      const busy =
        (nowCpu.user - cpu.user + nowCpu.system - cpu.system) / Math.max(1, Number(nowWall - wall) / 1000)
      cpu = nowCpu
      wall = nowWall
      const sessions = manager.count()
      const load = Math.min(1, Math.max(sessions / Math.max(1, manager.capacity), busy))
      yield* bus
        .publish(
          relaySubjects.announce(),
          encodeRelayPayload({
            v: 1,
            relayId: id,
            address: config.address,
            sessions,
            capacity: manager.capacity,
            load: Math.round(load * 1000) / 1000,
          }),
        )
        .pipe(Effect.catch((err) => Effect.logWarning("announce not published", { error: err.message })))
    })
    yield* Effect.forkScoped(announce.pipe(Effect.repeat(Schedule.spaced(config.announceMs)))).pipe(
      Effect.provideService(Scope.Scope, intake),
    )
    yield* registerDrain(
      Effect.gen(function* () {
        yield* Scope.close(intake, Exit.void)
        yield* Effect.logInfo("draining: no new sessions", { sessions: manager.count() })
        while (manager.count() > 0) yield* Effect.sleep(200)
        yield* Effect.logInfo("drained")
      }),
    )
    yield* Effect.logInfo("rtp relay ready", {
      relayId: id,
      backend: plane.backend,
      address: config.address,
      ports: `${config.ports.min}-${config.ports.max}`,
      capacity: manager.capacity,
    })
    return { manager, backend: plane.backend }
  })
