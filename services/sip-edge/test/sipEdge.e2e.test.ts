/**
 * End to end: nats-server and the sip-edge as real processes, SIPp as the caller. With no call control
 * running, every INVITE is refused 503 with Retry-After and the edge stays up; SIGTERM stops it cleanly.
 */
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  type NatsServerHandle,
  runSipp,
  type ServiceProcess,
  startNatsServer,
  startService,
} from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const scenario = fileURLToPath(new URL("./scenarios/uac-expect-503.xml", import.meta.url))

let nats: NatsServerHandle
let edge: ServiceProcess
let sipPort = 0

beforeAll(async () => {
  nats = await startNatsServer()
  sipPort = await freeSipPort()
  edge = await startService({
    main: fileURLToPath(new URL("../dist/main.js", import.meta.url)),
    env: { NATS_URL: nats.url, B2BUA_SIP_PORT: String(sipPort), B2BUA_CC_TIMEOUT_MS: "500" },
    readyText: "sip-edge listening",
  })
})

afterAll(async () => {
  await edge.stop()
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
    expect(edge.child.exitCode).toBeNull()
  })

  it("stops cleanly on SIGTERM", async () => {
    expect(await edge.stop()).toBe(0)
  })
})
