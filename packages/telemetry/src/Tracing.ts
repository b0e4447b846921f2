/**
 * Traces: an OpenTelemetry tracer provider for the configured exporter, and the Effect tracer that turns
 * every Effect span (`Effect.withSpan`, `Effect.fn`) into an OpenTelemetry span through
 * `@effect/opentelemetry`'s OtelTracer.
 *
 * The bridge's span implementation is used as it is; its per-instruction hook that mirrors the current
 * span into OpenTelemetry's own context is left out: it exists for OpenTelemetry instrumentation of
 * third-party libraries (none runs here) and allocates two context objects on every Effect instruction
 * executed inside a span, which the SIP path would pay for on each message.
 */
import * as OtelTracer from "@effect/opentelemetry/OtelTracer"
import type { Tracer as OtelApiTracer } from "@opentelemetry/api"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import type { Resource } from "@opentelemetry/resources"
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base"
import { Effect, Tracer } from "effect"
import type { TelemetryConfig } from "./TelemetryConfig.js"

export interface TracingHandle {
  /** The Effect tracer to install; undefined keeps Effect's own (ids for propagation, nothing exported). */
  readonly tracer: Tracer.Tracer | undefined
  readonly finishedSpans: () => ReadonlyArray<ReadableSpan>
  readonly resetSpans: () => void
  /** Calls `listener` with each span as it ends (memory exporter); returns the unsubscribe function. */
  readonly onSpanEnd: (listener: (span: ReadableSpan) => void) => () => void
  readonly flush: () => Promise<void>
  readonly shutdown: () => Promise<void>
}

/**
 * Bounds of the OTLP batch queue: beyond `maxQueueSize` spans are dropped (never an unbounded buffer
 * when the collector is down); a batch leaves every `batchDelayMs` (default 5 s) or at 512 spans.
 */
const otlpBatch = (config: TelemetryConfig) => ({
  maxQueueSize: 4096,
  maxExportBatchSize: 512,
  scheduledDelayMillis: config.batchDelayMs ?? 5000,
})

/** Wraps an OpenTelemetry tracer as an Effect tracer (span creation only; see the module comment). */
export const effectTracerFor = (otel: OtelApiTracer): Tracer.Tracer => {
  const bridged = Effect.runSync(OtelTracer.make.pipe(Effect.provideService(OtelTracer.OtelTracer, otel)))
  return Tracer.make({ span: (options) => bridged.span(options) })
}

/** Spans the memory exporter keeps at most; later ones are not kept (the exporter is for tests). */
export const MEMORY_SPAN_LIMIT = 10_000

/** Keeps ended spans in memory (bounded) and tells listeners about each one (tests wait, never poll). */
const memorySpans = (listeners: ReadonlySet<(span: ReadableSpan) => void>) => {
  let kept: ReadableSpan[] = []
  const processor: SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => {
      if (kept.length < MEMORY_SPAN_LIMIT) kept.push(span)
      for (const listener of listeners) listener(span)
    },
    forceFlush: () => Promise.resolve(),
    shutdown: () => Promise.resolve(),
  }
  return {
    processor,
    spans: (): ReadonlyArray<ReadableSpan> => kept,
    reset: () => {
      kept = []
    },
  }
}

export const makeTracing = (config: TelemetryConfig, resource: Resource): TracingHandle => {
  if (config.exporter === "none") {
    return {
      tracer: undefined,
      finishedSpans: () => [],
      resetSpans: () => {},
      onSpanEnd: () => () => {},
      flush: () => Promise.resolve(),
      shutdown: () => Promise.resolve(),
    }
  }
  const listeners = new Set<(span: ReadableSpan) => void>()
  const memory = config.exporter === "memory" ? memorySpans(listeners) : undefined
  const processors: SpanProcessor[] =
    memory !== undefined
      ? [memory.processor]
      : [
          new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${config.otlpEndpoint}/v1/traces` }),
            otlpBatch(config),
          ),
        ]
  // Parent-based: a trace continued from another service keeps the decision made where it began.
  const sampler = new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio ?? 1) })
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors, sampler })
  return {
    tracer: effectTracerFor(provider.getTracer("@b2bua/telemetry")),
    finishedSpans: () => memory?.spans() ?? [],
    resetSpans: () => memory?.reset(),
    onSpanEnd: (listener) => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  }
}
