/**
 * Trace context across a real nats-server: two "services" (each its own bus connection and its own
 * telemetry layer keeping spans in memory) exchange messages; their spans must form one trace.
 */
import { Telemetry, type TelemetryConfig, telemetryLayer } from "@b2bua/telemetry"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { SpanKind } from "@opentelemetry/api"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { Deferred, Effect, Layer, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Bus, busLayer, TRACEPARENT, TRACESTATE } from "../src/index.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

const memory = (service: string): TelemetryConfig => ({
  service,
  instance: `${service}1`,
  exporter: "memory",
  otlpEndpoint: "http://127.0.0.1:4318",
  metrics: undefined,
})

/** A service's layers: its own NATS connection and its own tracer provider. */
const serviceLayer = (service: string) =>
  Layer.merge(busLayer({ servers: nats.url, name: service }), telemetryLayer(memory(service)))

const bytes = (s: string) => new TextEncoder().encode(s)

const SPAN_WAIT_MS = 5000

const waitSpan = (telemetry: Telemetry["Service"], name: string) =>
  telemetry
    .awaitSpan((s) => s.name === name)
    .pipe(Effect.timeoutOrElse({ duration: SPAN_WAIT_MS, orElse: () => Effect.die(`no span ${name}`) }))

/** A round trip on the subscriber's connection: the server has its subscriptions before others publish. */
const flushed = Effect.gen(function* () {
  const bus = yield* Bus
  yield* Effect.promise(() => bus.connection.flush())
})

/** Waits for a handler's signal, bounded. */
const signalled = <A>(deferred: Deferred.Deferred<A>) =>
  Deferred.await(deferred).pipe(
    Effect.timeoutOrElse({ duration: SPAN_WAIT_MS, orElse: () => Effect.die("handler not reached") }),
  )

const spanIds = (s: ReadableSpan) => ({ trace: s.spanContext().traceId, span: s.spanContext().spanId })

/** Runs `program` with two services built in one scope; each part is given its own layers. */
const withTwoServices = <A, E>(
  program: (
    a: <X, XE>(e: Effect.Effect<X, XE, Bus | Telemetry | Scope.Scope>) => Effect.Effect<X, XE, Scope.Scope>,
    b: <X, XE>(e: Effect.Effect<X, XE, Bus | Telemetry | Scope.Scope>) => Effect.Effect<X, XE, Scope.Scope>,
  ) => Effect.Effect<A, E, Scope.Scope>,
): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const a = yield* Layer.build(serviceLayer("edge"))
        const b = yield* Layer.build(serviceLayer("control"))
        return yield* program(
          (e) => Effect.provide(e, a),
          (e) => Effect.provide(e, b),
        )
      }),
    ),
  )

