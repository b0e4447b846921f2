import { describe, expect, it } from "vitest"
import { loadTelemetryConfig, TelemetryConfigError } from "../src/index.js"

const identity = { service: "sip-edge", instance: "e1" }

const failure = (env: Record<string, string>): TelemetryConfigError => {
  try {
    loadTelemetryConfig(env, identity)
  } catch (e) {
    if (e instanceof TelemetryConfigError) return e
    throw e
  }
  throw new Error("expected a TelemetryConfigError")
}

describe("loadTelemetryConfig", () => {
  it("defaults to no exporter and no metrics endpoint", () => {
    expect(loadTelemetryConfig({}, identity)).toEqual({
      service: "sip-edge",
      instance: "e1",
      exporter: "none",
      otlpEndpoint: "http://127.0.0.1:4318",
      batchDelayMs: undefined,
      sampleRatio: undefined,
      metrics: undefined,
    })
  })

  it("reads the exporter, the OTLP endpoint (trailing slash dropped) and the metrics address", () => {
    const config = loadTelemetryConfig(
      {
        B2BUA_OTEL_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
        B2BUA_METRICS_PORT: "9464",
        B2BUA_METRICS_HOST: "[::1]",
        OTEL_BSP_SCHEDULE_DELAY: "250",
        OTEL_TRACES_SAMPLER_ARG: "0.25",
      },
      identity,
    )
    expect(config.exporter).toBe("otlp")
    expect(config.otlpEndpoint).toBe("http://collector:4318")
    expect(config.metrics).toEqual({ host: "::1", port: 9464 })
    expect(config.batchDelayMs).toBe(250)
    expect(config.sampleRatio).toBe(0.25)
  })

  it("treats port 0 as no endpoint", () => {
    expect(loadTelemetryConfig({ B2BUA_METRICS_PORT: "0" }, identity).metrics).toBeUndefined()
  })

  it.each([
    [{ B2BUA_OTEL_EXPORTER: "jaeger" }, "B2BUA_OTEL_EXPORTER"],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }, "OTEL_EXPORTER_OTLP_ENDPOINT"],
    [{ B2BUA_METRICS_PORT: "65536" }, "B2BUA_METRICS_PORT"],
    [{ B2BUA_METRICS_PORT: "-1" }, "B2BUA_METRICS_PORT"],
    [{ B2BUA_METRICS_HOST: "a b" }, "B2BUA_METRICS_HOST"],
    [{ OTEL_BSP_SCHEDULE_DELAY: "0" }, "OTEL_BSP_SCHEDULE_DELAY"],
    [{ OTEL_TRACES_SAMPLER_ARG: "1.5" }, "OTEL_TRACES_SAMPLER_ARG"],
    [{ OTEL_TRACES_SAMPLER_ARG: "half" }, "OTEL_TRACES_SAMPLER_ARG"],
  ])("names the variable of a bad value: %o", (env, key) => {
    const error = failure(env)
    expect(error.key).toBe(key)
    expect(error.message).toContain(key)
  })
})
