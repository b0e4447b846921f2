/**
 * The session manager against the memory forwarding plane, with Effect's TestClock for leases and
 * media timeouts.
 */
import { type CreateSession, InstanceId } from "@b2bua/contracts"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import {
  type MemoryPlane,
  makeMemoryPlane,
  makeSessionManager,
  memoryPlaneLayer,
  RelayFailure,
} from "../src/index.js"

const options = {
  address: "127.0.0.1",
  ports: { min: 30000, max: 30015 }, // 8 pairs: 4 sessions
  maxSessions: 3,
  quarantineMs: 10_000,
  mediaTimeoutMs: 5_000,
}

const req = (sessionId: string, over: Partial<CreateSession> = {}): CreateSession => ({
  v: 1,
  sessionId,
  owner: InstanceId("cc1"),
  leaseMs: 20_000,
  legs: {
    a: { telephoneEventPt: 101 },
    b: { remote: { host: "127.0.0.1", port: 4000 }, telephoneEventPt: 96 },
  },
  ...over,
})

const run = <A, E>(
  plane: MemoryPlane,
  body: (m: Effect.Success<ReturnType<typeof makeSessionManager>>) => Effect.Effect<A, E>,
) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const m = yield* makeSessionManager(options)
      return yield* body(m)
    }).pipe(Effect.provide(Layer.mergeAll(memoryPlaneLayer(plane), TestClock.layer()))),
  )

const codeOf = (e: unknown): string => (e instanceof RelayFailure ? e.code : "<not a failure>")

describe("session manager", () => {
  it("creates two legs on even ports with RTCP next, programmed as peers", async () => {
    const plane = makeMemoryPlane()
    const created = await run(plane, (m) => m.create(req("s1")))
    expect(created).toEqual({
      sessionId: "s1",
      legs: {
        a: { host: "127.0.0.1", rtpPort: 30000, rtcpPort: 30001 },
        b: { host: "127.0.0.1", rtpPort: 30002, rtcpPort: 30003 },
      },
    })
    const [a, b] = [...plane.legs.entries()]
    expect(a?.[1].program.peer).toBe(b?.[0])
    expect(b?.[1].program.peer).toBe(a?.[0])
    expect(a?.[1].program.ptOut[101]).toBe(96)
    expect(b?.[1].program.remote).toEqual({ host: "127.0.0.1", port: 4000 })
  })

  it("refuses a duplicate id, a full relay (capacity) and unknown sessions, with their codes", async () => {
    const plane = makeMemoryPlane()
    const errors = await run(plane, (m) =>
      Effect.gen(function* () {
        yield* m.create(req("s1"))
        const dup = yield* Effect.flip(m.create(req("s1")))
        yield* m.create(req("s2"))
        yield* m.create(req("s3"))
        const full = yield* Effect.flip(m.create(req("s4")))
        const missing = yield* Effect.flip(m.update({ v: 1, sessionId: "nope" }))
        const gone = yield* Effect.flip(m.remove({ v: 1, sessionId: "nope" }))
        return [dup, full, missing, gone].map(codeOf)
      }),
    )
    expect(errors).toEqual(["exists", "capacity", "not-found", "not-found"])
  })

  it("skips pairs another process holds, and quarantines the ports of a deleted session", async () => {
    const plane = makeMemoryPlane()
    plane.busyPorts.add(30001) // RTCP port of the first pair
    const out = await run(plane, (m) =>
      Effect.gen(function* () {
        const first = yield* m.create(req("s1"))
        yield* m.remove({ v: 1, sessionId: "s1" })
        const second = yield* m.create(req("s2"))
        yield* TestClock.adjust(10_000)
        yield* m.remove({ v: 1, sessionId: "s2" })
        const third = yield* m.create(req("s3"))
        return [first, second, third].map((c) => [c.legs.a.rtpPort, c.legs.b.rtpPort])
      }),
    )
    // 30000 refused to bind; s1's ports are held for 10 s, so s2 gets fresh ones; s3 (10 s later) gets
    // the oldest released pairs: the refused 30000, then s1's.
    expect(out).toEqual([
      [30002, 30004],
      [30006, 30008],
      [30010, 30012],
    ])
    expect(plane.legs.size).toBe(2)
  })

  it("updates: a new remote restarts latching, hold changes what is forwarded, T.38 switches to UDPTL", async () => {
    const plane = makeMemoryPlane()
    await run(plane, (m) =>
      Effect.gen(function* () {
        yield* m.create(req("s1"))
        yield* m.update({
          v: 1,
          sessionId: "s1",
          legs: { a: { direction: "inactive" }, b: { remote: { host: "127.0.0.1", port: 4100 } } },
          ptMap: [{ a: 8, b: 0 }],
          media: "udptl",
        })
      }),
    )
    const [a, b] = [...plane.legs.values()]
    expect(a?.program).toMatchObject({ forward: false, udptl: true })
    expect(a?.program.ptOut[8]).toBe(0)
    expect(b?.program.remote).toEqual({ host: "127.0.0.1", port: 4100 })
  })

  it("deletes a session whose lease lapsed, not one that was renewed (TestClock)", async () => {
    const plane = makeMemoryPlane()
    const events = await run(plane, (m) =>
      Effect.gen(function* () {
        yield* m.create(req("s1"))
        yield* m.create(req("s2"))
        yield* TestClock.adjust(15_000)
        yield* m.renew({ v: 1, sessionId: "s2", leaseMs: 20_000 })
        yield* TestClock.adjust(4_999)
        const early = yield* m.expireLeases()
        yield* TestClock.adjust(1)
        const expired = yield* m.expireLeases()
        return { early, expired, left: m.count() }
      }),
    )
    expect(events.early).toEqual([])
    expect(events.expired).toEqual([{ owner: "cc1", sessionId: "s1", body: { type: "lease-expired" } }])
    expect(events.left).toBe(1)
    expect(plane.legs.size).toBe(2)
  })

  it("reports media timeout once per silence and RFC 4733 digits with their leg", async () => {
    const plane = makeMemoryPlane()
    const out = await run(plane, (m) =>
      Effect.gen(function* () {
        yield* m.create(req("s1", { mediaTimeoutMs: 5_000 }))
        const slotB = [...plane.legs.keys()][1] ?? -1
        plane.clockMs = 1_000
        plane.counters.set(slotB, { lastPacketMs: 1_000 })
        yield* TestClock.adjust(1_000)
        const quiet = yield* m.poll()
        yield* TestClock.adjust(5_000)
        plane.clockMs = 6_000
        const timeout = yield* m.poll()
        const again = yield* m.poll()
        plane.pendingEvents.push({ slot: slotB, code: 11, volume: 10, duration: 800, clockRate: 8000 })
        const digit = yield* m.poll()
        return { quiet, timeout, again, digit }
      }),
    )
    expect(out.quiet).toEqual([])
    expect(out.timeout).toEqual([
      { owner: "cc1", sessionId: "s1", body: { type: "media-timeout", idleMs: 5_000 } },
    ])
    expect(out.again).toEqual([])
    expect(out.digit).toEqual([
      {
        owner: "cc1",
        sessionId: "s1",
        body: { type: "dtmf", leg: "b", digit: "#", durationMs: 100, volume: 10 },
      },
    ])
  })
})
