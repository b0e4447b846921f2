/**
 * Call control configured to ask the auth service who calls, with no auth service running: a new INVITE
 * is answered 503 with Retry-After promptly (within the 1 s identify timeout), never left hanging.
 */
import { runSipp } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uacExpect } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
beforeAll(async () => {
  suite = await startSuite({ ccEnv: { B2BUA_AUTH: "service" } })
}, 60_000)
afterAll(async () => {
  await suite?.stop()
})

it("without an auth service, INVITEs get 503 and the instance keeps serving", async () => {
  const caller = await runSipp({
    scenario: uacExpect(503),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 3,
    rate: 3,
    timeoutSeconds: 10,
  })
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(3)
})
