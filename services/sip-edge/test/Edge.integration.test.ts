/**
 * The edge with real sockets and a real nats-server: what a SIP peer sends reaches call control's
 * subjects with its transport facts, and what call control publishes reaches the peer.
 */
import { type Socket, connect as tcpConnect } from "node:net"
import { Bus, type BusMessage, busLayer } from "@b2bua/bus"
import {
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeNewRequestReply,
  encodeSipEnvelopeHeaders,
  InstanceId,
  Subjects,
} from "@b2bua/contracts"
import { createResponse, parseMessageOrThrow, type SipRequest, serializeMessage } from "@b2bua/sip"
import {
  createTestUserAgent,
  type NatsServerHandle,
  startNatsServer,
  type TestUserAgent,
  wireMessage,
} from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Queue, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig, type RunningEdge, runEdge } from "../src/index.js"

let nats: NatsServerHandle
let scope: Scope.Closeable
let edge: RunningEdge
let ua: TestUserAgent
let bus: typeof Bus.Service
const edgeId = InstanceId("edgetest")
let udpPort = 0
let tcpPort = 0

const runInScope = <A, E>(effect: Effect.Effect<A, E, Bus | Scope.Scope>): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provideService(Scope.Scope, scope), Effect.provideService(Bus, bus)))

beforeAll(async () => {
  nats = await startNatsServer()
  scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(busLayer({ servers: nats.url, name: "edge-test" }), scope),
  )
  bus = Context.get(context, Bus)
  const config = loadConfig({
    NATS_URL: nats.url,
    B2BUA_EDGE_INSTANCE: edgeId,
    B2BUA_SIP_LISTEN: "udp:127.0.0.1:0,tcp:127.0.0.1:0",
    B2BUA_CC_TIMEOUT_MS: "500",
    B2BUA_RETRY_AFTER_S: "7",
  })
  edge = await runInScope(runEdge(config))
  udpPort = edge.transports.listeners.find((l) => l.transport === "udp")!.port
  tcpPort = edge.transports.listeners.find((l) => l.transport === "tcp")!.port
  ua = await createTestUserAgent()
})

afterAll(async () => {
  await ua.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await nats.stop()
})

const invite = (callId: string, extra = "") =>
  wireMessage(`
INVITE sip:bob@127.0.0.1:${udpPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${callId};rport
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a-${callId}
To: <sip:bob@127.0.0.1>
Call-ID: ${callId}
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:${ua.port}>
${extra}`)

/**
 * Collects what arrives on a subject (optionally as a queue member), replying with `reply`; a message
 * whose Call-ID starts with "slow" is answered after 400 ms (a busy call control; the edge gives up at 500).
 */
const listen = (subject: string, reply: (m: BusMessage) => Uint8Array, queue?: string) =>
  runInScope(
    Effect.gen(function* () {
      const q = yield* Queue.unbounded<BusMessage>()
      const options = queue === undefined ? {} : { queue, concurrency: 8 }
      yield* bus.subscribe(
        subject,
        (m) =>
          Queue.offer(q, m).pipe(
            Effect.andThen(
              parseMessageOrThrow(m.data).callId.startsWith("slow")
                ? Effect.sleep("400 millis")
                : Effect.void,
            ),
            Effect.andThen(m.respond(reply(m))),
            Effect.orDie,
          ),
        options,
      )
      return q
    }),
  )

/** One call-control stand-in on the queue group for all tests (a second member would share its messages). */
let ccNew: Promise<Queue.Queue<BusMessage>> | undefined
const callControl = () => {
  ccNew ??= listen(
    Subjects.callControlNew(),
    // Calls named "gone-…" are taken by an instance that is not there (it died).
    (m) =>
      encodeNewRequestReply({
        v: 1,
        owner: InstanceId(parseMessageOrThrow(m.data).callId.startsWith("gone-") ? "ccgone" : "cc1"),
      }),
    "cc",
  )
  return ccNew
}

/** The takeover queue's stand-in: "gone-…" calls were taken over by `ccnext`; others are unknown. */
let ccTakeover: Promise<Queue.Queue<BusMessage>> | undefined
const takeoverQueue = () => {
  ccTakeover ??= listen(
    Subjects.callControlTakeover(),
    (m) =>
      parseMessageOrThrow(m.data).callId.startsWith("gone-")
        ? encodeNewRequestReply({ v: 1, owner: InstanceId("ccnext") })
        : new Uint8Array(),
    "cc",
  )
  return ccTakeover
}

const take = <A>(q: Queue.Queue<A>) => Effect.runPromise(Queue.take(q).pipe(Effect.timeout("5 seconds")))

