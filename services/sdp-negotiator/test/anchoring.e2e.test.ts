/**
 * The negotiator and the real RTP relay as processes on a real nats-server: an offer from the caller and
 * the callee's answer negotiated over b2b.v1.sdp.negotiate, then RTP sent by each side reaches the other
 * through the relay, from the relay's address, with telephone-event renumbered (101 ↔ 96); hold updates
 * the relay; release deletes the session. Runs against the built services (dist/main.js).
 */
import { createSocket, type Socket } from "node:dgram"
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import {
  decodeRelayAnnounce,
  decodeSdpNegotiateReply,
  encodeSdpNegotiateRequest,
  initialMediaState,
  relaySubjects,
  type SdpNegotiateReplyV1,
  type SdpNegotiateRequestV1,
  sdpSubjects,
} from "@b2bua/contracts"
import { mediaConnection, parseSdpOrThrow } from "@b2bua/sdp"
import { type NatsServerHandle, type ServiceProcess, startNatsServer, startService } from "@b2bua/testkit"
import { Effect, Queue, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const relayMain = fileURLToPath(new URL("../../rtp-relay/dist/main.js", import.meta.url))
const negotiatorMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))

let nats: NatsServerHandle
let relay: ServiceProcess
let negotiator: ServiceProcess
const portBase = 20_000 + 2 * Math.floor(Math.random() * 4000)

beforeAll(async () => {
  nats = await startNatsServer()
  relay = await startService({
    main: relayMain,
    env: {
      NATS_URL: nats.url,
      B2BUA_RELAY_ID: "relaye2e",
      B2BUA_RELAY_ADDRESS: "127.0.0.1",
      B2BUA_RTP_PORTS: `${portBase}-${portBase + 63}`,
      B2BUA_RELAY_ANNOUNCE_MS: "200",
    },
    readyText: "rtp relay ready",
  })
  negotiator = await startService({
    main: negotiatorMain,
    env: { NATS_URL: nats.url, B2BUA_SDP_INSTANCE: "sdpe2e" },
    readyText: "sdp-negotiator ready",
  })
})
afterAll(async () => {
  await negotiator?.stop()
  await relay?.stop()
  await nats?.stop()
})

const udp = (): Promise<Socket> =>
  new Promise((resolve) => {
    const s = createSocket("udp4")
    s.bind(0, "127.0.0.1", () => resolve(s))
  })

/** The next datagram on `socket`, bounded in time. */
const nextDatagram = (socket: Socket, timeoutMs = 2000): Promise<{ data: Buffer; port: number }> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off("message", onMessage)
      reject(new Error("no datagram within the bound"))
    }, timeoutMs)
    const onMessage = (data: Buffer, rinfo: { port: number }) => {
      clearTimeout(timer)
      socket.off("message", onMessage)
      resolve({ data, port: rinfo.port })
    }
    socket.on("message", onMessage)
  })

/** An RTP packet (RFC 3550 §5.1): V=2, the payload type, a sequence number, 160 octets of payload. */
const rtp = (pt: number, seq: number): Buffer => {
  const b = Buffer.alloc(12 + 160, 0xd5)
  b[0] = 0x80
  b[1] = pt & 0x7f
  b.writeUInt16BE(seq, 2)
  b.writeUInt32BE(seq * 160, 4)
  b.writeUInt32BE(0x11223344, 8)
  return b
}

