/**
 * Graceful drain (issue 8): SIGTERM to call control while a call is up. The instance stops taking new
 * calls (with no other instance, the edge answers them 503 + Retry-After), the established call still
 * ends normally with BYE on both legs, and the process exits once it has no call left. SIGTERM to the
 * edge: OPTIONS pings get 503 so carriers move away, and it exits once its traffic falls quiet.
 */
import { once } from "node:events"
import { runSipp, startSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import { optionsExpect, uacExpect } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
beforeAll(async () => {
  suite = await startSuite({ ccEnv: { B2BUA_DRAIN_MS: "20000" } })
}, 60_000)
afterAll(async () => {
  await suite?.stop()
})

it("SIGTERM: no new calls, the call in progress completes, then the process exits", async () => {
  const callee = await startSippUas({ localPort: suite.calleePort, calls: 1, timeoutSeconds: 20 })
  // One call that stays up 4 s, then the caller hangs up.
  const caller = await startSipp({
    scenario: "uac",
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    pauseMs: 4000,
    timeoutSeconds: 20,
  })
  const cc = suite.callControls[0]!
  while (!cc.logs().includes("call started")) await new Promise((r) => setTimeout(r, 50))
  const exited = once(cc.child, "exit")
  cc.child.kill("SIGTERM")
  while (!cc.logs().includes("draining: no new calls")) await new Promise((r) => setTimeout(r, 50))
  const refused = await runSipp({
    scenario: uacExpect(503),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 10,
  })
  expect(refused.successfulCalls).toBe(1)
  expect(cc.child.exitCode).toBeNull()
  const completed = await caller.result()
  expect(completed.failedCalls).toBe(0)
  expect(completed.successfulCalls).toBe(1)
  expect((await callee.result()).successfulCalls).toBe(1)
  const [code] = await exited
  expect(code).toBe(0)
  expect(cc.logs()).toContain("drained")
})

it("SIGTERM to the edge: OPTIONS gets 503 while it drains, then it exits", async () => {
  const edge = suite.edge
  const exited = once(edge.child, "exit")
  edge.child.kill("SIGTERM")
  while (!edge.logs().includes("draining: OPTIONS")) await new Promise((r) => setTimeout(r, 50))
  const pinged = await runSipp({
    scenario: optionsExpect(503, "draining"),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 10,
  })
  expect(pinged.successfulCalls).toBe(1)
  const [code] = await exited
  expect(code).toBe(0)
})
