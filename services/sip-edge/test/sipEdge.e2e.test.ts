/**
 * End to end: nats-server and the sip-edge as real processes, SIPp as the caller. With no call control
 * running, every INVITE is refused 503 with Retry-After and the edge stays up; SIGTERM stops it cleanly.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  type NatsServerHandle,
  runSipp,
  startNatsServer,
  stopProcess,
  track,
} from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const mainJs = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const scenario = fileURLToPath(new URL("./scenarios/uac-expect-503.xml", import.meta.url))

let nats: NatsServerHandle
let edge: ChildProcess
let sipPort = 0
let logs = ""

beforeAll(async () => {
  nats = await startNatsServer()
  sipPort = await freeSipPort()
  edge = spawn(process.execPath, [mainJs], {
    env: { ...process.env, NATS_URL: nats.url, B2BUA_SIP_PORT: String(sipPort), B2BUA_CC_TIMEOUT_MS: "500" },
    stdio: ["ignore", "pipe", "pipe"],
  })
  track(edge)
  edge.stdout?.on("data", (d: Buffer) => {
    logs += d.toString()
  })
  edge.stderr?.on("data", (d: Buffer) => {
    logs += d.toString()
  })
  const deadline = Date.now() + 15_000
  while (!logs.includes("sip-edge listening")) {
    if (Date.now() > deadline || edge.exitCode !== null) throw new Error(`sip-edge did not start:\n${logs}`)
    await new Promise((r) => setTimeout(r, 50))
  }
})

afterAll(async () => {
  await stopProcess(edge)
  await nats.stop()
})

describe("sip-edge as a process, SIPp as the caller", () => {
  it("refuses every INVITE with 503 + Retry-After while no call control runs", async () => {
    const result = await runSipp({
      scenario,
      remote: `127.0.0.1:${sipPort}`,
      calls: 10,
      rate: 20,
      timeoutSeconds: 20,
    })
    expect(result.failedCalls).toBe(0)
    expect(result.successfulCalls).toBe(10)
    expect(edge.exitCode).toBeNull()
  })

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<number | null>((resolve) => edge.once("exit", (code) => resolve(code)))
    edge.kill("SIGTERM")
    expect(await exited).toBe(0)
  })
})
