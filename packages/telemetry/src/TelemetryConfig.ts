/**
 * What a service's telemetry is configured with, and how it is read from the environment. Pure: the
 * runtime hands it `process.env`; nothing else in the package reads the environment.
 *
 *   B2BUA_OTEL_EXPORTER          none (default) | otlp | memory (tests: spans kept in the process)
 *   OTEL_EXPORTER_OTLP_ENDPOINT  OTLP/HTTP base URL (default http://127.0.0.1:4318; traces go to /v1/traces)
 *   OTEL_BSP_SCHEDULE_DELAY      ms between two OTLP batches (default 5000, the OpenTelemetry default)
 *   OTEL_TRACES_SAMPLER_ARG      share of new traces recorded, 0 to 1 (default 1); a trace that arrives
 *                                with a parent keeps the parent's decision (parent-based sampling)
 *   B2BUA_METRICS_PORT           Prometheus endpoint port; 0 or unset = no endpoint
 *   B2BUA_METRICS_HOST           address the endpoint binds (default 0.0.0.0, so Prometheus can scrape it)
 */
import { Data } from "effect"

export type TraceExporterKind = "none" | "otlp" | "memory"

export interface TelemetryConfig {
  readonly service: string
  readonly instance: string
  readonly exporter: TraceExporterKind
  /** OTLP/HTTP base URL; the trace exporter posts to `${otlpEndpoint}/v1/traces`. */
  readonly otlpEndpoint: string
  /** Milliseconds between two OTLP batches (default 5000); spans left are flushed at shutdown. */
  readonly batchDelayMs?: number | undefined
  /** Share of new traces recorded (0 to 1, default 1); continued traces follow their parent. */
  readonly sampleRatio?: number | undefined
  /** Prometheus endpoint; undefined when metrics are not served. */
  readonly metrics?: { readonly host: string; readonly port: number } | undefined
}

export class TelemetryConfigError extends Data.TaggedError("TelemetryConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration ${this.key}: ${this.reason}`
  }
}

type Env = Readonly<Record<string, string | undefined>>

const DEFAULT_OTLP_ENDPOINT = "http://127.0.0.1:4318"

/** Reads the telemetry settings; throws `TelemetryConfigError` naming the variable when one is wrong. */
export const loadTelemetryConfig = (
  env: Env,
  identity: { readonly service: string; readonly instance: string },
): TelemetryConfig => {
  const exporterText = env.B2BUA_OTEL_EXPORTER ?? "none"
  if (exporterText !== "none" && exporterText !== "otlp" && exporterText !== "memory") {
    throw new TelemetryConfigError({
      key: "B2BUA_OTEL_EXPORTER",
      reason: `expected none, otlp or memory, got "${exporterText}"`,
    })
  }
  const endpoint = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? DEFAULT_OTLP_ENDPOINT).replace(/\/+$/, "")
  if (!/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new TelemetryConfigError({
      key: "OTEL_EXPORTER_OTLP_ENDPOINT",
      reason: `expected an http(s) URL like "http://collector:4318", got "${endpoint}"`,
    })
  }
  const delayText = env.OTEL_BSP_SCHEDULE_DELAY ?? ""
  if (
    delayText !== "" &&
    (!/^\d{1,6}$/.test(delayText) || Number(delayText) < 1 || Number(delayText) > 600_000)
  ) {
    throw new TelemetryConfigError({
      key: "OTEL_BSP_SCHEDULE_DELAY",
      reason: `expected milliseconds from 1 to 600000, got "${delayText}"`,
    })
  }
  const ratioText = env.OTEL_TRACES_SAMPLER_ARG ?? ""
  const ratio = Number(ratioText)
  if (ratioText !== "" && (!/^(0|1|0?\.\d+|1\.0*)$/.test(ratioText) || ratio < 0 || ratio > 1)) {
    throw new TelemetryConfigError({
      key: "OTEL_TRACES_SAMPLER_ARG",
      reason: `expected a ratio from 0 to 1 such as 0.1, got "${ratioText}"`,
    })
  }
  const portText = env.B2BUA_METRICS_PORT ?? ""
  if (portText !== "" && (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535)) {
    throw new TelemetryConfigError({
      key: "B2BUA_METRICS_PORT",
      reason: `expected a port from 0 (off) to 65535, got "${portText}"`,
    })
  }
  const port = portText === "" ? 0 : Number(portText)
  const host = env.B2BUA_METRICS_HOST ?? "0.0.0.0"
  if (!/^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]+|[A-Za-z0-9.-]+)$/.test(host)) {
    throw new TelemetryConfigError({ key: "B2BUA_METRICS_HOST", reason: `not an address: "${host}"` })
  }
  return {
    service: identity.service,
    instance: identity.instance,
    exporter: exporterText,
    otlpEndpoint: endpoint,
    batchDelayMs: delayText === "" ? undefined : Number(delayText),
    sampleRatio: ratioText === "" ? undefined : ratio,
    metrics: port === 0 ? undefined : { host: host.replace(/^\[(.*)\]$/, "$1"), port },
  }
}
