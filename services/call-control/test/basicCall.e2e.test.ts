/**
 * End to end, all as separate processes: nats-server, sip-edge, call-control, and SIPp as caller and
 * callee. The reference guide's basic call — INVITE/100/180/200/ACK, then BYE/200 from the caller — goes
 * through the suite as two independent dialogs.
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
  startSippUas,
} from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

let nats: NatsServerHandle
let edge: ServiceProcess
let callControl: ServiceProcess
let sipPort = 0
let calleePort = 0

beforeAll(async () => {
  nats = await startNatsServer()
  sipPort = await freeSipPort()
  calleePort = await freeUdpPort()
  callControl = await startService({
    main: fileURLToPath(new URL("../dist/main.js", import.meta.url)),
    env: { NATS_URL: nats.url, B2BUA_ROUTE_TARGET: `127.0.0.1:${calleePort}`, B2BUA_CC_INSTANCE: "cce2e1" },
    readyText: "call-control ready",
  })
  edge = await startService({
    main: fileURLToPath(new URL("../../sip-edge/dist/main.js", import.meta.url)),
    env: { NATS_URL: nats.url, B2BUA_SIP_PORT: String(sipPort) },
    readyText: "sip-edge listening",
  })
})

afterAll(async () => {
  await edge?.stop()
  await callControl?.stop()
  await nats?.stop()
})

describe("basic call through the suite (SIPp caller → edge → call-control → SIPp callee)", () => {
  it("completes INVITE/180/200/ACK and the caller's BYE on both legs", async () => {
    const callee = await startSippUas({ localPort: calleePort, calls: 5, timeoutSeconds: 30 })
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${sipPort}`,
      calls: 5,
      rate: 5,
      pauseMs: 200,
      timeoutSeconds: 30,
    })
    const answered = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(5)
    expect(answered.successfulCalls).toBe(5)
    expect(callControl.logs()).toContain("call ended")
  })
})

describe("rejections relayed through the suite", () => {
  for (const status of [486, 603, 404, 503]) {
    it(`the callee's ${status} reaches the caller, and both legs are ACKed`, async () => {
      const { uacExpect, uasReject } = await import("./scenarios.js")
      const callee = await startSippUas({
        scenario: uasReject(status),
        localPort: calleePort,
        calls: 2,
        timeoutSeconds: 20,
      })
      const caller = await runSipp({
        scenario: uacExpect(status),
        remote: `127.0.0.1:${sipPort}`,
        calls: 2,
        rate: 10,
        timeoutSeconds: 20,
      })
      const refused = await callee.result()
      expect(caller.failedCalls).toBe(0)
      expect(caller.successfulCalls).toBe(2)
      expect(refused.successfulCalls).toBe(2)
    })
  }
})
