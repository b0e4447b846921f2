/**
 * End to end, as processes: the suite rides out a nats-server restart during established calls, and an
 * admission limit turns excess calls into 503 + Retry-After while the admitted ones complete.
 */
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  freeUdpPort,
  type NatsServerHandle,
  runSipp,
  type ServiceProcess,
  startNatsServer,
  startService,
  startSipp,
  startSippUas,
} from "@b2bua/testkit"
import { afterEach, describe, expect, it } from "vitest"

const ccMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const edgeMain = fileURLToPath(new URL("../../sip-edge/dist/main.js", import.meta.url))

let nats: NatsServerHandle | undefined
const services: ServiceProcess[] = []

const startSuite = async (ccEnv: Record<string, string> = {}) => {
  nats = await startNatsServer()
  const sipPort = await freeSipPort()
  const calleePort = await freeUdpPort()
  services.push(
    await startService({
      main: ccMain,
      env: { NATS_URL: nats.url, B2BUA_ROUTE_TARGET: `127.0.0.1:${calleePort}`, ...ccEnv },
      readyText: "call-control ready",
    }),
  )
  services.push(
    await startService({
      main: edgeMain,
      env: { NATS_URL: nats.url, B2BUA_SIP_PORT: String(sipPort), B2BUA_CC_TIMEOUT_MS: "1000" },
      readyText: "sip-edge listening",
    }),
  )
  return { sipPort, calleePort, nats }
}

afterEach(async () => {
  for (const s of services.splice(0)) await s.stop()
  await nats?.stop()
  nats = undefined
})

describe("resilience", () => {
  it("calls established before a nats-server restart still end with BYE on both legs", async () => {
    const suite = await startSuite()
    const callee = await startSippUas({ localPort: suite.calleePort, calls: 4, timeoutSeconds: 40 })
    // Calls that stay up 4 s; NATS restarts while they are established.
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 4,
      rate: 20,
      pauseMs: 4000,
      timeoutSeconds: 40,
    })
    await new Promise((r) => setTimeout(r, 1500))
    await suite.nats.restart()
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(4)
    expect(answered.successfulCalls).toBe(4)
    for (const s of services) expect(s.child.exitCode).toBeNull()
  })

  it("with an admission limit, offered load beyond it is refused while the admitted calls complete", async () => {
    const suite = await startSuite({ B2BUA_MAX_CALLS: "3" })
    const callee = await startSippUas({ localPort: suite.calleePort, calls: 3, timeoutSeconds: 30 })
    // 9 calls offered at once while each lasts 2 s: 3 fit, 6 are refused.
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 9,
      rate: 50,
      pauseMs: 2000,
      timeoutSeconds: 30,
    })
    const answered = await callee.result()
    expect(answered.successfulCalls).toBe(3)
    expect(caller.successfulCalls).toBe(3)
    expect(caller.failedCalls).toBe(6)
    expect(caller.stats["FailedUnexpectedMessage(C)"]).toBe("6")
    for (const s of services) expect(s.child.exitCode).toBeNull()
  })
})
