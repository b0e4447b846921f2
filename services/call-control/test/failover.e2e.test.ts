/**
 * Calls survive an instance: two call-control processes share the calls; the one that owns established
 * calls is SIGKILLed; the callers' BYEs for those calls reach the other instance through the edge's
 * takeover path, which restores each call from KV and ends it on both legs.
 */
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  freeUdpPort,
  type NatsServerHandle,
  type ServiceProcess,
  startNatsServer,
  startService,
  startSipp,
  startSippUas,
} from "@b2bua/testkit"
import { afterAll, describe, expect, it } from "vitest"

const ccMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const edgeMain = fileURLToPath(new URL("../../sip-edge/dist/main.js", import.meta.url))

let nats: NatsServerHandle | undefined
const services: ServiceProcess[] = []

afterAll(async () => {
  for (const s of services) await s.stop()
  await nats?.stop()
})

describe("failover", () => {
  it("BYEs for the calls of a SIGKILLed instance complete on both legs through the other instance", async () => {
    nats = await startNatsServer()
    const sipPort = await freeSipPort()
    const calleePort = await freeUdpPort()
    const cc = async (instance: string) =>
      startService({
        main: ccMain,
        env: {
          NATS_URL: nats!.url,
          B2BUA_ROUTE_TARGET: `127.0.0.1:${calleePort}`,
          B2BUA_CC_INSTANCE: instance,
        },
        readyText: "call-control ready",
      })
    const [first, second] = [await cc("ccone"), await cc("cctwo")]
    services.push(first, second)
    services.push(
      await startService({
        main: edgeMain,
        env: { NATS_URL: nats.url, B2BUA_SIP_PORT: String(sipPort), B2BUA_CC_TIMEOUT_MS: "1000" },
        readyText: "sip-edge listening",
      }),
    )
    const callee = await startSippUas({ localPort: calleePort, calls: 6, timeoutSeconds: 40 })
    // Six calls that stay up 5 s each; both instances take some of them (queue group).
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${sipPort}`,
      calls: 6,
      rate: 20,
      pauseMs: 5000,
      timeoutSeconds: 40,
    })
    await expect
      .poll(() => first.logs().includes("") && callee.child.exitCode === null, { timeout: 5000 })
      .toBe(true)
    await new Promise((r) => setTimeout(r, 2000))
    first.child.kill("SIGKILL")
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(6)
    expect(answered.successfulCalls).toBe(6)
    expect(second.logs()).toContain("call taken over")
  })
})
