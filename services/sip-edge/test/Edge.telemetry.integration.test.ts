/**
 * The edge's telemetry with real sockets and a real nats-server: the edge and a call-control stand-in
 * each run with their own telemetry layer (spans kept in memory); a SIP request's spans on both sides
 * form one trace, the envelope carries the edge's trace context, and the edge's Prometheus endpoint
 * (real HTTP on 127.0.0.1) counts what happened.
 */
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
import { Telemetry, type TelemetryConfig, telemetryLayer } from "@b2bua/telemetry"
import {
  createTestUserAgent,
  freeTcpPort,
  type NatsServerHandle,
  startNatsServer,
  type TestUserAgent,
  wireMessage,
} from "@b2bua/testkit"
import { SpanKind } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Exit, Layer, Queue, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig, type RunningEdge, runEdge } from "../src/index.js"

const edgeId = InstanceId("edgetel")
let nats: NatsServerHandle
let scope: Scope.Closeable
let edgeContext: Context.Context<Bus | Telemetry>
let ccContext: Context.Context<Bus | Telemetry>
let edge: RunningEdge
let ua: TestUserAgent
let udpPort = 0
let ccQueue: Queue.Queue<BusMessage>

const memory = (service: string, metricsPort?: number): TelemetryConfig => ({
  service,
  instance: `${service}1`,
  exporter: "memory",
  otlpEndpoint: "http://127.0.0.1:4318",
  metrics: metricsPort === undefined ? undefined : { host: "127.0.0.1", port: metricsPort },
})

const inService = <A, E>(
  context: Context.Context<Bus | Telemetry>,
  effect: Effect.Effect<A, E, Bus | Telemetry | Scope.Scope>,
): Promise<A> =>
  Effect.runPromise(effect.pipe(Effect.provideService(Scope.Scope, scope), Effect.provide(context)))

beforeAll(async () => {
  nats = await startNatsServer()
  scope = Effect.runSync(Scope.make())
  const metricsPort = await freeTcpPort()
  const build = (service: string, port?: number) =>
    Effect.runPromise(
      Layer.buildWithScope(
        Layer.merge(busLayer({ servers: nats.url, name: service }), telemetryLayer(memory(service, port))),
        scope,
      ),
    )
  edgeContext = await build("sip-edge", metricsPort)
  ccContext = await build("call-control")
  const config = loadConfig({
    NATS_URL: nats.url,
    B2BUA_EDGE_INSTANCE: edgeId,
    B2BUA_SIP_LISTEN: "udp:127.0.0.1:0",
    B2BUA_CC_TIMEOUT_MS: "500",
  })
  edge = await inService(edgeContext, runEdge(config))
  udpPort = edge.transports.listeners.find((l) => l.transport === "udp")!.port
  // Call control stand-in: takes each new request and answers 100 Trying through the edge, in the
  // span its bus handler runs in.
  ccQueue = await inService(
    ccContext,
    Effect.gen(function* () {
      const bus = yield* Bus
      const q = yield* Queue.unbounded<BusMessage>()
      yield* bus.subscribe(
        Subjects.callControlNew(),
        (m) =>
          Effect.gen(function* () {
            yield* Queue.offer(q, m)
            yield* m.respond(encodeNewRequestReply({ v: 1, owner: InstanceId("cc1") }))
            const meta = decodeSipEnvelopeMeta({ get: m.header })
            if (meta instanceof EnvelopeError) return
            const trying = serializeMessage(createResponse(parseMessageOrThrow(m.data) as SipRequest, 100))
            yield* bus.publish(Subjects.edgeSend(meta.edge), trying, encodeSipEnvelopeHeaders(meta))
          }).pipe(Effect.orDie),
        { queue: "cc" },
      )
      // The server has the subscription before the edge hands anything over.
      yield* Effect.promise(() => bus.connection.flush())
      return q
    }),
  )
  ua = await createTestUserAgent()
})

afterAll(async () => {
  await ua.close()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await nats.stop()
})

const request = (method: string, callId: string, extra = "") =>
  wireMessage(`
${method} sip:bob@127.0.0.1:${udpPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-${callId};rport
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a-${callId}
To: <sip:bob@127.0.0.1>
Call-ID: ${callId}
CSeq: 1 ${method}
Contact: <sip:alice@127.0.0.1:${ua.port}>
${extra}`)

const telemetryOf = (context: Context.Context<Bus | Telemetry>) => Context.get(context, Telemetry)

const spanWhere = (context: Context.Context<Bus | Telemetry>, matches: (s: ReadableSpan) => boolean) =>
  Effect.runPromise(
    telemetryOf(context)
      .awaitSpan(matches)
      .pipe(Effect.timeoutOrElse({ duration: 5000, orElse: () => Effect.die("span not ended in 5 s") })),
  )

const ids = (s: ReadableSpan) => s.spanContext()

