/**
 * A small typed metrics API over OpenTelemetry instruments. A metric is declared once with its label
 * names; each update names exactly those labels (the compiler checks the keys). Updates are plain
 * synchronous calls (no Effect, no allocation beyond the label record), cheap enough for a per-message
 * path. `Metrics` is a reference with a no-op default: code that records metrics runs unchanged, and
 * records nothing, where no telemetry layer is provided (unit tests).
 *
 * Label values must come from a bounded set (methods, status codes, reasons chosen by the code), never
 * raw input: each distinct combination is a time series. The SDK caps a metric at 2000 combinations and
 * folds the excess into one overflow series, so a mistake cannot grow memory without bound.
 */
import { type Attributes, createNoopMeter, type Meter } from "@opentelemetry/api"
import { Context, Data } from "effect"

export type Labels<L extends string> = { readonly [K in L]: string }

export interface Counter<L extends string> {
  /** Adds `value` (default 1, never negative) to the series named by `labels`. */
  readonly add: (labels: Labels<L>, value?: number) => void
}

export interface UpDownCounter<L extends string> {
  /** Adds `value` (may be negative): things that come and go, such as calls in progress. */
  readonly add: (labels: Labels<L>, value: number) => void
}

export interface Histogram<L extends string> {
  readonly record: (labels: Labels<L>, value: number) => void
}

export interface Gauge<L extends string> {
  /** Sets the current value of the series named by `labels`. */
  readonly set: (labels: Labels<L>, value: number) => void
}

export interface MetricOptions<L extends string> {
  readonly description: string
  readonly labels?: ReadonlyArray<L>
  /** UCUM unit ("s", "By", "1"); Prometheus shows it in `# UNIT` (and OTLP carries it). */
  readonly unit?: string
}

export interface HistogramOptions<L extends string> extends MetricOptions<L> {
  /** Upper bounds of the buckets, ascending. */
  readonly boundaries: ReadonlyArray<number>
}

export interface MetricsShape {
  readonly counter: <L extends string = never>(name: string, options: MetricOptions<L>) => Counter<L>
  readonly upDownCounter: <L extends string = never>(
    name: string,
    options: MetricOptions<L>,
  ) => UpDownCounter<L>
  readonly histogram: <L extends string = never>(name: string, options: HistogramOptions<L>) => Histogram<L>
  readonly gauge: <L extends string = never>(name: string, options: MetricOptions<L>) => Gauge<L>
  /**
   * A gauge read when metrics are collected (a Prometheus scrape): `read` reports the current values,
   * so a value the service already holds (a map's size, in-flight requests) costs nothing per update.
   */
  readonly observe: <L extends string = never>(
    name: string,
    options: MetricOptions<L>,
    read: () => Iterable<readonly [Labels<L>, number]>,
  ) => void
}

/** A metric or label name Prometheus would not accept (a programming error, found at start-up). */
export class MetricNameError extends Data.TaggedError("MetricNameError")<{
  readonly name: string
  readonly reason: string
}> {
  override get message(): string {
    return `metric ${this.name}: ${this.reason}`
  }
}

const METRIC_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/

const checkNames = (name: string, labels: ReadonlyArray<string>): void => {
  if (!METRIC_NAME.test(name)) throw new MetricNameError({ name, reason: "not a Prometheus metric name" })
  for (const label of labels) {
    if (!LABEL_NAME.test(label) || label.startsWith("__")) {
      throw new MetricNameError({ name, reason: `label "${label}" is not a Prometheus label name` })
    }
  }
}

const describe = <L extends string>(options: MetricOptions<L>) =>
  options.unit === undefined
    ? { description: options.description }
    : { description: options.description, unit: options.unit }

/** Metrics recorded on an OpenTelemetry meter (the SDK's, or a no-op one). */
export const metricsFromMeter = (meter: Meter): MetricsShape => ({
  counter: (name, options) => {
    checkNames(name, options.labels ?? [])
    const instrument = meter.createCounter(name, describe(options))
    return { add: (labels, value = 1) => instrument.add(value, labels as Attributes) }
  },
  upDownCounter: (name, options) => {
    checkNames(name, options.labels ?? [])
    const instrument = meter.createUpDownCounter(name, describe(options))
    return { add: (labels, value) => instrument.add(value, labels as Attributes) }
  },
  histogram: (name, options) => {
    checkNames(name, options.labels ?? [])
    const instrument = meter.createHistogram(name, {
      ...describe(options),
      advice: { explicitBucketBoundaries: [...options.boundaries] },
    })
    return { record: (labels, value) => instrument.record(value, labels as Attributes) }
  },
  gauge: (name, options) => {
    checkNames(name, options.labels ?? [])
    const instrument = meter.createGauge(name, describe(options))
    return { set: (labels, value) => instrument.record(value, labels as Attributes) }
  },
  observe: (name, options, read) => {
    checkNames(name, options.labels ?? [])
    meter.createObservableGauge(name, describe(options)).addCallback((result) => {
      for (const [labels, value] of read()) result.observe(value, labels as Attributes)
    })
  },
})

/**
 * The service's metrics. A reference: where no telemetry layer provides it, metrics go to a no-op meter.
 */
export const Metrics = Context.Reference<MetricsShape>("@b2bua/telemetry/Metrics", {
  defaultValue: () => metricsFromMeter(createNoopMeter()),
})

/** Latency buckets in seconds, from 0.5 ms to 5 s: NATS round trips on a LAN up to a slow service. */
export const LATENCY_BUCKETS_S: ReadonlyArray<number> = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
]