const sdpFor = (port: number, te: number, direction = "sendrecv") =>
  [
    "v=0",
    "o=IPS 24669 0 IN IP4 127.0.0.1",
    "s=IPS",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0 18 ${te}`,
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:18 G729/8000",
    `a=rtpmap:${te} telephone-event/8000`,
    `a=fmtp:${te} 0-15`,
    "a=ptime:20",
    `a=${direction}`,
    "",
  ].join("\r\n")

const ok = (r: SdpNegotiateReplyV1) => {
  if ("refuse" in r) throw new Error(`refused: ${JSON.stringify(r.refuse)}`)
  return r.ok
}

const withBus = <A>(program: Effect.Effect<A, unknown, Bus | Scope.Scope>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(program).pipe(Effect.provide(busLayer({ servers: nats.url, name: "e2e" })), Effect.orDie),
  )

const negotiate = (request: Partial<SdpNegotiateRequestV1>) =>
  withBus(
    Effect.gen(function* () {
      const bus = yield* Bus
      const reply = yield* bus.request(
        sdpSubjects.negotiate(),
        encodeSdpNegotiateRequest({
          v: 1,
          callId: "e2e-call@127.0.0.1",
          owner: "cce2e",
          leg: "a",
          kind: "offer",
          sdp: "",
          policy: {},
          media: initialMediaState,
          ...request,
        }),
        { timeoutMs: 5000 },
      )
      const decoded = decodeSdpNegotiateReply(reply.data)
      if (!("v" in decoded)) return yield* Effect.die(decoded)
      return ok(decoded)
    }),
  )

/** Two announcements seen on the bus: the negotiator, subscribed before the first, has seen one too. */
const relayAnnounced = () =>
  withBus(
    Effect.gen(function* () {
      const bus = yield* Bus
      const announces = yield* Queue.bounded<string>(16)
      yield* bus.subscribe(relaySubjects.announce(), (m) => {
        const r = decodeRelayAnnounce(m.data)
        return "v" in r ? Queue.offer(announces, r.relayId).pipe(Effect.asVoid) : Effect.void
      })
      const first = yield* Queue.take(announces)
      yield* Queue.take(announces)
      return first
    }).pipe(Effect.timeout("5 seconds")),
  )

describe("anchoring through the real rtp-relay", () => {
  it("RTP crosses the relay both ways, each side sees only the relay; hold and release reach it", async () => {
    const a = await udp()
    const b = await udp()
    try {
      expect(await relayAnnounced()).toBe("relaye2e")
      const aPort = a.address().port
      const bPort = b.address().port
      const toB = await negotiate({ sdp: sdpFor(aPort, 101) })
      const toA = await negotiate({ leg: "b", kind: "answer", sdp: sdpFor(bPort, 96), media: toB.media })
      const offerB = parseSdpOrThrow(toB.sdp)
      const answerA = parseSdpOrThrow(toA.sdp)
      const relayForB = offerB.media[0]!.port
      const relayForA = answerA.media[0]!.port
      expect(mediaConnection(offerB, offerB.media[0]!)?.address).toBe("127.0.0.1")
      expect(mediaConnection(answerA, answerA.media[0]!)?.address).toBe("127.0.0.1")
      expect([relayForA, relayForB].every((p) => p >= portBase && p <= portBase + 63)).toBe(true)
      expect(toB.sdp).not.toContain(` ${aPort} `)
      expect(toA.sdp).not.toContain(` ${bPort} `)
      expect(answerA.media[0]!.formats).toEqual(["0", "18", "101"])

      // A → relay → B, sent from the relay's B-side port; PCMU untouched, telephone-event 101 becomes 96.
      let atB = nextDatagram(b)
      a.send(rtp(0, 1), relayForA, "127.0.0.1")
      const voice = await atB
      expect([voice.port, voice.data[1]! & 0x7f, voice.data.length]).toEqual([relayForB, 0, 172])
      atB = nextDatagram(b)
      a.send(rtp(101, 2), relayForA, "127.0.0.1")
      expect(((await atB).data[1] ?? 0) & 0x7f).toBe(96)
      // B → relay → A, from the relay's A-side port; 96 becomes 101.
      const atA = nextDatagram(a)
      b.send(rtp(96, 1), relayForB, "127.0.0.1")
      const back = await atA
      expect([back.port, back.data[1]! & 0x7f]).toEqual([relayForA, 101])

      // A holds (sendonly): B's offer says so, its o= version moves; B answers recvonly; then release.
      const hold = await negotiate({ sdp: sdpFor(aPort, 101, "sendonly"), media: toA.media })
      expect(hold.sdp).toContain("a=sendonly\r\n")
      expect(hold.sdp).toMatch(/^o=- \d+ 2 IN IP4 127\.0\.0\.1\r$/m)
      expect(parseSdpOrThrow(hold.sdp).media[0]!.port).toBe(relayForB)
      const held = await negotiate({
        leg: "b",
        kind: "answer",
        sdp: sdpFor(bPort, 96, "recvonly"),
        media: hold.media,
      })
      expect(held.sdp).toContain("a=recvonly\r\n")
      // A's media still reaches B while A holds B (A sends music on hold, RFC 3264 §8.4).
      atB = nextDatagram(b)
      a.send(rtp(0, 3), relayForA, "127.0.0.1")
      expect((await atB).port).toBe(relayForB)

      const released = await negotiate({ kind: "release", media: held.media })
      expect(released.media.relay).toBeUndefined()
      // The session is gone: the relay's port no longer forwards (bounded wait for a datagram that must not come).
      atB = nextDatagram(b, 500)
      a.send(rtp(0, 4), relayForA, "127.0.0.1")
      await expect(atB).rejects.toThrow("no datagram within the bound")
    } finally {
      a.close()
      b.close()
    }
  })
})
