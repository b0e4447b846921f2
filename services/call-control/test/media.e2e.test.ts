/**
 * Media anchored end to end: SIPp caller and callee, the suite with its rtp-relay and sdp-negotiator as
 * processes. Each side sees only the relay's address and ports in the SDP it receives; an offer with no
 * codec the route allows gets 488 with a Warning; the relay sessions are released when the call ends.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freeUdpPort, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uacExpect, uacExpectAnchored, uasExpectAnchored } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
/** The relay's ports: 39000-39063, which SIPp's own media ports (6000+) never match. */
const RELAY_PORT = "390[0-6][0-9]"

beforeAll(async () => {
  const calleePort = await freeUdpPort()
  const file = join(tmpdir(), `media-e2e-${process.pid}.yaml`)
  // Numbers starting 488 go to a trunk that only takes G.722, which SIPp never offers.
  writeFileSync(
    file,
    `trunks:
  - { name: local, sources: [127.0.0.1/32] }
  - name: callee
    gateways: [{ host: 127.0.0.1, port: ${calleePort} }]
    codecs: { allow: [PCMU, G729, telephone-event] }
  - name: wideband-only
    gateways: [{ host: 127.0.0.1, port: ${calleePort} }]
    codecs: { allow: [G722] }
routes:
  - { name: default, prefix: "", trunks: [callee] }
  - { name: wideband, prefix: "488", trunks: [wideband-only] }
`,
  )
  suite = await startSuite({
    media: { rtpPorts: "39000-39063" },
    calleePort,
    ccEnv: { B2BUA_ROUTING_FILE: file },
  })
}, 60_000)
afterAll(async () => {
  await suite?.stop()
})

it("both legs see only the relay's address and ports, and the call completes", async () => {
  const callee = await startSippUas({
    scenario: uasExpectAnchored(RELAY_PORT),
    localPort: suite.calleePort,
    calls: 2,
    timeoutSeconds: 20,
  })
  const caller = await runSipp({
    scenario: uacExpectAnchored("127.0.0.1", RELAY_PORT),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 2,
    rate: 2,
    timeoutSeconds: 20,
  })
  const answered = await callee.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(2)
  expect(answered.failedCalls).toBe(0)
  expect(answered.successfulCalls).toBe(2)
  expect(suite.callControls[0]!.logs()).toContain("call ended")
})

it("an offer with no codec the route allows gets 488 Not Acceptable Here", async () => {
  const caller = await runSipp({
    scenario: uacExpect(488),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    extraArgs: ["-s", "4881234"],
  })
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
})
