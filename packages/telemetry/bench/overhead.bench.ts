/**
 * What telemetry adds to one SIP message on the edge's path, measured in one run against a baseline:
 * the same Effect work (a dozen instructions, a trace header built from the current span) with
 *   - no span, no metrics (baseline: the edge before instrumentation),
 *   - exporter none, metrics off (the default: Effect's own tracer, no-op meter),
 *   - exporter otlp + Prometheus metrics on (SDK spans, batch processor, aggregation),
 *   - the same with @effect/opentelemetry's full layer (its per-instruction context hook kept),
 * where each instrumented message gets what the edge gives it: a span with six attributes, two counter
 * updates and a histogram record. Nothing is exported during the run (the OTLP endpoint is a closed
 * port on 127.0.0.1; the queue drops beyond its bound), so the figure is the in-process cost.
 *
 * Run: npm run bench -w @b2bua/telemetry (pins to one core with taskset when available).
 * Each case runs in ROUNDS interleaved rounds and its fastest round is reported.
 */
import { createServer } from "node:net"
import {
  LATENCY_BUCKETS_S,
  Metrics,
  type Telemetry,
  type TelemetryConfig,
  type TelemetryError,
  telemetryLayer,
} from "@b2bua/telemetry"
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BasicTracerProvider, BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, type Layer, Tracer } from "effect"

const MESSAGES = 30_000
const WARMUP = 10_000
/** Rounds over all cases, interleaved; the best round of each case is reported (a shared machine's noise only slows). */
const ROUNDS = 5

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

/** The edge's own work per message, stood in by a dozen instructions and a header built from the span. */
const work = (i: number) =>
  Effect.gen(function* () {
    let acc = i
    for (let k = 0; k < 10; k++) acc = yield* Effect.sync(() => (acc * 31 + k) | 0)
    const span = yield* Effect.serviceOption(Tracer.ParentSpan)
    return span._tag === "Some" ? `00-${span.value.traceId}-${span.value.spanId}-01`.length + acc : acc
  })

const instrumented = Effect.gen(function* () {
  const metrics = yield* Metrics
  const received = metrics.counter("bench_requests_total", {
    description: "bench",
    labels: ["method", "transport"],
  })
  const sent = metrics.counter("bench_responses_total", { description: "bench", labels: ["status"] })
  const latency = metrics.histogram("bench_seconds", {
    description: "bench",
    labels: ["handover", "outcome"],
    boundaries: LATENCY_BUCKETS_S,
  })
  return (i: number) =>
    work(i).pipe(
      Effect.tap(() =>
        Effect.sync(() => {
          received.add({ method: "INVITE", transport: "udp" })
          sent.add({ status: "100" })
          latency.record({ handover: "new", outcome: "ok" }, 0.0012)
        }),
      ),
      Effect.tap(() => Effect.annotateCurrentSpan({ "sip.method": "INVITE", "sip.call_id": `c${i}` })),
      Effect.withSpan("sip.receive", {
        kind: "server",
        attributes: {
          "net.transport": "udp",
          "net.peer.ip": "127.0.0.1",
          "net.peer.port": 5060,
          "sip.status": 0,
        },
      }),
    )
})

const loop = (handle: (i: number) => Effect.Effect<number>, n: number) =>
  Effect.gen(function* () {
    let sink = 0
    for (let i = 0; i < n; i++) sink ^= yield* handle(i)
    return sink
  })

interface Result {
  readonly name: string
  readonly perMessageUs: number
  readonly perSecond: number
}

/** Runs warm-up and measurement inside `layer`, so the tracer and meter it installs are in use. */
const measure = async (
  name: string,
  handler: Effect.Effect<(i: number) => Effect.Effect<number>>,
  layer: Layer.Layer<Telemetry, TelemetryError> | undefined,
  tracer?: Tracer.Tracer,
): Promise<Result> => {
  const run = Effect.gen(function* () {
    const handle = yield* handler
    yield* loop(handle, WARMUP)
    const start = process.hrtime.bigint()
    yield* loop(handle, MESSAGES)
    const ns = Number(process.hrtime.bigint() - start)
    return { name, perMessageUs: ns / 1000 / MESSAGES, perSecond: (MESSAGES * 1e9) / ns }
  })
  const traced = tracer === undefined ? run : run.pipe(Effect.provideService(Tracer.Tracer, tracer))
  return Effect.runPromise(layer === undefined ? traced : traced.pipe(Effect.provide(layer)))
}

const main = async () => {
  const base: TelemetryConfig = {
    service: "bench",
    instance: "b1",
    exporter: "none",
    otlpEndpoint: "http://127.0.0.1:9",
    metrics: undefined,
  }
  const otlp: TelemetryConfig = { ...base, exporter: "otlp", batchDelayMs: 600_000 }
  // The bridge as @effect/opentelemetry ships it (its per-instruction context hook kept), over the same
  // SDK setup: batch processor to the same closed endpoint, metrics on.
  const provider = new BasicTracerProvider({
    spanProcessors: [
      new BatchSpanProcessor(new OTLPTraceExporter({ url: `${base.otlpEndpoint}/v1/traces` }), {
        maxQueueSize: 4096,
        scheduledDelayMillis: 600_000,
      }),
    ],
  })
  const fullBridge = Effect.runSync(
    OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, provider.getTracer("bench"))),
  )
  const withMetrics = async (config: TelemetryConfig): Promise<TelemetryConfig> => ({
    ...config,
    metrics: { host: "127.0.0.1", port: await freePort() },
  })
  const cases: ReadonlyArray<() => Promise<Result>> = [
    () => measure("baseline (no span, no metrics)", Effect.succeed(work), undefined),
    () => measure("exporter none, metrics off", instrumented, telemetryLayer(base)),
    async () => measure("exporter otlp, metrics on", instrumented, telemetryLayer(await withMetrics(otlp))),
    async () =>
      measure(
        "exporter otlp, metrics on, full bridge",
        instrumented,
        telemetryLayer(await withMetrics(base)),
        fullBridge,
      ),
  ]
  const best = new Map<string, Result>()
  for (let round = 0; round < ROUNDS; round++) {
    for (const run of cases) {
      const r = await run()
      const previous = best.get(r.name)
      if (previous === undefined || r.perMessageUs < previous.perMessageUs) best.set(r.name, r)
    }
  }
  await provider.shutdown().catch(() => undefined)
  const results = [...best.values()]
  const baseline = results[0]!.perMessageUs
  console.log(
    `telemetry overhead per SIP message (${MESSAGES} messages after ${WARMUP} warm-up, one fiber, best of ${ROUNDS} rounds)`,
  )
  for (const r of results) {
    console.log(
      `${r.name.padEnd(42)} ${r.perMessageUs.toFixed(2).padStart(7)} µs/msg ${Math.round(r.perSecond).toString().padStart(9)} msg/s  ×${(r.perMessageUs / baseline).toFixed(2)} baseline  +${(r.perMessageUs - baseline).toFixed(2)} µs`,
    )
  }
}

await main()
