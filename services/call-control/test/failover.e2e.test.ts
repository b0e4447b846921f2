/**
 * Calls survive an instance: two call-control processes share the calls; the one that owns established
 * calls is SIGKILLed; the callers' BYEs for those calls reach the other instance through the edge's
 * takeover path, which restores each call from KV and ends it on both legs.
 */
import { startSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite | undefined

afterAll(async () => {
  await suite?.stop()
})

describe("failover", () => {
  it("BYEs for the calls of a SIGKILLed instance complete on both legs through the other instance", async () => {
    suite = await startSuite({ instances: ["ccone", "cctwo"] })
    const { sipPort, calleePort } = suite
    const first = suite.callControls[0]!
    const second = suite.callControls[1]!
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
