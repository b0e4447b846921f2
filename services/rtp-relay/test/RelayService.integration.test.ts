/**
 * The relay service through a real nats-server and the native plane: create/update/delete/renew over
 * the v1 contract, media flowing through the ports it returned, bad requests, the capacity guard,
 * media-timeout and lease-expired events to the owner, the announce; the relay's metrics of that media.
 */
import { Bus, busLayer } from "@b2bua/bus"
import {
  type CreateSession,
  decodeCreateReply,
  decodeDeleteReply,
  decodeRelayAnnounce,
  decodeRelayEvent,
  decodeRenewReply,
  decodeUpdateReply,
  encodeRelayPayload,
  InstanceId,
  RelayContractError,
  type RelayEvent,
  relaySubjects,
  type SessionCreated,
} from "@b2bua/contracts"
import { Metrics, recordingMetrics } from "@b2bua/telemetry"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Queue, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig, nativePlaneLayer, runRelay } from "../src/index.js"
import { rtpPacket, type UdpPeer, udpPeer } from "./udpPeer.js"

let nats: NatsServerHandle
let scope: Scope.Closeable
let bus: typeof Bus.Service
const relayId = InstanceId("relaytest")
const owner = InstanceId("cctest")
const events = Effect.runSync(Queue.bounded<RelayEvent>(100))
const peers: Array<UdpPeer> = []
const recorded = recordingMetrics()
const base = 44000 + 2 * Math.floor(Math.random() * 2000)

const run = <A, E>(effect: Effect.Effect<A, E, Bus | Scope.Scope>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provideService(Scope.Scope, scope), Effect.provideService(Bus, bus)))

beforeAll(async () => {
  nats = await startNatsServer()
  scope = Effect.runSync(Scope.make())
  const config = loadConfig({
    NATS_URL: nats.url,
    B2BUA_RELAY_ID: relayId,
    B2BUA_RTP_PORTS: `${base}-${base + 39}`,
    B2BUA_RELAY_MAX_SESSIONS: "3",
    B2BUA_RELAY_QUARANTINE_MS: "0",
    B2BUA_RELAY_POLL_MS: "50",
    B2BUA_RELAY_ANNOUNCE_MS: "200",
  })
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      Layer.mergeAll(
        busLayer({ servers: nats.url, name: "relay-test" }),
        nativePlaneLayer({ mode: "auto", maxLegs: 6 }),
      ),
      scope,
    ),
  )
  bus = Context.get(context, Bus)
  await run(
    runRelay(config).pipe(Effect.provideContext(context), Effect.provideService(Metrics, recorded.metrics)),
  )
  await run(
    bus.subscribe(relaySubjects.events(owner), (m) =>
      Effect.gen(function* () {
        const e = decodeRelayEvent(m.data)
        if (!(e instanceof RelayContractError)) yield* Queue.offer(events, e)
      }),
    ),
  )
})

afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()))
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await nats.stop()
})

const peer = async () => {
  const p = await udpPeer()
  peers.push(p)
  return p
}

const request = (subject: string, payload: unknown) =>
  run(
    bus
      .request(subject, new TextEncoder().encode(JSON.stringify(payload)), { timeoutMs: 2000 })
      .pipe(Effect.map((m) => m.data)),
  )

const create = async (req: Omit<CreateSession, "v" | "owner"> & { owner?: string }) =>
  decodeCreateReply(await request(relaySubjects.create(relayId), { v: 1, owner, ...req }))

const okOf = (reply: unknown): SessionCreated => {
  if (typeof reply === "object" && reply !== null && "ok" in reply) return reply.ok as SessionCreated
  throw new Error(`expected ok, got ${JSON.stringify(reply)}`)
}

const nextEvent = (timeoutMs = 5000) => Effect.runPromise(Queue.take(events).pipe(Effect.timeout(timeoutMs)))