describe("trace context over a real nats-server", () => {
  it("a publish in one service's span and the other's handler span share the trace", () =>
    withTwoServices((inEdge, inControl) =>
      Effect.gen(function* () {
        const received = yield* Deferred.make<void>()
        yield* inControl(
          Effect.gen(function* () {
            const bus = yield* Bus
            yield* bus.subscribe(
              "trace.publish",
              () => Deferred.succeed(received, undefined).pipe(Effect.asVoid),
              {
                queue: "workers",
              },
            )
            yield* flushed
          }),
        )
        const sent = yield* inEdge(
          Effect.gen(function* () {
            const bus = yield* Bus
            const span = yield* Effect.currentSpan.pipe(Effect.orDie)
            yield* bus.publish("trace.publish", bytes("x"))
            return span
          }).pipe(Effect.withSpan("sip.receive", { kind: "server" })),
        )
        yield* signalled(received)
        const edgeTelemetry = yield* inEdge(Telemetry)
        const controlTelemetry = yield* inControl(Telemetry)
        const publish = yield* waitSpan(edgeTelemetry, "nats.publish")
        const process = yield* waitSpan(controlTelemetry, "nats.process")

        // One trace: sip.receive (edge) → nats.publish (edge) → nats.process (control).
        expect(spanIds(publish).trace).toBe(sent.traceId)
        expect(publish.parentSpanContext?.spanId).toBe(sent.spanId)
        expect(spanIds(process).trace).toBe(sent.traceId)
        expect(process.parentSpanContext?.spanId).toBe(spanIds(publish).span)
        expect(process.parentSpanContext?.isRemote).toBe(true)
        expect(publish.kind).toBe(SpanKind.PRODUCER)
        expect(process.kind).toBe(SpanKind.CONSUMER)
        expect(process.attributes["messaging.destination.name"]).toBe("trace.publish")
        expect(process.attributes["messaging.consumer.group.name"]).toBe("workers")
        expect(process.resource.attributes["service.name"]).toBe("control")
      }),
    ))

  it("request, handler and reply form one trace; the reply carries the handler's context", () =>
    withTwoServices((inEdge, inControl) =>
      Effect.gen(function* () {
        yield* inControl(
          Effect.gen(function* () {
            const bus = yield* Bus
            yield* bus.subscribe("trace.request", (m) =>
              m.respond(bytes("ok")).pipe(Effect.withSpan("control.handle"), Effect.orDie),
            )
            yield* flushed
          }),
        )
        const reply = yield* inEdge(
          Effect.gen(function* () {
            const bus = yield* Bus
            return yield* bus.request("trace.request", bytes("x"), { timeoutMs: 2000 })
          }).pipe(Effect.withSpan("edge.forward")),
        )
        const edgeTelemetry = yield* inEdge(Telemetry)
        const controlTelemetry = yield* inControl(Telemetry)
        const request = yield* waitSpan(edgeTelemetry, "nats.request")
        const forward = yield* waitSpan(edgeTelemetry, "edge.forward")
        const process = yield* waitSpan(controlTelemetry, "nats.process")
        const handle = yield* waitSpan(controlTelemetry, "control.handle")

        const trace = spanIds(forward).trace
        for (const span of [request, process, handle]) expect(spanIds(span).trace).toBe(trace)
        expect(request.parentSpanContext?.spanId).toBe(spanIds(forward).span)
        expect(request.kind).toBe(SpanKind.CLIENT)
        expect(process.parentSpanContext?.spanId).toBe(spanIds(request).span)
        expect(handle.parentSpanContext?.spanId).toBe(spanIds(process).span)
        expect(reply.header(TRACEPARENT)).toBe(`00-${trace}-${spanIds(handle).span}-01`)
      }),
    ))

  it("a message without trace context, or with a malformed one, starts a new trace", () =>
    withTwoServices((_inEdge, inControl) =>
      Effect.gen(function* () {
        const got = yield* Deferred.make<void>()
        const raw = yield* inControl(
          Effect.gen(function* () {
            const bus = yield* Bus
            yield* bus.subscribe("trace.raw", () => Deferred.succeed(got, undefined).pipe(Effect.asVoid))
            yield* flushed
            return bus.connection
          }),
        )
        const { headers } = yield* Effect.promise(() => import("@nats-io/transport-node"))
        const h = headers()
        h.set(TRACEPARENT, "00-zz-not-a-context")
        raw.publish("trace.raw", bytes("x"), { headers: h })
        yield* signalled(got)
        const process = yield* waitSpan(yield* inControl(Telemetry), "nats.process")
        expect(process.parentSpanContext).toBeUndefined()
      }),
    ))

  it("passes a received tracestate on to the next hop", () =>
    withTwoServices((inEdge, inControl) =>
      Effect.gen(function* () {
        const seen = yield* Deferred.make<string>()
        yield* inEdge(
          Effect.gen(function* () {
            const bus = yield* Bus
            yield* bus.subscribe("trace.hop2", (m) =>
              Deferred.succeed(seen, m.header(TRACESTATE)).pipe(Effect.asVoid),
            )
            yield* flushed
          }),
        )
        yield* inControl(
          Effect.gen(function* () {
            const bus = yield* Bus
            yield* bus.subscribe("trace.hop1", (m) => bus.publish("trace.hop2", m.data).pipe(Effect.orDie))
            yield* flushed
          }),
        )
        const { headers } = yield* Effect.promise(() => import("@nats-io/transport-node"))
        const h = headers()
        h.set(TRACEPARENT, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        h.set(TRACESTATE, "rojo=00f067aa0ba902b7")
        const connection = yield* inEdge(Effect.map(Bus, (b) => b.connection))
        connection.publish("trace.hop1", bytes("x"), { headers: h })
        expect(yield* signalled(seen)).toBe("rojo=00f067aa0ba902b7")
      }),
    ))
})
