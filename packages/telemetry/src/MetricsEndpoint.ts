/**
 * Metrics collection: an OpenTelemetry meter provider read by a Prometheus exporter that serves
 * `GET /metrics` in the text exposition format on the configured address. Without an endpoint, metrics
 * go to a no-op meter (nothing is aggregated that nobody reads).
 */
import { createNoopMeter, type Meter } from "@opentelemetry/api"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import type { Resource } from "@opentelemetry/resources"
import { MeterProvider } from "@opentelemetry/sdk-metrics"
import type { TelemetryConfig } from "./TelemetryConfig.js"

export interface MetricsHandle {
  readonly meter: Meter
  /** `http://host:port/metrics` when served. */
  readonly url: string | undefined
  readonly shutdown: () => Promise<void>
}

export const startMetrics = async (config: TelemetryConfig, resource: Resource): Promise<MetricsHandle> => {
  if (config.metrics === undefined) {
    return { meter: createNoopMeter(), url: undefined, shutdown: () => Promise.resolve() }
  }
  const { host, port } = config.metrics
  const exporter = new PrometheusExporter({ host, port, preventServerStart: true })
  const provider = new MeterProvider({ resource, readers: [exporter] })
  try {
    await exporter.startServer()
  } catch (cause) {
    await provider.shutdown().catch(() => undefined)
    throw cause
  }
  const shown = host.includes(":") ? `[${host}]` : host
  return {
    meter: provider.getMeter("@b2bua/telemetry"),
    url: `http://${shown}:${port}/metrics`,
    shutdown: () => provider.shutdown(),
  }
}
