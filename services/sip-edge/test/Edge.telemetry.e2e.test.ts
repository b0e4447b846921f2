/**
 * One trace across processes: the sip-edge runs as its own process exporting spans over OTLP/HTTP to a
 * receiver on 127.0.0.1; a call-control stand-in in the test process (its own bus connection and
 * telemetry layer, spans in memory) takes an INVITE and answers 100 Trying through the edge. The edge's
 * spans and the stand-in's must link into one trace; the edge's Prometheus endpoint counts the INVITE.
 */
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import {
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeNewRequestReply,
  encodeSipEnvelopeHeaders,
  InstanceId,
  Subjects,
} from "@b2bua/contracts"
import { createResponse, parseMessageOrThrow, type SipRequest, serializeMessage } from "@b2bua/sip"
import { type OtlpReceiver, startOtlpReceiver, Telemetry, telemetryLayer } from "@b2bua/telemetry"
import {
  createTestUserAgent,
  freeSipPort,
  freeTcpPort,
  type NatsServerHandle,
  type ServiceProcess,
  startNatsServer,
  startService,
  type TestUserAgent,
  wireMessage,
} from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const edgeId = InstanceId("edgeotel")
let nats: NatsServerHandle
let receiver: OtlpReceiver
let edge: ServiceProcess
let ua: TestUserAgent
let scope: Scope.Closeable
let cc: Context.Context<Bus | Telemetry>
let sipPort = 0
let metricsPort = 0

beforeAll(async () => {
  nats = await startNatsServer()
  receiver = await startOtlpReceiver()
  sipPort = await freeSipPort()
  metricsPort = await freeTcpPort()
  scope = Effect.runSync(Scope.make())
  cc = await Effect.runPromise(
    Layer.buildWithScope(
      Layer.merge(
        busLayer({ servers: nats.url, name: "cc-standin" }),
        telemetryLayer({
          service: "call-control",
          instance: "cc1",
          exporter: "memory",
          otlpEndpoint: receiver.url,
          metrics: undefined,
        }),
      ),
      scope,
    ),
  )
  await Effect.runPromise(
    Effect.gen(function* () {
      const bus = yield* Bus
      yield* bus.subscribe(
        Subjects.callControlNew(),
        (m) =>
          Effect.gen(function* () {
            yield* m.respond(encodeNewRequestReply({ v: 1, owner: InstanceId("cc1") }))
            const meta = decodeSipEnvelopeMeta({ get: m.header })
            if (meta instanceof EnvelopeError) return
            const trying = serializeMessage(createResponse(parseMessageOrThrow(m.data) as SipRequest, 100))
            yield* bus.publish(Subjects.edgeSend(meta.edge), trying, encodeSipEnvelopeHeaders(meta))
          }).pipe(Effect.orDie),
        { queue: "cc" },
      )
      yield* Effect.promise(() => bus.connection.flush())
    }).pipe(Effect.provideService(Scope.Scope, scope), Effect.provide(cc)),
  )
  edge = await startService({
    main: fileURLToPath(new URL("../dist/main.js", import.meta.url)),
    env: {
      NATS_URL: nats.url,
      B2BUA_EDGE_INSTANCE: edgeId,
      B2BUA_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`,
      B2BUA_OTEL_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      B2BUA_METRICS_PORT: String(metricsPort),
      B2BUA_METRICS_HOST: "127.0.0.1",
    },
    readyText: "sip-edge listening",
  })
  ua = await createTestUserAgent()
})

afterAll(async () => {
  await ua?.close()
  await edge?.stop()
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await receiver?.close()
  await nats?.stop()
})

describe("sip-edge process with OTLP export", () => {
  it("its spans and call control's form one trace; its metrics count the INVITE", async () => {
    const invite = wireMessage(`
INVITE sip:bob@127.0.0.1:${sipPort} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-otel1;rport
Max-Forwards: 70
From: <sip:alice@127.0.0.1>;tag=a-otel1
To: <sip:bob@127.0.0.1>
Call-ID: otel1
CSeq: 1 INVITE
Contact: <sip:alice@127.0.0.1:${ua.port}>
`)
    await ua.send(invite, { host: "127.0.0.1", port: sipPort })
    const trying = await ua.next((x) => x.message?.callId === "otel1")
    expect(trying.message?.kind === "response" && trying.message.status).toBe(100)

    const receive = await receiver.waitFor(
      (s) => s.name === "sip.receive" && s.attributes["sip.call_id"] === "otel1",
      10_000,
    )
    expect(receive).toMatchObject({ service: "sip-edge", parentSpanId: "", kind: 2 }) // SERVER, root
    expect(receive.attributes).toMatchObject({ "sip.method": "INVITE", "net.transport": "udp" })
    const request = await receiver.waitFor(
      (s) => s.name === "nats.request" && s.parentSpanId === receive.spanId,
      10_000,
    )
    const telemetry = Context.get(cc, Telemetry)
    const ccProcess = await Effect.runPromise(
      telemetry
        .awaitSpan((s) => s.name === "nats.process" && s.spanContext().traceId === receive.traceId)
        .pipe(Effect.timeout("10 seconds")),
    )
    expect(ccProcess.parentSpanContext?.spanId).toBe(request.spanId)
    const ccPublish = await Effect.runPromise(
      telemetry
        .awaitSpan((s) => s.name === "nats.publish" && s.spanContext().traceId === receive.traceId)
        .pipe(Effect.timeout("10 seconds")),
    )
    const edgeSend = await receiver.waitFor(
      (s) => s.name === "nats.process" && s.service === "sip-edge" && s.traceId === receive.traceId,
      10_000,
    )
    expect(edgeSend.parentSpanId).toBe(ccPublish.spanContext().spanId)

    const metrics = await (
      await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text()
    expect(metrics).toMatch(/^sip_edge_requests_received_total\{method="INVITE",transport="udp"[^}]*\} 1$/m)
    expect(metrics).toMatch(/^sip_edge_responses_sent_total\{status="100"[^}]*\} 1$/m)
    expect(metrics).toMatch(/^target_info\{[^}]*service_name="sip-edge"[^}]*\} 1$/m)

    const logged = edge
      .logs()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(logged.find((l) => l.message === "sip-edge listening")).toMatchObject({
      level: "INFO",
      service: "sip-edge",
      instance: edgeId,
    })
  })
})
