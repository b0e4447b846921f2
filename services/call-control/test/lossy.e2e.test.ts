/**
 * The basic flow under loss: SIPp caller and callee each drop 10 % of the packets they send and receive
 * (`-lost 10`), so the calls complete only through retransmissions on both legs — SIPp's own (INVITE and
 * BYE by the caller, the 200 by the callee) and the suite's (Timer A on the B-leg INVITE, the 2xx to A
 * until its ACK, Timer E on its BYE) — and through each side answering a retransmitted request again
 * (the suite: the latest response to a repeated INVITE, the 200 to a repeated BYE, the ACK to a repeated
 * 2xx). The callee answers at once (no 180): why, in lossyScenarios.ts.
 *
 * What this test is not about: the edge's 503 when call control does not answer in time. On a loaded
 * machine the first calls of a cold suite can take longer than the 1 s the other tests give the edge,
 * so this suite's edge waits 5 s, and one call without loss warms the path up first.
 */
import { runSipp, startSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { uasAnswerAtOnce } from "./lossyScenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite

beforeAll(async () => {
  suite = await startSuite({ edgeEnv: { B2BUA_CC_TIMEOUT_MS: "5000" } })
})

afterAll(async () => {
  await suite?.stop()
})

const CALLS = 10

/** Sums the "Lost" column of the last scenario screen SIPp printed (fixed-width columns). */
const lostCount = (screen: string): number => {
  const lines = screen.split("\n")
  const header = lines.findLastIndex((line) => line.includes("Messages") && line.endsWith("Lost"))
  if (header < 0) return 0
  const column = lines[header]!.lastIndexOf("Lost")
  let lost = 0
  for (const line of lines.slice(header + 1)) {
    if (line.startsWith("---")) break
    const value = Number.parseInt(line.slice(column).trim(), 10)
    if (Number.isSafeInteger(value)) lost += value
  }
  return lost
}

describe("basic call with 10 % packet loss on both sides", () => {
  it("every call completes (SIPp: 0 failed calls on caller and callee)", async () => {
    const callee = await startSippUas({
      scenario: uasAnswerAtOnce(),
      localPort: suite.calleePort,
      calls: CALLS + 1,
      lostPercent: 10,
      timeoutSeconds: 90,
    })
    const warmUp = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 30,
    })
    expect(warmUp.successfulCalls).toBe(1)
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: CALLS,
      rate: 5,
      pauseMs: 1000,
      lostPercent: 10,
      timeoutSeconds: 80,
    })
    const placed = await caller.result()
    const answered = await callee.result()
    const screen = (r: typeof placed) => r.stdout.slice(-2500)
    expect(placed.failedCalls, screen(placed)).toBe(0)
    expect(placed.successfulCalls, screen(placed)).toBe(CALLS)
    expect(answered.failedCalls, screen(answered)).toBe(0)
    expect(answered.successfulCalls, screen(answered)).toBe(CALLS + 1)
    // The loss happened: the Lost column of SIPp's last scenario screen (its statistics file has none).
    expect(lostCount(placed.stdout) + lostCount(answered.stdout)).toBeGreaterThan(0)
  }, 150_000)
})
