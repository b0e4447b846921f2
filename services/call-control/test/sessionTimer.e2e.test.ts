/**
 * Session timers (RFC 4028) end to end, all as separate processes: nats-server, sip-edge, call-control and
 * SIPp as caller and callee, with the suite's interval at the RFC's 90 s minimum.
 * - 422 (§6): a caller asking for 60 s is refused with Min-SE: 90 before any B-leg exists.
 * - One call, both halves of §10: the callee makes the suite its refresher, so the suite refreshes the
 *   B-leg with UPDATE at 45 s; the caller is the A-leg's refresher, refreshes once at once (answered by
 *   the suite on the A-leg alone) and then stops: at 0.5 + 60 s the suite ends both legs with
 *   `Reason: SIP;cause=408;text="session expired"`.
 * - With media anchored (relay and negotiator running): a callee without UPDATE gets the suite's refresh
 *   as a re-INVITE offering the relay's SDP at 45 s; the caller hangs up at 50 s.
 * The two slow tests (about a minute) run concurrently with each other and the 422 test, in a file of
 * their own that runs beside the other files.
 */
import { runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
  uacExpect422,
  uacHangUpAfter,
  uacRefreshOnceThenExpire,
  uasExpectRefreshThenExpiry,
  uasExpectReinviteRefresh,
} from "./sessionTimerScenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

const SESSION_ENV = { B2BUA_SESSION_EXPIRES: "90", B2BUA_MIN_SE: "90" }
/** The relay's ports: 39100-39163, which SIPp's own media ports (6000+) never match. */
const RELAY_PORT = "391[0-6][0-9]"

let suite: RunningSuite
let anchored: RunningSuite
beforeAll(async () => {
  ;[suite, anchored] = await Promise.all([
    startSuite({ ccEnv: SESSION_ENV }),
    startSuite({ ccEnv: SESSION_ENV, media: { rtpPorts: "39100-39163" } }),
  ])
}, 60_000)
afterAll(async () => {
  await Promise.all([suite?.stop(), anchored?.stop()])
})

describe.concurrent("session timers through the suite", () => {
  it("a Session-Expires below the suite's Min-SE gets 422 with Min-SE: 90", async () => {
    const caller = await runSipp({
      scenario: uacExpect422(),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 2,
      rate: 10,
      timeoutSeconds: 20,
    })
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(2)
  })

  it("the suite refreshes the B-leg by UPDATE, answers the caller's refresh itself, and ends both legs when the caller's session expires", async () => {
    const callee = await startSippUas({
      scenario: uasExpectRefreshThenExpiry(),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 100,
    })
    const caller = await runSipp({
      scenario: uacRefreshOnceThenExpire(),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 100,
    })
    const answered = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(1)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(1)
    expect(suite.callControls[0]!.logs()).toMatch(/session timer[^\n]*expired/)
  }, 120_000)

  it("with media anchored, a callee without UPDATE is refreshed by re-INVITE offering the relay's SDP", async () => {
    const callee = await startSippUas({
      scenario: uasExpectReinviteRefresh(RELAY_PORT),
      localPort: anchored.calleePort,
      calls: 1,
      timeoutSeconds: 100,
    })
    const caller = await runSipp({
      scenario: uacHangUpAfter(50_000),
      remote: `127.0.0.1:${anchored.sipPort}`,
      calls: 1,
      timeoutSeconds: 100,
    })
    const answered = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(1)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(1)
  }, 120_000)
})