describe("sip-edge", () => {
  it("answers a malformed request with 400 naming the defect", async () => {
    await ua.send(invite("bad1").toString("latin1").replace("CSeq: 1 INVITE", "CSeq: 1 BYE"), {
      host: "127.0.0.1",
      port: udpPort,
    })
    const r = await ua.next((x) => x.message?.kind === "response")
    expect(r.bytes.toString("latin1")).toMatch(
      /^SIP\/2.0 400 CSeq method does not match the request method\r\n/,
    )
    expect(edge.counters.badRequests).toBeGreaterThan(0)
  })

  it("answers 503 with Retry-After when no call control is there", async () => {
    await ua.send(invite("nocc"), { host: "127.0.0.1", port: udpPort })
    const r = await ua.next((x) => x.message?.callId === "nocc")
    const m = r.message!
    expect(m.kind === "response" && m.status).toBe(503)
    expect(m.kind === "response" && m.reason).toBe("Service Unavailable (call control not available)")
    expect(m.header("Retry-After")).toBe("7")
  })

  it("hands a new INVITE to call control with its transport facts, and sends call control's response back", async () => {
    const cc = await callControl()
    await ua.send(invite("call1"), { host: "127.0.0.1", port: udpPort })
    const got = await take(cc)
    const meta = decodeSipEnvelopeMeta({ get: got.header })
    if (meta instanceof EnvelopeError) throw meta
    expect(meta).toMatchObject({ edge: edgeId, transport: "udp", remote: `127.0.0.1:${ua.port}` })
    const request = parseMessageOrThrow(got.data) as SipRequest
    // RFC 3581: the empty rport now holds the source port.
    expect(request.topVia.params).toContainEqual(["rport", String(ua.port)])
    const trying = serializeMessage(createResponse(request, 100))
    await runInScope(bus.publish(Subjects.edgeSend(edgeId), trying, encodeSipEnvelopeHeaders(meta)))
    const back = await ua.next((x) => x.message?.callId === "call1")
    expect(back.message?.kind === "response" && back.message.status).toBe(100)
  })

  it("sends a retransmission and the CANCEL of a new request to the instance that took it", async () => {
    const owner = await listen(Subjects.callControlInstance(InstanceId("cc1")), () => new Uint8Array())
    await ua.send(invite("call1"), { host: "127.0.0.1", port: udpPort })
    const again = parseMessageOrThrow((await take(owner)).data)
    expect(again.callId).toBe("call1")
    const cancel = invite("call1")
      .toString("latin1")
      .replace("INVITE sip", "CANCEL sip")
      .replace("1 INVITE", "1 CANCEL")
    await ua.send(cancel, { host: "127.0.0.1", port: udpPort })
    const c = parseMessageOrThrow((await take(owner)).data)
    expect(c.kind === "request" && c.method).toBe("CANCEL")
  })

  it("hands a new INVITE over once while call control has not answered: retransmissions meanwhile are dropped", async () => {
    const cc = await callControl()
    const dropped = edge.counters.dropped
    await ua.send(invite("slow1"), { host: "127.0.0.1", port: udpPort })
    expect(parseMessageOrThrow((await take(cc)).data).callId).toBe("slow1")
    // Two retransmissions while the first copy waits for its 400 ms answer (RFC 3261 §17.1.1.2, Timer A).
    await ua.send(invite("slow1"), { host: "127.0.0.1", port: udpPort })
    await ua.send(invite("slow1"), { host: "127.0.0.1", port: udpPort })
    // A CANCEL is not a retransmission: it goes on (to the queue group, the owner not known yet).
    const cancel = invite("slow1")
      .toString("latin1")
      .replace("INVITE sip", "CANCEL sip")
      .replace("1 INVITE", "1 CANCEL")
    await ua.send(cancel, { host: "127.0.0.1", port: udpPort })
    const next = parseMessageOrThrow((await take(cc)).data)
    expect(next.kind === "request" && next.method).toBe("CANCEL")
    expect(edge.counters.dropped - dropped).toBe(2)
    const queued = await Effect.runPromise(Queue.size(cc))
    expect(queued).toBe(0)
  })

  it("routes in-dialog requests by the suite's To-tag and responses by its Via branch", async () => {
    const owner = await listen(Subjects.callControlInstance(InstanceId("cc2")), () => new Uint8Array())
    const bye = invite("dlg1")
      .toString("latin1")
      .replace("INVITE sip", "BYE sip")
      .replace("1 INVITE", "2 BYE")
      .replace("To: <sip:bob@127.0.0.1>", "To: <sip:bob@127.0.0.1>;tag=b2bccc2.abcdef12")
    await ua.send(bye, { host: "127.0.0.1", port: udpPort })
    expect(parseMessageOrThrow((await take(owner)).data).toTag).toBe("b2bccc2.abcdef12")
    const response = wireMessage(`
SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 127.0.0.1:${udpPort};branch=z9hG4bKb2bccc2.x1y2z3w4
From: <sip:a@127.0.0.1>;tag=b2bccc2.zzzzzz99
To: <sip:b@127.0.0.1>;tag=far
Call-ID: b-leg-1
CSeq: 1 INVITE
`)
    await ua.send(response, { host: "127.0.0.1", port: udpPort })
    const r = parseMessageOrThrow((await take(owner)).data)
    expect(r.kind === "response" && r.status).toBe(180)
  })

  it("hands messages for a dead owner to the takeover queue with the takeover flag", async () => {
    const takeover = await takeoverQueue()
    const bye = invite("dead1")
      .toString("latin1")
      .replace("INVITE sip", "BYE sip")
      .replace("1 INVITE", "2 BYE")
      .replace("To: <sip:bob@127.0.0.1>", "To: <sip:bob@127.0.0.1>;tag=b2bccc9.abcdef12")
    await ua.send(bye, { host: "127.0.0.1", port: udpPort })
    const got = await take(takeover)
    expect(got.header("B2b-Takeover")).toBe("1")
  })

  it("a copy of a new request whose owner died goes to the takeover queue, then to the owner it names", async () => {
    const cc = await callControl()
    const takeover = await takeoverQueue()
    const survivor = await listen(Subjects.callControlInstance(InstanceId("ccnext")), () => new Uint8Array())
    await ua.send(invite("gone-1"), { host: "127.0.0.1", port: udpPort })
    expect(parseMessageOrThrow((await take(cc)).data).callId).toBe("gone-1")
    const key = "gone-1|a-gone-1|z9hG4bK-gone-1"
    await expect.poll(() => edge.owners.lookup(key, Date.now()), { timeout: 5000 }).toBe("ccgone")
    // The INVITE again: its remembered owner (ccgone) has no responders, so the takeover queue gets it.
    await ua.send(invite("gone-1"), { host: "127.0.0.1", port: udpPort })
    const again = await take(takeover)
    expect([parseMessageOrThrow(again.data).callId, again.header("B2b-Takeover")]).toEqual(["gone-1", "1"])
    // Its reply named ccnext (once the edge has read it): the CANCEL goes straight there.
    await expect.poll(() => edge.owners.lookup(key, Date.now()), { timeout: 5000 }).toBe("ccnext")
    const cancel = invite("gone-1")
      .toString("latin1")
      .replace("INVITE sip", "CANCEL sip")
      .replace("1 INVITE", "1 CANCEL")
    await ua.send(cancel, { host: "127.0.0.1", port: udpPort })
    const c = parseMessageOrThrow((await take(survivor)).data)
    expect([c.callId, c.kind === "request" && c.method]).toEqual(["gone-1", "CANCEL"])
    expect(edge.owners.lookup(key, Date.now())).toBe("ccnext")
  })

  it("over TCP: answers keepalives, and a response goes back on the connection the request came on", async () => {
    const cc = await callControl()
    const socket: Socket = tcpConnect({ host: "127.0.0.1", port: tcpPort })
    await new Promise((r) => socket.once("connect", r))
    const received: Buffer[] = []
    socket.on("data", (d: Buffer) => received.push(d))
    socket.write("\r\n\r\n")
    await expect.poll(() => Buffer.concat(received).toString("latin1"), { timeout: 5000 }).toBe("\r\n")
    socket.write(invite("tcp1").toString("latin1").replace("SIP/2.0/UDP", "SIP/2.0/TCP"))
    const got = await take(cc)
    const meta = decodeSipEnvelopeMeta({ get: got.header })
    if (meta instanceof EnvelopeError) throw meta
    expect(meta.transport).toBe("tcp")
    expect(meta.connection).toBeDefined()
    const ringing = serializeMessage(
      createResponse(parseMessageOrThrow(got.data) as SipRequest, 180, { toTag: "b2bccc1.tcp00001" }),
    )
    await runInScope(bus.publish(Subjects.edgeSend(edgeId), ringing, encodeSipEnvelopeHeaders(meta)))
    await expect
      .poll(() => Buffer.concat(received).toString("latin1"), { timeout: 5000 })
      .toContain("SIP/2.0 180 Ringing")
    socket.destroy()
  })
})
