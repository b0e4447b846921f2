/**
 * runService as a real process (a fixture service over the built dist/): telemetry installed from the
 * environment, spans exported over OTLP/HTTP to a receiver on 127.0.0.1 and flushed at SIGTERM, the
 * Prometheus endpoint served, JSON logs with trace ids; a bad telemetry variable stops it with code 2.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { type OtlpReceiver, startOtlpReceiver } from "@b2bua/telemetry"
import { freeTcpPort, startService } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const fixture = fileURLToPath(new URL("./fixtures/traced-service.mjs", import.meta.url))

let receiver: OtlpReceiver
beforeAll(async () => {
  receiver = await startOtlpReceiver()
})
afterAll(async () => {
  await receiver.close()
})

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

describe("runService", () => {
  it("exports spans (flushed at SIGTERM), serves metrics and logs JSON lines with trace ids", async () => {
    const metricsPort = await freeTcpPort()
    const service = await startService({
      main: fixture,
      env: {
        B2BUA_OTEL_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        B2BUA_METRICS_PORT: String(metricsPort),
        B2BUA_METRICS_HOST: "127.0.0.1",
        // No batch leaves on its own during the test: the span can only arrive through the shutdown flush.
        OTEL_BSP_SCHEDULE_DELAY: "600000",
      },
      readyText: "fixture ready",
    })
    const scrape = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, {
      signal: AbortSignal.timeout(5000),
    })
    expect(await scrape.text()).toMatch(/^fixture_started_total(\{[^}]*\})? 1$/m)

    const working = jsonLines(service.logs()).find((l) => l.message === "working")
    expect(working).toMatchObject({ level: "INFO", service: "traced", instance: "t1" })
    expect(working?.trace_id).toMatch(/^[0-9a-f]{32}$/)
    expect(working?.span_id).toMatch(/^[0-9a-f]{16}$/)

    expect(receiver.spans().some((s) => s.name === "fixture.work")).toBe(false)
    expect(await service.stop()).toBe(0)
    const span = await receiver.waitFor((s) => s.name === "fixture.work", 2000)
    expect(span).toMatchObject({ service: "traced", traceId: working?.trace_id, spanId: working?.span_id })
  })

  it("stops with code 2 and names the variable when the telemetry configuration is wrong", async () => {
    const child = spawn(process.execPath, [fixture], {
      env: { ...process.env, B2BUA_OTEL_EXPORTER: "zipkin" },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stdout.on("data", (b: Buffer) => {
      output += b.toString()
    })
    child.stderr.on("data", (b: Buffer) => {
      output += b.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(2)
    expect(jsonLines(output)[0]).toMatchObject({ level: "ERROR", service: "traced" })
    expect(output).toContain("B2BUA_OTEL_EXPORTER")
  })
})
