/**
 * End to end, as processes: the suite rides out a nats-server restart during established calls, and an
 * admission limit turns excess calls into 503 + Retry-After while the admitted ones complete.
 */
import { runSipp, startSipp, startSippUas } from "@b2bua/testkit"
import { afterEach, describe, expect, it } from "vitest"
import { type RunningSuite, startSuite } from "./suite.js"

let running: RunningSuite | undefined

const start = async (ccEnv: Record<string, string> = {}) => {
  running = await startSuite({ ccEnv })
  return running
}

afterEach(async () => {
  await running?.stop()
  running = undefined
})

describe("resilience", () => {
  it("calls established before a nats-server restart still end with BYE on both legs", async () => {
    const suite = await start()
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
    for (const s of [suite.edge, ...suite.callControls]) expect(s.child.exitCode).toBeNull()
  })

  it("with an admission limit, offered load beyond it is refused while the admitted calls complete", async () => {
    const suite = await start({ B2BUA_MAX_CALLS: "3" })
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
    for (const s of [suite.edge, ...suite.callControls]) expect(s.child.exitCode).toBeNull()
  })
})
