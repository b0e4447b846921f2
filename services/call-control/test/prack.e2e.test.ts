/**
 * RFC 3262 end to end: a SIPp caller offering 100rel, a SIPp callee sending a reliable 183 with SDP (early
 * media). The suite relays the 183 reliably with its own RSeq, the caller's PRACK reaches the callee with
 * the callee's RSeq in RAck (the callee checks it), and the call completes and ends on both legs.
 */
import { runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uacPrack, uasReliable183 } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
beforeAll(async () => {
  suite = await startSuite()
})
afterAll(async () => {
  await suite?.stop()
})

it("early media with a reliable 183: PRACK relayed across the legs, then the call completes", async () => {
  const callee = await startSippUas({
    scenario: uasReliable183(),
    localPort: suite.calleePort,
    calls: 3,
    timeoutSeconds: 20,
  })
  const caller = await runSipp({
    scenario: uacPrack(),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 3,
    rate: 3,
    timeoutSeconds: 20,
  })
  const answered = await callee.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(3)
  expect(answered.failedCalls).toBe(0)
  expect(answered.successfulCalls).toBe(3)
})
