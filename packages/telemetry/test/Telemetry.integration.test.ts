/** The telemetry layer: spans kept in memory, the Prometheus endpoint over real HTTP on 127.0.0.1. */
import { freeTcpPort } from "@b2bua/testkit"
import { SpanKind } from "@opentelemetry/api"
import { Effect, Exit, Layer, Tracer } from "effect"
import { describe, expect, it } from "vitest"
import {
  jsonLoggerLayer,
  LATENCY_BUCKETS_S,
  Metrics,
  Telemetry,
  type TelemetryConfig,
  telemetryLayer,
} from "../src/index.js"

const memoryConfig: TelemetryConfig = {
  service: "svc",
  instance: "i1",
  exporter: "memory",
  otlpEndpoint: "http://127.0.0.1:4318",
  metrics: undefined,
}

const scrape = async (url: string): Promise<{ status: number; body: string; type: string }> => {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) })
  return {
    status: response.status,
    body: await response.text(),
    type: response.headers.get("content-type") ?? "",
  }
}

describe("telemetry layer", () => {
  it("exports Effect spans as OpenTelemetry spans, parent links and attributes kept", async () => {
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        const telemetry = yield* Telemetry
        yield* Effect.void.pipe(
          Effect.withSpan("child", { attributes: { "sip.method": "INVITE" } }),
          Effect.withSpan("parent", { kind: "server" }),
        )
        yield* Effect.fail("boom").pipe(Effect.withSpan("failing"), Effect.ignore)
        return telemetry.finishedSpans()
      }).pipe(Effect.provide(telemetryLayer(memoryConfig))),
    )
    const byName = new Map(spans.map((s) => [s.name, s]))
    const parent = byName.get("parent")!
    const child = byName.get("child")!
    expect(parent.kind).toBe(SpanKind.SERVER)
    expect(child.spanContext().traceId).toBe(parent.spanContext().traceId)
    expect(child.parentSpanContext?.spanId).toBe(parent.spanContext().spanId)
    expect(child.attributes["sip.method"]).toBe("INVITE")
    expect(parent.resource.attributes["service.name"]).toBe("svc")
    expect(parent.resource.attributes["service.instance.id"]).toBe("i1")
    expect(byName.get("failing")!.status.code).toBe(2) // SpanStatusCode.ERROR
  })

  it("names a span after its Effect.fn and records the failure it ends with", async () => {
    const claim = Effect.fn("CallControl.claim")(function* (callId: string) {
      yield* Effect.annotateCurrentSpan("sip.call_id", callId)
      return yield* Effect.fail(new Error(`claim of ${callId} lost`))
    })
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        yield* claim("c1").pipe(Effect.ignore)
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(telemetryLayer(memoryConfig))),
    )
    const span = spans.find((s) => s.name === "CallControl.claim")!
    expect(span.attributes["sip.call_id"]).toBe("c1")
    expect(span.status).toMatchObject({ code: 2, message: "claim of c1 lost" })
  })

  it("samples new traces by ratio and lets a continued trace keep its parent's decision", async () => {
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.void.pipe(Effect.withSpan("child"), Effect.withSpan("new trace"))
        const sampledParent = Tracer.externalSpan({
          traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
          spanId: "00f067aa0ba902b7",
          sampled: true,
        })
        yield* Effect.void.pipe(Effect.withSpan("continued", { parent: sampledParent }))
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(telemetryLayer({ ...memoryConfig, sampleRatio: 0 }))),
    )
    expect(spans.map((s) => s.name)).toEqual(["continued"])
    expect(spans[0]!.spanContext().traceId).toBe("4bf92f3577b34da6a3ce929d0e0e4736")
  })

  it("with the service loggers, a line logged inside a span is an event of that span", async () => {
    const spans = await Effect.runPromise(
      Effect.gen(function* () {
        yield* Effect.logWarning("retransmission").pipe(
          Effect.annotateLogs({ timer: "A" }),
          Effect.withSpan("transaction"),
        )
        return (yield* Telemetry).finishedSpans()
      }).pipe(Effect.provide(Layer.merge(telemetryLayer(memoryConfig), jsonLoggerLayer))),
    )
    const transaction = spans.find((s) => s.name === "transaction")!
    expect(transaction.events.map((e) => e.name)).toEqual(["retransmission"])
    expect(transaction.events[0]!.attributes).toMatchObject({ timer: "A", "effect.logLevel": "WARN" })
  })

  it("serves counters, histograms and gauges with their labels on the Prometheus endpoint", async () => {
    const port = await freeTcpPort()
    const config: TelemetryConfig = {
      ...memoryConfig,
      exporter: "none",
      metrics: { host: "127.0.0.1", port },
    }
    const { body, status, type } = await Effect.runPromise(
      Effect.gen(function* () {
        const metrics = yield* Metrics
        const requests = metrics.counter("sip_requests_total", {
          description: "SIP requests received",
          labels: ["method"],
        })
        requests.add({ method: "INVITE" })
        requests.add({ method: "INVITE" })
        requests.add({ method: "BYE" }, 3)
        const latency = metrics.histogram("nats_request_duration_seconds", {
          description: "NATS request latency",
          unit: "s",
          labels: ["subject"],
          boundaries: LATENCY_BUCKETS_S,
        })
        latency.record({ subject: "b2b.v1.cc.new" }, 0.003)
        metrics.gauge("relay_sessions", { description: "sessions" }).set({}, 7)
        metrics.observe("edge_in_flight", { description: "in flight", labels: ["kind"] }, () => [
          [{ kind: "new" }, 4],
        ])
        const url = (yield* Telemetry).metricsUrl!
        return yield* Effect.promise(() => scrape(url))
      }).pipe(Effect.provide(telemetryLayer(config))),
    )
    expect(status).toBe(200)
    expect(type).toContain("text/plain")
    expect(body).toMatch(/^# TYPE sip_requests_total counter$/m)
    expect(body).toMatch(/^sip_requests_total\{method="INVITE"[^}]*\} 2$/m)
    expect(body).toMatch(/^sip_requests_total\{method="BYE"[^}]*\} 3$/m)
    expect(body).toMatch(
      /^nats_request_duration_seconds_bucket\{subject="b2b.v1.cc.new"[^}]*le="0.0025"\} 0$/m,
    )
    expect(body).toMatch(
      /^nats_request_duration_seconds_bucket\{subject="b2b.v1.cc.new"[^}]*le="0.005"\} 1$/m,
    )
    expect(body).toMatch(/^nats_request_duration_seconds_count\{subject="b2b.v1.cc.new"[^}]*\} 1$/m)
    expect(body).toMatch(/^relay_sessions(\{[^}]*\})? 7$/m)
    expect(body).toMatch(/^edge_in_flight\{kind="new"[^}]*\} 4$/m)
  })

  it("stops serving metrics when the layer is released, and fails clearly when the port is taken", async () => {
    const port = await freeTcpPort()
    const config: TelemetryConfig = {
      ...memoryConfig,
      exporter: "none",
      metrics: { host: "127.0.0.1", port },
    }
    const url = await Effect.runPromise(
      Effect.gen(function* () {
        return (yield* Telemetry).metricsUrl!
      }).pipe(Effect.provide(telemetryLayer(config))),
    )
    await expect(scrape(url)).rejects.toThrow()
    const taken = await Effect.runPromiseExit(
      Effect.void.pipe(
        Effect.provide(Layer.merge(telemetryLayer(config), telemetryLayer({ ...config, service: "second" }))),
      ),
    )
    expect(Exit.isFailure(taken)).toBe(true)
    expect(String(taken)).toContain(`metrics endpoint on 127.0.0.1:${port}`)
  })

  it("records nothing and fails nothing where no layer is provided", async () => {
    await Effect.runPromise(
      Effect.gen(function* () {
        const metrics = yield* Metrics
        metrics.counter("unused_total", { description: "never served", labels: ["a"] }).add({ a: "x" })
      }),
    )
  })

  it("refuses a metric name Prometheus would not accept", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.gen(function* () {
        const metrics = yield* Metrics
        metrics.counter("bad-name", { description: "dash" })
      }),
    )
    expect(String(exit)).toContain("bad-name")
  })
})
