/**
 * Calls survive an instance while they are still being set up: two call-control processes share ringing
 * calls; the one that owns most of them is SIGKILLed while the callee rings. What comes next for those
 * calls reaches the survivor through the edge's takeover path — the callee's 200 (routed by the top Via
 * branch, which names the dead instance), the caller's CANCEL (routed by the edge's memory of who took
 * the INVITE) — and the survivor restores each call from KV and completes it on both legs.
 */
import { startSipp, startSippUas } from "@b2bua/testkit"
import { afterEach, describe, expect, it } from "vitest"
import { uasRingCancelled } from "./scenarios.js"
import { uacCancelAfter, uasRingThenAnswer } from "./setupScenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite | undefined

afterEach(async () => {
  await suite?.stop()
  suite = undefined
})

const CALLS = 4

/** Waits until every call has started somewhere, then SIGKILLs the instance that owns the most. */
const killBusiest = async (running: RunningSuite) => {
  const [one, two] = running.callControls
  const owned = (i: typeof one) => i!.logs().split("call started").length - 1
  for (let waited = 0; owned(one) + owned(two) < CALLS && waited < 5000; waited += 50)
    await new Promise((r) => setTimeout(r, 50))
  expect(owned(one) + owned(two)).toBe(CALLS)
  // Let the callee's 180s arrive: the calls ring (3 s) when the owner dies.
  await new Promise((r) => setTimeout(r, 500))
  const [victim, survivor] = owned(one) >= owned(two) ? [one!, two!] : [two!, one!]
  victim.child.kill("SIGKILL")
  return { survivor, victimCalls: owned(victim) }
}

describe("takeover of calls being set up", () => {
  it("the owner dies while the callee rings: the 200 is relayed by the survivor, ACKed, and BYE ends both legs", async () => {
    suite = await startSuite({ instances: ["ccsetupa", "ccsetupb"] })
    const callee = await startSippUas({
      scenario: uasRingThenAnswer(3000),
      localPort: suite.calleePort,
      calls: CALLS,
      timeoutSeconds: 40,
    })
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: CALLS,
      rate: 10,
      pauseMs: 1000,
      timeoutSeconds: 40,
    })
    const { survivor, victimCalls } = await killBusiest(suite)
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(CALLS)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(CALLS)
    // Each of the dead instance's calls was restored while being set up (ringing; or still Calling when
    // the kill came before the owner had handled the 180, which then reached the survivor).
    expect(survivor.logs().split("call taken over").length - 1).toBe(victimCalls)
    const takeovers = survivor
      .logs()
      .split("\n")
      .filter((line) => line.includes('"call taken over"'))
    expect(
      takeovers.every((line) => /"phase":"(Early|Calling)"/.test(line)),
      takeovers.join("\n"),
    ).toBe(true)
  }, 60_000)

  it("the owner dies while the callee rings, then the caller CANCELs: 487 on both legs through the survivor", async () => {
    suite = await startSuite({ instances: ["ccsetupc", "ccsetupd"] })
    const callee = await startSippUas({
      scenario: uasRingCancelled(),
      localPort: suite.calleePort,
      calls: CALLS,
      timeoutSeconds: 40,
    })
    const caller = await startSipp({
      scenario: uacCancelAfter(3000),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: CALLS,
      rate: 10,
      timeoutSeconds: 40,
    })
    const { survivor, victimCalls } = await killBusiest(suite)
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(CALLS)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(CALLS)
    expect(survivor.logs().split("call taken over").length - 1).toBe(victimCalls)
  }, 60_000)
})
