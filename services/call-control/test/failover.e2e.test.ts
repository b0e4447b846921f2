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
    const instances = suite.callControls
    const callee = await startSippUas({ localPort: suite.calleePort, calls: 6, timeoutSeconds: 40 })
    // Six calls that stay up 5 s each; the queue group spreads them over both instances at random.
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 6,
      rate: 20,
      pauseMs: 5000,
      timeoutSeconds: 40,
    })
    // Let every call be answered (they are placed within 0.3 s), then kill the instance that owns the
    // most of them.
    await new Promise((r) => setTimeout(r, 2000))
    const owned = (i: number) => instances[i]!.logs().split("call started").length - 1
    expect(owned(0) + owned(1)).toBe(6)
    const [victim, survivor] =
      owned(0) >= owned(1) ? [instances[0]!, instances[1]!] : [instances[1]!, instances[0]!]
    victim.child.kill("SIGKILL")
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(6)
    expect(answered.successfulCalls).toBe(6)
    expect(survivor.logs()).toContain("call taken over")
  })
})
