/**
 * The relay's sessions: create (two legs, each an even RTP port with RTCP next, from the configured
 * range), update (renegotiation, hold, new remote, payload-type map, T.38), delete, lease renewal and
 * expiry, the capacity guard, and the periodic look at the counters (media timeout, RFC 4733 digits).
 * It programs the forwarding plane; it never touches a packet. Time comes from Effect's Clock.
 */
import type {
  CreateSession,
  DeleteSession,
  InstanceId,
  LeaseRenewed,
  LegName,
  LocalLeg,
  RelayErrorCode,
  RelayEventBody,
  RenewLease,
  SessionCreated,
  SessionDeleted,
  SessionStats,
  SessionUpdated,
  UpdateSession,
} from "@b2bua/contracts"
import { dtmfDigit } from "@b2bua/rtp"
import { Clock, Data, Effect, Semaphore } from "effect"
import { ForwardingPlane, type LegCounters, type PortInUse } from "./ForwardingPlane.js"
import { makePortAllocator } from "./PortAllocator.js"
import type { RelayMeter } from "./RelayTelemetry.js"
import {
  mediaTimeout,
  mergeLegSpec,
  programFor,
  remoteChanged,
  type Session,
  streamStatsOf,
} from "./Session.js"

export class RelayFailure extends Data.TaggedError("RelayFailure")<{
  readonly code: RelayErrorCode
  readonly reason: string
}> {
  override get message(): string {
    return `${this.code}: ${this.reason}`
  }
}

export interface SessionManagerOptions {
  readonly address: string
  readonly ports: { readonly min: number; readonly max: number }
  readonly maxSessions: number
  readonly quarantineMs: number
  readonly mediaTimeoutMs: number
  /** Told each leg's counters at every poll and at deletion (the relay's metrics); none in unit tests. */
  readonly meter?: RelayMeter | undefined
}

/** Something to tell a session's owner. */
export interface OwnerEvent {
  readonly owner: InstanceId
  readonly sessionId: string
  readonly body: RelayEventBody
}

export interface SessionManager {
  readonly create: (req: CreateSession) => Effect.Effect<SessionCreated, RelayFailure>
  readonly update: (req: UpdateSession) => Effect.Effect<SessionUpdated, RelayFailure>
  readonly remove: (req: DeleteSession) => Effect.Effect<SessionDeleted, RelayFailure>
  readonly renew: (req: RenewLease) => Effect.Effect<LeaseRenewed, RelayFailure>
  /** Deletes sessions whose lease lapsed; returns a `lease-expired` event for each. */
  readonly expireLeases: () => Effect.Effect<ReadonlyArray<OwnerEvent>>
  /** Reads counters and digits once: media timeouts and RFC 4733 digits to report. */
  readonly poll: () => Effect.Effect<ReadonlyArray<OwnerEvent>>
  readonly stats: (sessionId: string) => Effect.Effect<SessionStats, RelayFailure>
  readonly count: () => number
  readonly capacity: number
}

/** Ports tried per leg before giving up when foreign processes hold some of the range. */
const BIND_ATTEMPTS = 16