describe("sip-edge telemetry", () => {
  it("one trace from the edge's receive span through call control and back to the edge's send", async () => {
    await ua.send(request("INVITE", "trace1"), { host: "127.0.0.1", port: udpPort })
    const handedOver = await Effect.runPromise(Queue.take(ccQueue).pipe(Effect.timeout("5 seconds")))
    const trying = await ua.next((x) => x.message?.callId === "trace1")
    expect(trying.message?.kind === "response" && trying.message.status).toBe(100)

    const receive = await spanWhere(
      edgeContext,
      (s) => s.name === "sip.receive" && s.attributes["sip.call_id"] === "trace1",
    )
    const trace = ids(receive).traceId
    expect(receive.kind).toBe(SpanKind.SERVER)
    expect(receive.attributes).toMatchObject({
      "sip.method": "INVITE",
      "net.transport": "udp",
      "net.peer.ip": "127.0.0.1",
      "net.peer.port": ua.port,
    })
    const natsRequest = await spanWhere(
      edgeContext,
      (s) => s.name === "nats.request" && s.parentSpanContext?.spanId === ids(receive).spanId,
    )
    expect(ids(natsRequest).traceId).toBe(trace)
    // The envelope carries the context of the edge's request span (W3C traceparent).
    expect(handedOver.header("traceparent")).toBe(`00-${trace}-${ids(natsRequest).spanId}-01`)

    const ccProcess = await spanWhere(ccContext, (s) => s.name === "nats.process" && ids(s).traceId === trace)
    expect(ccProcess.parentSpanContext?.spanId).toBe(ids(natsRequest).spanId)
    const ccPublish = await spanWhere(ccContext, (s) => s.name === "nats.publish" && ids(s).traceId === trace)
    expect(ccPublish.parentSpanContext?.spanId).toBe(ids(ccProcess).spanId)
    const edgeSend = await spanWhere(
      edgeContext,
      (s) =>
        s.name === "nats.process" && s.attributes["messaging.destination.name"] === Subjects.edgeSend(edgeId),
    )
    expect(ids(edgeSend).traceId).toBe(trace)
    expect(edgeSend.parentSpanContext?.spanId).toBe(ids(ccPublish).spanId)
  })

  it("counts messages in and out, 400s by parser code, 503s by cause and NATS latency on /metrics", async () => {
    await ua.send(request("OPTIONS", "metrics1"), { host: "127.0.0.1", port: udpPort })
    await ua.next((x) => x.message?.callId === "metrics1")
    await ua.send(request("INVITE", "bad1").toString("latin1").replace("CSeq: 1 INVITE", "CSeq: 1 BYE"), {
      host: "127.0.0.1",
      port: udpPort,
    })
    const bad = await ua.next((x) => x.message?.callId === "bad1")
    expect(bad.message?.kind === "response" && bad.message.status).toBe(400)
    // Nobody serves the registrar's subject here: the edge answers 503 itself.
    await ua.send(request("REGISTER", "reg1"), { host: "127.0.0.1", port: udpPort })
    const refused = await ua.next((x) => x.message?.callId === "reg1")
    expect(refused.message?.kind === "response" && refused.message.status).toBe(503)

    const url = telemetryOf(edgeContext).metricsUrl!
    const body = await (await fetch(url, { signal: AbortSignal.timeout(5000) })).text()
    const value = (pattern: RegExp): number => Number(pattern.exec(body)?.[1] ?? Number.NaN)
    expect(value(/^sip_edge_requests_received_total\{method="OPTIONS",transport="udp"[^}]*\} (\d+)$/m)).toBe(
      1,
    )
    expect(value(/^sip_edge_bad_requests_total\{reason="BadHeaderValue"[^}]*\} (\d+)$/m)).toBe(1)
    expect(value(/^sip_edge_responses_sent_total\{status="400"[^}]*\} (\d+)$/m)).toBe(1)
    expect(value(/^sip_edge_overload_503_total\{cause="no_responders"[^}]*\} (\d+)$/m)).toBe(1)
    expect(value(/^sip_edge_responses_sent_total\{status="503"[^}]*\} (\d+)$/m)).toBe(1)
    // INVITE trace1 and OPTIONS metrics1 were taken by the stand-in; each got a 100 sent back.
    expect(value(/^sip_edge_responses_sent_total\{status="100"[^}]*\} (\d+)$/m)).toBe(2)
    expect(
      value(/^sip_edge_nats_request_duration_seconds_count\{handover="new",outcome="ok"[^}]*\} (\d+)$/m),
    ).toBe(2)
    expect(
      value(
        /^sip_edge_nats_request_duration_seconds_count\{handover="registrar",outcome="no_responders"[^}]*\} (\d+)$/m,
      ),
    ).toBe(1)
    expect(value(/^sip_edge_in_flight(?:\{[^}]*\})? (\d+)$/m)).toBe(0)
  })
})
