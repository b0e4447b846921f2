/**
 * The native forwarding plane with real UDP on 127.0.0.1, for both backends (io_uring and the forced
 * epoll fallback): packets reach the other leg from the relay's address, latching follows a changed
 * source, strict mode drops an injected source, RTCP and RFC 4733 events, counters match what was sent.
 */
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  type ForwardingPlaneShape,
  type IoMode,
  type LegCounters,
  type LegProgram,
  loadConfig,
  makeNativePlane,
  PortInUse,
} from "../src/index.js"
import { dtmfPacket, rtcpReceiverReport, rtpPacket, type UdpPeer, udpPeer } from "./udpPeer.js"

const identity = (): Uint8Array => Uint8Array.from({ length: 128 }, (_, i) => i)

const program = (peer: number, over: Partial<LegProgram> = {}): LegProgram => ({
  peer,
  rtcpMux: false,
  strict: false,
  forward: true,
  udptl: false,
  tePt: -1,
  clockRate: 8000,
  ptOut: identity(),
  ...over,
})

describe.each<IoMode>(["io_uring", "epoll"])("forwarding plane (%s)", (mode) => {
  let scope: Scope.Closeable
  let plane: ForwardingPlaneShape
  let nextPort = 43000 + (mode === "epoll" ? 1000 : 0) + 2 * Math.floor(Math.random() * 200)
  let nextSlot = 0
  const peers: Array<UdpPeer> = []

  beforeAll(async () => {
    scope = Effect.runSync(Scope.make())
    plane = await Effect.runPromise(
      makeNativePlane({ mode, maxLegs: 64 }).pipe(Effect.provideService(Scope.Scope, scope)),
    )
  })

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()))
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })

  const peer = async () => {
    const p = await udpPeer()
    peers.push(p)
    return p
  }

  /** Adds a leg on the next free pair (skipping pairs other processes hold); returns its slot and port. */
  const addLeg = async (prog: (slot: number) => LegProgram, slot = nextSlot++) => {
    for (;;) {
      const port = nextPort
      nextPort += 2
      const r = await Effect.runPromise(Effect.result(plane.addLeg(slot, "127.0.0.1", port, prog(slot))))
      if (r._tag === "Success") return { slot, port }
      if (!(r.failure instanceof PortInUse)) throw r.failure
    }
  }

  /** Two legs joined as peers; leg b's remote is `b` (leg a learns its remote by latching). */
  const pair = async (b: UdpPeer, a: Partial<LegProgram> = {}, bOver: Partial<LegProgram> = {}) => {
    const slotA = nextSlot++
    const slotB = nextSlot++
    const legA = await addLeg(() => program(slotB, a), slotA)
    const legB = await addLeg(
      () => program(slotA, { remote: { host: "127.0.0.1", port: b.port }, ...bOver }),
      slotB,
    )
    return { legA, legB }
  }

  const counters = async (slot: number): Promise<LegCounters | undefined> =>
    (await Effect.runPromise(plane.readStats())).find((c) => c.slot === slot)

  it("uses the requested backend", () => {
    expect(plane.backend).toBe(mode)
  })

  it("forwards both ways from the relay's address and counts what was sent", async () => {
    const A = await peer()
    const B = await peer()
    const { legA, legB } = await pair(B)
    for (let i = 0; i < 50; i++) await A.send(rtpPacket(i), legA.port)
    for (let i = 0; i < 50; i++) {
      const d = await B.next()
      expect(d.from.port).toBe(legB.port) // sent from the other leg's socket
      expect(d.data.readUInt16BE(2)).toBe(i)
      expect(d.data.length).toBe(172)
    }
    // leg a latched onto A's address: B's packets go back there, from leg a's port.
    for (let i = 0; i < 20; i++) await B.send(rtpPacket(1000 + i, 0, 0x9999), legB.port)
    for (let i = 0; i < 20; i++) {
      const d = await A.next()
      expect(d.from.port).toBe(legA.port)
      expect(d.data.readUInt16BE(2)).toBe(1000 + i)
    }
    const a = await counters(legA.slot)
    const b = await counters(legB.slot)
    expect(a).toMatchObject({
      packets: 50,
      bytes: 50 * 172,
      forwarded: 50,
      dropped: 0,
      latched: true,
      remotePort: A.port,
    })
    // RFC 3550 §A.1: the first packet is the probation packet; 49 expected, 49 received, nothing lost.
    expect([a?.expected, a?.received]).toEqual([49, 49])
    expect(b).toMatchObject({ packets: 20, bytes: 20 * 172, forwarded: 20, ssrc: 0x9999 })
    expect(a?.lastPacketMs).toBeGreaterThanOrEqual(0)
  })

  it("carries a burst through several legs with every payload intact (buffers are reused only once sent)", async () => {
    const A = await peer()
    const Bs = [await peer(), await peer(), await peer(), await peer()]
    const pairs = []
    for (const B of Bs) pairs.push(await pair(B))
    const perLeg = 200
    const payload = (leg: number, seq: number): Buffer => {
      const p = rtpPacket(seq, 0, 0x100 + leg)
      for (let i = 12; i < p.length; i++) p[i] = (seq * 7 + leg * 31 + i) & 0xff
      return p
    }
    // Everything at once: the plane sees many packets per batch and recycles buffers under load.
    await Promise.all(
      pairs.flatMap(({ legA }, leg) =>
        Array.from({ length: perLeg }, (_, seq) => A.send(payload(leg, seq), legA.port)),
      ),
    )
    for (const [leg, B] of Bs.entries()) {
      const seen = new Set<number>()
      for (let i = 0; i < perLeg; i++) {
        const d = await B.next()
        const seq = d.data.readUInt16BE(2)
        expect(d.data.equals(payload(leg, seq))).toBe(true)
        seen.add(seq)
      }
      expect(seen.size).toBe(perLeg)
    }
  })

  it("counts loss from sequence gaps", async () => {
    const A = await peer()
    const B = await peer()
    const { legA } = await pair(B)
    const sent = [0, 1, 2, 3, 5, 6, 9, 10]
    for (const s of sent) await A.send(rtpPacket(s), legA.port)
    for (const _ of sent) await B.next()
    const a = await counters(legA.slot)
    expect(a).toMatchObject({ packets: 8, expected: 10, received: 7 }) // 3 lost: 4, 7, 8
  })

  it("latching follows a changed source when not strict", async () => {
    const A = await peer()
    const A2 = await peer()
    const B = await peer()
    const { legA, legB } = await pair(B)
    await A.send(rtpPacket(1), legA.port)
    await B.next()
    await A2.send(rtpPacket(2), legA.port) // the endpoint moved (e.g. NAT rebinding)
    await B.next()
    await B.send(rtpPacket(7, 0, 0x77), legB.port)
    const d = await A2.next()
    expect(d.data.readUInt16BE(2)).toBe(7)
    expect(await counters(legA.slot)).toMatchObject({ relatches: 1, remotePort: A2.port })
  })

  it("strict mode drops an injected source after latching", async () => {
    const A = await peer()
    const X = await peer()
    const B = await peer()
    const { legA } = await pair(B, { strict: true })
    await A.send(rtpPacket(1), legA.port)
    expect((await B.next()).data.readUInt16BE(2)).toBe(1)
    await X.send(rtpPacket(666), legA.port)
    await A.send(rtpPacket(2), legA.port)
    // Loopback keeps order: had the injected packet been forwarded it would arrive first.
    expect((await B.next()).data.readUInt16BE(2)).toBe(2)
    expect(await counters(legA.slot)).toMatchObject({ dropped: 1, packets: 2, remotePort: A.port })
  })

  it("rewrites the telephone-event payload type and reports each digit once (RFC 4733)", async () => {
    const A = await peer()
    const B = await peer()
    const ptOut = identity()
    ptOut[101] = 96
    const { legA } = await pair(B, { tePt: 101, ptOut })
    await Effect.runPromise(plane.drainEvents())
    // digit 5: start, update, then the end packet three times (RFC 4733 §2.5.1.4)
    const ts = 16_000
    const packets = [
      dtmfPacket(10, 101, ts, 5, false, 160),
      dtmfPacket(11, 101, ts, 5, false, 320),
      dtmfPacket(12, 101, ts, 5, true, 800),
      dtmfPacket(13, 101, ts, 5, true, 800),
      dtmfPacket(14, 101, ts, 5, true, 800),
    ]
    for (const p of packets) await A.send(p, legA.port)
    for (const _ of packets) expect((await B.next()).data[1]! & 0x7f).toBe(96)
    await A.send(rtpPacket(15, 0), legA.port)
    expect((await B.next()).data[1]! & 0x7f).toBe(0) // audio untouched
    const events = await Effect.runPromise(plane.drainEvents())
    expect(events).toEqual([{ slot: legA.slot, code: 5, volume: 10, duration: 800, clockRate: 8000 }])
  })

  it("forwards RTCP between the RTCP ports and reads the far end's report; rtcp-mux sends it on the RTP port", async () => {
    const A = await peer()
    const B = await peer()
    const Brtcp = await peer()
    const { legA } = await pair(B, {}, { remoteRtcp: { host: "127.0.0.1", port: Brtcp.port } })
    await A.send(rtcpReceiverReport(64, 3, 160), legA.port + 1)
    const d = await Brtcp.next()
    expect(d.data[1]).toBe(201)
    expect(await counters(legA.slot)).toMatchObject({
      rtcpPackets: 1,
      farEndReports: 1,
      farEndFraction: 64,
      farEndLost: 3,
      farEndJitter: 160,
    })
    const M = await peer()
    const mux = await pair(M, {}, { rtcpMux: true })
    await A.send(rtcpReceiverReport(0, 0, 0), mux.legA.port + 1)
    const m = await M.next()
    expect(m.data[1]).toBe(201)
    expect(m.from.port).toBe(mux.legB.port)
  })

  it("drops what a leg on hold sends, forwards UDPTL untouched, and follows a new remote", async () => {
    const A = await peer()
    const B = await peer()
    const B2 = await peer()
    const { legA, legB } = await pair(B)
    await A.send(rtpPacket(1), legA.port)
    await B.next()
    await Effect.runPromise(plane.setLeg(legA.slot, program(legB.slot, { forward: false }), true))
    expect(await Effect.runPromise(plane.settle())).toBe(true)
    await A.send(rtpPacket(2), legA.port)
    // the hold is over once the engine has counted the packet as dropped
    for (let i = 0; i < 1000 && (await counters(legA.slot))?.dropped !== 1; i++) {
      await new Promise((resolve) => setImmediate(resolve))
    }
    await Effect.runPromise(plane.setLeg(legA.slot, program(legB.slot, { udptl: true }), true))
    expect(await Effect.runPromise(plane.settle())).toBe(true)
    const fax = Buffer.from("\x00\x01T.38 UDPTL datagram")
    await A.send(fax, legA.port)
    expect((await B.next()).data.equals(fax)).toBe(true) // packet 2 (on hold) never arrived
    await Effect.runPromise(
      plane.setLeg(legB.slot, program(legA.slot, { remote: { host: "127.0.0.1", port: B2.port } }), false),
    )
    await Effect.runPromise(plane.settle())
    await A.send(fax, legA.port)
    expect((await B2.next()).data.equals(fax)).toBe(true)
  })

  it("refuses a port that is taken, and frees ports when a leg is removed", async () => {
    const A = await peer()
    const B = await peer()
    const { legA } = await pair(B)
    const clash = await Effect.runPromise(
      Effect.result(plane.addLeg(nextSlot++, "127.0.0.1", legA.port, program(0))),
    )
    expect(clash._tag === "Failure" && clash.failure instanceof PortInUse).toBe(true)
    await Effect.runPromise(plane.removeLeg(legA.slot))
    // The engine closes the sockets between batches; binding succeeds once it has.
    let rebound = false
    for (let i = 0; i < 200 && !rebound; i++) {
      const r = await Effect.runPromise(
        Effect.result(plane.addLeg(legA.slot, "127.0.0.1", legA.port, program(0))),
      )
      rebound = r._tag === "Success"
      if (!rebound) await new Promise((resolve) => setImmediate(resolve))
    }
    expect(rebound).toBe(true)
    void A
  })
})

describe("the B2BUA_RELAY_IO switch", () => {
  it.each([
    ["epoll", "epoll"],
    ["io_uring", "io_uring"],
    [undefined, "io_uring"], // auto: io_uring where the kernel allows it (this machine does)
  ] as const)("%s selects the %s backend", async (value, backend) => {
    const config = loadConfig(value === undefined ? {} : { B2BUA_RELAY_IO: value })
    const scope = Effect.runSync(Scope.make())
    const plane = await Effect.runPromise(
      makeNativePlane({ mode: config.io, maxLegs: 2 }).pipe(Effect.provideService(Scope.Scope, scope)),
    )
    expect(plane.backend).toBe(backend)
    await Effect.runPromise(Scope.close(scope, Exit.void))
  })
})