export const makeSessionManager = (
  options: SessionManagerOptions,
): Effect.Effect<SessionManager, never, ForwardingPlane> =>
  Effect.gen(function* () {
    const plane = yield* ForwardingPlane
    const lock = yield* Semaphore.make(1)
    const ports = makePortAllocator(options.ports, options.quarantineMs)
    const sessions = new Map<string, Session>()
    const bySlot = new Map<number, { readonly sessionId: string; readonly leg: LegName }>()
    // Two slots per session; a stack of free slots.
    const freeSlots: Array<number> = []
    for (let s = options.maxSessions * 2 - 1; s >= 0; s--) freeSlots.push(s)
    const capacity = Math.min(options.maxSessions, Math.floor(ports.capacity / 2))

    const fail = (code: RelayErrorCode, reason: string) => Effect.fail(new RelayFailure({ code, reason }))
    const find = (id: string) =>
      Effect.suspend(() => {
        const s = sessions.get(id)
        return s === undefined ? fail("not-found", `no session ${id}`) : Effect.succeed(s)
      })
    const local = (s: Session, leg: LegName): LocalLeg => ({
      host: options.address,
      rtpPort: s.legs[leg].port,
      rtcpPort: s.legs[leg].port + 1,
    })
    const legsOf = (s: Session) => ({ a: local(s, "a"), b: local(s, "b") })

    /** Binds a leg on a free pair, trying further pairs when one is held by another process. */
    const bindLeg = (session: Session, leg: LegName, now: number): Effect.Effect<number, RelayFailure> =>
      Effect.gen(function* () {
        for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
          const port = ports.allocate(now)
          if (port === undefined) return yield* fail("no-ports", "the RTP port range is exhausted")
          const bound = yield* plane
            .addLeg(session.legs[leg].slot, options.address, port, programFor(session, leg))
            .pipe(
              Effect.as(true),
              Effect.catchTag("PortInUse", (_: PortInUse) =>
                Effect.sync(() => ports.release(port, now)).pipe(Effect.as(false)),
              ),
              Effect.mapError((e) => new RelayFailure({ code: "internal", reason: e.message })),
            )
          if (bound) return port
        }
        return yield* fail("no-ports", `${BIND_ATTEMPTS} port pairs in a row were held by other processes`)
      })

    const statsOf = (
      s: Session,
      counters: ReadonlyArray<LegCounters>,
      now: number,
      planeNow: number,
    ): SessionStats => {
      const c = (slot: number) => counters.find((x) => x.slot === slot)
      return {
        a: streamStatsOf(c(s.legs.a.slot), now, planeNow),
        b: streamStatsOf(c(s.legs.b.slot), now, planeNow),
      }
    }

    const drop = (s: Session, now: number) =>
      Effect.gen(function* () {
        const meter = options.meter
        if (meter !== undefined) {
          // The packets since the last poll count too.
          const counters = yield* plane.readStats()
          for (const leg of ["a", "b"] as const) {
            const c = counters.find((x) => x.slot === s.legs[leg].slot)
            if (c !== undefined) meter.account(`${s.id}:${leg}`, c)
            meter.forget(`${s.id}:${leg}`)
          }
        }
        yield* plane.removeLeg(s.legs.a.slot)
        yield* plane.removeLeg(s.legs.b.slot)
        // The sockets are closed by the forwarding thread; only then may the ports and slots be reused.
        yield* plane.settle()
        for (const leg of ["a", "b"] as const) {
          const l = s.legs[leg]
          ports.release(l.port, now)
          bySlot.delete(l.slot)
          freeSlots.push(l.slot)
        }
        sessions.delete(s.id)
      })

    const create = (req: CreateSession) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        if (sessions.has(req.sessionId)) return yield* fail("exists", `session ${req.sessionId} exists`)
        if (sessions.size >= capacity) {
          return yield* fail("capacity", `relay full: ${sessions.size} of ${capacity} sessions`)
        }
        const slotA = freeSlots.pop()
        const slotB = freeSlots.pop()
        if (slotA === undefined || slotB === undefined) {
          if (slotA !== undefined) freeSlots.push(slotA)
          return yield* fail("capacity", "no forwarding slots left")
        }
        let session: Session = {
          id: req.sessionId,
          owner: req.owner,
          legs: {
            a: { slot: slotA, port: 0, spec: req.legs.a },
            b: { slot: slotB, port: 0, spec: req.legs.b },
          },
          ptMap: req.ptMap ?? [],
          media: req.media ?? "rtp",
          mediaTimeoutMs: req.mediaTimeoutMs ?? options.mediaTimeoutMs,
          leaseMs: req.leaseMs,
          leaseExpiresAt: now + req.leaseMs,
          mediaSince: now,
          timeoutReported: false,
        }
        const portA = yield* bindLeg(session, "a", now).pipe(
          Effect.tapError(() => Effect.sync(() => freeSlots.push(slotB, slotA))),
        )
        const portB = yield* bindLeg(session, "b", now).pipe(
          Effect.tapError(() =>
            Effect.gen(function* () {
              yield* plane.removeLeg(slotA)
              ports.release(portA, now)
              freeSlots.push(slotB, slotA)
            }),
          ),
        )
        session = {
          ...session,
          legs: { a: { ...session.legs.a, port: portA }, b: { ...session.legs.b, port: portB } },
        }
        // Answer only once the legs forward: the caller puts these ports into SDP right away.
        yield* plane.settle()
        sessions.set(session.id, session)
        bySlot.set(slotA, { sessionId: session.id, leg: "a" })
        bySlot.set(slotB, { sessionId: session.id, leg: "b" })
        return { sessionId: session.id, legs: legsOf(session) }
      })

    const update = (req: UpdateSession) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const old = yield* find(req.sessionId)
        const next: Session = {
          ...old,
          legs: {
            a: { ...old.legs.a, spec: mergeLegSpec(old.legs.a.spec, req.legs?.a) },
            b: { ...old.legs.b, spec: mergeLegSpec(old.legs.b.spec, req.legs?.b) },
          },
          ptMap: req.ptMap ?? old.ptMap,
          media: req.media ?? old.media,
          mediaTimeoutMs: req.mediaTimeoutMs ?? old.mediaTimeoutMs,
          // A renegotiation sets new expectations: silence is measured from now.
          mediaSince: now,
          timeoutReported: false,
        }
        for (const leg of ["a", "b"] as const) {
          const keep = !remoteChanged(old.legs[leg].spec, next.legs[leg].spec)
          yield* plane
            .setLeg(next.legs[leg].slot, programFor(next, leg), keep)
            .pipe(Effect.mapError((e) => new RelayFailure({ code: "internal", reason: e.message })))
        }
        // The reply means the new programs are in force (a new remote, a hold).
        yield* plane.settle()
        sessions.set(next.id, next)
        return { sessionId: next.id, legs: legsOf(next) }
      })

    const remove = (req: DeleteSession) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* find(req.sessionId)
        const counters = yield* plane.readStats()
        const planeNow = yield* plane.nowMs()
        const stats = statsOf(s, counters, now, planeNow)
        yield* drop(s, now)
        return { sessionId: s.id, stats }
      })

    const renew = (req: RenewLease) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* find(req.sessionId)
        sessions.set(s.id, { ...s, leaseMs: req.leaseMs, leaseExpiresAt: now + req.leaseMs })
        return { sessionId: s.id, leaseMs: req.leaseMs }
      })

    const expireLeases = () =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const events: Array<OwnerEvent> = []
        for (const s of [...sessions.values()]) {
          if (s.leaseExpiresAt > now) continue
          yield* drop(s, now)
          events.push({ owner: s.owner, sessionId: s.id, body: { type: "lease-expired" } })
        }
        return events
      })

    const poll = () =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const planeNow = yield* plane.nowMs()
        const counters = yield* plane.readStats()
        const digits = yield* plane.drainEvents()
        const events: Array<OwnerEvent> = []
        const last = new Map<number, number | null>()
        for (const c of counters) {
          last.set(c.slot, c.lastPacketMs < 0 ? null : now - (planeNow - c.lastPacketMs))
          const at = options.meter === undefined ? undefined : bySlot.get(c.slot)
          if (at !== undefined) options.meter?.account(`${at.sessionId}:${at.leg}`, c)
        }
        for (const s of sessions.values()) {
          const idle = mediaTimeout(s, last.get(s.legs.a.slot) ?? null, last.get(s.legs.b.slot) ?? null, now)
          if (idle !== undefined && !s.timeoutReported) {
            sessions.set(s.id, { ...s, timeoutReported: true })
            events.push({
              owner: s.owner,
              sessionId: s.id,
              body: { type: "media-timeout", idleMs: Math.round(idle) },
            })
          } else if (idle === undefined && s.timeoutReported) {
            sessions.set(s.id, { ...s, timeoutReported: false })
          }
        }
        for (const d of digits) {
          const at = bySlot.get(d.slot)
          const s = at === undefined ? undefined : sessions.get(at.sessionId)
          if (at === undefined || s === undefined) continue
          events.push({
            owner: s.owner,
            sessionId: s.id,
            body: {
              type: "dtmf",
              leg: at.leg,
              digit: dtmfDigit(d.code),
              durationMs: Math.round((d.duration * 1000) / (d.clockRate > 0 ? d.clockRate : 8000)),
              volume: d.volume,
            },
          })
        }
        return events
      })

    const stats = (sessionId: string) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const s = yield* find(sessionId)
        return statsOf(s, yield* plane.readStats(), now, yield* plane.nowMs())
      })

    const guard = lock.withPermits(1)
    return {
      create: (req) => guard(create(req)),
      update: (req) => guard(update(req)),
      remove: (req) => guard(remove(req)),
      renew: (req) => guard(renew(req)),
      expireLeases: () => guard(expireLeases()),
      poll: () => guard(poll()),
      stats: (id) => guard(stats(id)),
      count: () => sessions.size,
      capacity,
    }
  })
