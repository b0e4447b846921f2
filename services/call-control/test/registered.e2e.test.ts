/**
 * The auth service in the call path (issue 4), as processes with SIPp: a user registers with digest
 * (401, then 200), and a call to its address-of-record reaches the contact it registered; a caller from
 * no known trunk is challenged with 407.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freeUdpPort, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import {
  uacDigest,
  uacExpect,
  uacSubscribeExpect,
  uacSubscriber,
  uasExpectUser,
  uasNotifier,
} from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

const registerScenario = fileURLToPath(
  new URL("../../auth/test/scenarios/uac-register-digest.xml", import.meta.url),
)
let suite: RunningSuite

beforeAll(async () => {
  const file = join(tmpdir(), `auth-e2e-${process.pid}.yaml`)
  writeFileSync(
    file,
    `domains:
  # SIPp 3.6 answers MD5 challenges only.
  - { name: 127.0.0.1, realm: b2bua-e2e, algorithms: [MD5] }
users:
  - { user: alice, domain: 127.0.0.1, password: alice-e2e }
unknownSources: challenge
trunks:
  - { name: local, sources: ["127.0.0.1/32"] }
`,
  )
  // The routing store (seeded from this file) holds a trunk the auth file does not know: the auth service
  // reads the shared store too, so calls from 127.0.0.3 are identified as that trunk, not challenged.
  const calleePort = await freeUdpPort()
  const routing = join(tmpdir(), `auth-e2e-routing-${process.pid}.yaml`)
  writeFileSync(
    routing,
    `trunks:
  - { name: local, sources: [127.0.0.1/32] }
  - { name: stored-carrier, sources: [127.0.0.3/32] }
  - { name: callee, gateways: [{ host: 127.0.0.1, port: ${calleePort} }] }
routes:
  - { name: default, prefix: "", trunks: [callee] }
`,
  )
  suite = await startSuite({ authConfig: file, calleePort, ccEnv: { B2BUA_ROUTING_FILE: routing } })
}, 60_000)
afterAll(async () => {
  await suite?.stop()
})

it("a call to a registered user reaches the contact it registered with digest", async () => {
  const alicePort = await freeUdpPort()
  const registered = await runSipp({
    scenario: registerScenario,
    remote: `127.0.0.1:${suite.sipPort}`,
    localPort: alicePort,
    calls: 1,
    timeoutSeconds: 10,
    keys: { user: "alice", expires: "120" },
    extraArgs: ["-au", "alice", "-ap", "alice-e2e"],
  })
  expect(registered.successfulCalls).toBe(1)
  const alice = await startSippUas({
    scenario: uasExpectUser("alice"),
    localPort: alicePort,
    calls: 1,
    timeoutSeconds: 15,
  })
  const caller = await runSipp({
    scenario: "uac",
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    extraArgs: ["-s", "alice"],
  })
  const answered = await alice.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
  expect(answered.successfulCalls).toBe(1)
})

it("an INVITE from no known trunk is challenged with 407", async () => {
  const caller = await runSipp({
    scenario: uacExpect(407),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 10,
    extraArgs: ["-i", "127.0.0.2"],
  })
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
})

it("a caller from no known trunk, challenged with 407, retries with its credentials and completes", async () => {
  const callee = await startSippUas({ localPort: suite.calleePort, calls: 1, timeoutSeconds: 15 })
  const caller = await runSipp({
    scenario: uacDigest(),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    // RFC 7616 §3.4.6: the digest uri is the Request-URI (SIPp uses the remote address unless told).
    extraArgs: [
      "-i",
      "127.0.0.2",
      "-au",
      "alice",
      "-ap",
      "alice-e2e",
      "-auth_uri",
      `service@127.0.0.1:${suite.sipPort}`,
    ],
  })
  const answered = await callee.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
  expect(answered.successfulCalls).toBe(1)
})

it("a trunk added to the shared store (as the admin API does) is identified by the auth service", async () => {
  const callee = await startSippUas({ localPort: suite.calleePort, calls: 1, timeoutSeconds: 15 })
  const caller = await runSipp({
    scenario: "uac",
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    extraArgs: ["-i", "127.0.0.3"],
  })
  await callee.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
})

it("a SUBSCRIBE is identified by the auth service like an INVITE: a known trunk's is bridged, others get 407", async () => {
  const notifier = await startSippUas({
    scenario: uasNotifier(),
    localPort: suite.calleePort,
    calls: 1,
    timeoutSeconds: 15,
  })
  const subscriber = await runSipp({
    scenario: uacSubscriber(),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
  })
  expect((await notifier.result()).successfulCalls).toBe(1)
  expect(subscriber.successfulCalls).toBe(1)
  const stranger = await runSipp({
    scenario: uacSubscribeExpect(407),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 10,
    extraArgs: ["-i", "127.0.0.2"],
  })
  expect(stranger.failedCalls).toBe(0)
  expect(stranger.successfulCalls).toBe(1)
})
