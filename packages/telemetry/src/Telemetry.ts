/**
 * One telemetry layer per service: it installs the Effect tracer (spans exported as configured), the
 * `Metrics` reference (Prometheus endpoint when a port is set), and offers the `Telemetry` service to
 * read spans kept in memory (tests) and to flush. Releasing the layer flushes buffered spans and stops
 * the metrics endpoint.
 */
import { resourceFromAttributes } from "@opentelemetry/resources"
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions"
import { Context, Data, Effect, Layer, Tracer } from "effect"
import { Metrics, metricsFromMeter } from "./Metrics.js"
import { startMetrics } from "./MetricsEndpoint.js"
import type { TelemetryConfig } from "./TelemetryConfig.js"
import { makeTracing } from "./Tracing.js"

export interface TelemetryShape {
  readonly config: TelemetryConfig
  /** Spans ended so far, oldest first (memory exporter; empty for the others). */
  readonly finishedSpans: () => ReadonlyArray<ReadableSpan>
  readonly resetSpans: () => void
  /**
   * The first ended span (already or later) that `matches` (memory exporter). Never resolves for the
   * other exporters: callers bound it with `Effect.timeout`.
   */
  readonly awaitSpan: (matches: (span: ReadableSpan) => boolean) => Effect.Effect<ReadableSpan>
  /** `http://host:port/metrics` when the Prometheus endpoint is served. */
  readonly metricsUrl: string | undefined
  /** Exports the spans still buffered. */
  readonly flush: Effect.Effect<void>
}

export class Telemetry extends Context.Service<Telemetry, TelemetryShape>()("@b2bua/telemetry/Telemetry") {}

export class TelemetryError extends Data.TaggedError("TelemetryError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `telemetry ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** Bounds the flush at shutdown: a collector that does not answer must not hold the process. */
const SHUTDOWN_TIMEOUT_MS = 5000

export const telemetryLayer = (config: TelemetryConfig): Layer.Layer<Telemetry, TelemetryError> =>
  Layer.effectContext(
    Effect.gen(function* () {
      const resource = resourceFromAttributes({
        [ATTR_SERVICE_NAME]: config.service,
        "service.instance.id": config.instance,
      })
      const tracing = makeTracing(config, resource)
      yield* Effect.addFinalizer(() =>
        Effect.promise(() => tracing.shutdown().catch(() => undefined)).pipe(
          Effect.timeout(SHUTDOWN_TIMEOUT_MS),
          Effect.ignore,
        ),
      )
      const metrics = yield* Effect.acquireRelease(
        Effect.tryPromise({
          try: () => startMetrics(config, resource),
          catch: (cause) =>
            new TelemetryError({
              operation: `metrics endpoint on ${config.metrics?.host}:${config.metrics?.port}`,
              cause,
            }),
        }),
        (m) =>
          Effect.promise(() => m.shutdown().catch(() => undefined)).pipe(
            Effect.timeout(SHUTDOWN_TIMEOUT_MS),
            Effect.ignore,
          ),
      )
      const telemetry: TelemetryShape = {
        config,
        finishedSpans: tracing.finishedSpans,
        resetSpans: tracing.resetSpans,
        awaitSpan: (matches) =>
          Effect.callback<ReadableSpan>((resume) => {
            const done = tracing.finishedSpans().find(matches)
            if (done !== undefined) {
              resume(Effect.succeed(done))
              return
            }
            const stop = tracing.onSpanEnd((span) => {
              if (!matches(span)) return
              stop()
              resume(Effect.succeed(span))
            })
            return Effect.sync(stop)
          }),
        metricsUrl: metrics.url,
        flush: Effect.promise(() => tracing.flush().catch(() => undefined)),
      }
      const services = Context.make(Telemetry, telemetry).pipe(
        Context.add(Metrics, metricsFromMeter(metrics.meter)),
      )
      return tracing.tracer === undefined ? services : Context.add(services, Tracer.Tracer, tracing.tracer)
    }),
  )
