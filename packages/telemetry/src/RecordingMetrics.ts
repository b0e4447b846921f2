/**
 * The metrics API's test implementation: every update is kept in maps a test reads back, keyed by the
 * series (`name{label=value,...}`, labels in declaration order). Counters and up-down counters sum,
 * gauges keep the last value, histograms keep every recorded value, observed gauges keep their reader.
 * No OpenTelemetry SDK, no endpoint: for unit tests of code that records metrics.
 */
import type { Labels, MetricsShape } from "./Metrics.js"

export interface RecordingMetrics {
  readonly metrics: MetricsShape
  /** Counter sums and gauge values by series. */
  readonly values: ReadonlyMap<string, number>
  /** Histogram records by series, in order. */
  readonly records: ReadonlyMap<string, ReadonlyArray<number>>
  /** What an observed gauge reports now (empty when it was never declared). */
  readonly observe: (name: string) => ReadonlyArray<readonly [Labels<string>, number]>
}

export const seriesKey = (name: string, labels: Labels<string>): string =>
  `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",")}}`

export const recordingMetrics = (): RecordingMetrics => {
  const values = new Map<string, number>()
  const records = new Map<string, Array<number>>()
  const observed = new Map<string, () => Iterable<readonly [Labels<string>, number]>>()
  const add =
    (name: string) =>
    (labels: Labels<string>, value = 1) => {
      const key = seriesKey(name, labels)
      values.set(key, (values.get(key) ?? 0) + value)
    }
  const metrics: MetricsShape = {
    counter: (name) => ({ add: add(name) }),
    upDownCounter: (name) => ({ add: add(name) }),
    histogram: (name) => ({
      record: (labels, value) => {
        const key = seriesKey(name, labels)
        const list = records.get(key) ?? []
        list.push(value)
        records.set(key, list)
      },
    }),
    gauge: (name) => ({ set: (labels, value) => values.set(seriesKey(name, labels), value) }),
    observe: (name, _options, read) => {
      observed.set(name, read)
    },
  }
  return { metrics, values, records, observe: (name) => [...(observed.get(name)?.() ?? [])] }
}