describe("relay over NATS", () => {
  it("creates a session whose ports carry media both ways, updates its remote, deletes it with stats", async () => {
    const A = await peer()
    const B = await peer()
    const B2 = await peer()
    const created = okOf(
      await create({
        sessionId: "call-1",
        leaseMs: 60_000,
        legs: { a: {}, b: { remote: { host: "127.0.0.1", port: B.port } } },
      }),
    )
    expect(created.legs.a.rtpPort % 2).toBe(0)
    expect(created.legs.a.rtcpPort).toBe(created.legs.a.rtpPort + 1)
    expect(created.legs.a.host).toBe("127.0.0.1")
    for (let i = 0; i < 10; i++) await A.send(rtpPacket(i), created.legs.a.rtpPort)
    for (let i = 0; i < 10; i++) expect((await B.next()).from.port).toBe(created.legs.b.rtpPort)
    await B.send(rtpPacket(100, 0, 9), created.legs.b.rtpPort)
    expect((await A.next()).from.port).toBe(created.legs.a.rtpPort)

    const updated = decodeUpdateReply(
      await request(relaySubjects.update(relayId), {
        v: 1,
        sessionId: "call-1",
        legs: { b: { remote: { host: "127.0.0.1", port: B2.port } } },
      }),
    )
    expect(updated).toEqual({ v: 1, ok: created })
    await A.send(rtpPacket(10), created.legs.a.rtpPort)
    expect((await B2.next()).data.readUInt16BE(2)).toBe(10)

    const renewed = decodeRenewReply(
      await request(relaySubjects.renew(relayId), { v: 1, sessionId: "call-1", leaseMs: 30_000 }),
    )
    expect(renewed).toEqual({ v: 1, ok: { sessionId: "call-1", leaseMs: 30_000 } })

    const deleted = decodeDeleteReply(
      await request(relaySubjects.delete(relayId), { v: 1, sessionId: "call-1" }),
    )
    expect(deleted).toMatchObject({
      v: 1,
      ok: {
        sessionId: "call-1",
        stats: { a: { packets: 11, bytes: 11 * 172, lost: 0, dropped: 0 }, b: { packets: 1 } },
      },
    })
    const again = decodeDeleteReply(
      await request(relaySubjects.delete(relayId), { v: 1, sessionId: "call-1" }),
    )
    expect(again).toMatchObject({ v: 1, error: { code: "not-found" } })
    // The metrics saw the same media (read at the polls and at the deletion) and the requests' outcomes.
    expect(recorded.values.get("rtp_relay_packets_total{direction=received}")).toBe(12)
    expect(recorded.values.get("rtp_relay_packets_total{direction=forwarded}")).toBe(12)
    expect(recorded.values.get("rtp_relay_received_bytes_total{}")).toBe(12 * 172)
    expect(recorded.values.get("rtp_relay_requests_total{operation=delete,outcome=ok}")).toBe(1)
    expect(recorded.values.get("rtp_relay_requests_total{operation=delete,outcome=not-found}")).toBe(1)
  })

  it("answers a bad request with bad-request naming the field", async () => {
    const reply = await create({
      sessionId: "bad",
      leaseMs: 60_000,
      legs: { a: { remote: { host: "x", port: 1 } }, b: {} },
    })
    expect(reply).toMatchObject({ v: 1, error: { code: "bad-request" } })
    expect(JSON.stringify(reply)).toContain("legs.a.remote.host")
  })

  it("refuses sessions beyond its capacity with a clear reason", async () => {
    const ids = ["cap-1", "cap-2", "cap-3"]
    for (const id of ids) okOf(await create({ sessionId: id, leaseMs: 60_000, legs: { a: {}, b: {} } }))
    const full = await create({ sessionId: "cap-4", leaseMs: 60_000, legs: { a: {}, b: {} } })
    expect(full).toMatchObject({ v: 1, error: { code: "capacity" } })
    for (const id of ids) await request(relaySubjects.delete(relayId), { v: 1, sessionId: id })
  })

  it("tells the owner about media timeout, then about a lapsed lease (and frees the session)", async () => {
    const A = await peer()
    const B = await peer()
    const c = okOf(
      await create({
        sessionId: "quiet",
        leaseMs: 2000,
        mediaTimeoutMs: 1000,
        legs: { a: {}, b: { remote: { host: "127.0.0.1", port: B.port } } },
      }),
    )
    await A.send(rtpPacket(1), c.legs.a.rtpPort)
    await B.next()
    const timeout = await nextEvent()
    expect(timeout).toMatchObject({ v: 1, relayId, sessionId: "quiet", type: "media-timeout" })
    expect(timeout.type === "media-timeout" && timeout.idleMs).toBeGreaterThanOrEqual(1000)
    const expired = await nextEvent()
    expect(expired).toEqual({ v: 1, relayId, sessionId: "quiet", type: "lease-expired" })
    const gone = decodeDeleteReply(await request(relaySubjects.delete(relayId), { v: 1, sessionId: "quiet" }))
    expect(gone).toMatchObject({ error: { code: "not-found" } })
  })

  it("announces itself with its address, sessions and capacity", async () => {
    const q = Effect.runSync(Queue.bounded<Uint8Array>(10))
    await run(bus.subscribe(relaySubjects.announce(), (m) => Queue.offer(q, m.data).pipe(Effect.asVoid)))
    const a = decodeRelayAnnounce(await Effect.runPromise(Queue.take(q).pipe(Effect.timeout(3000))))
    expect(a).toMatchObject({ v: 1, relayId, address: "127.0.0.1", capacity: 3 })
    void encodeRelayPayload
  })
})
