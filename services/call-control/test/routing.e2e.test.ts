/**
 * Routing end to end, from a configuration file: the dial plan picks the route by the called number,
 * failover moves from a gateway answering 503 to the next trunk's gateway, the next trunk's number rules
 * rewrite the Request-URI, and a number without a route gets 404 — SIPp as caller and callees, the suite
 * as processes over a real nats-server.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freeUdpPort, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { uacExpect, uasExpectUser, uasRedirect, uasReject } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
let portA = 0
let portB = 0
let portRedirecting = 0
let portRedirected = 0

beforeAll(async () => {
  portA = await freeUdpPort()
  portB = await freeUdpPort()
  portRedirecting = await freeUdpPort()
  portRedirected = await freeUdpPort()
  const file = join(tmpdir(), `routing-e2e-${process.pid}.yaml`)
  writeFileSync(
    file,
    `# Two carriers for numbers starting with 1: A first, B when A fails; nothing else is routed.
trunks:
  - name: local
    sources: [127.0.0.1/32]
  - name: carrier-a
    gateways: [{ host: 127.0.0.1, port: ${portA} }]
    failover: { codes: [503], timeoutMs: 2000 }
  - name: carrier-b
    gateways: [{ host: 127.0.0.1, port: ${portB} }]
    outboundNumbers: { stripPrefix: "1", addPrefix: "0044" }
  - name: carrier-r
    gateways: [{ host: 127.0.0.1, port: ${portRedirecting} }]
    redirects: follow
routes:
  - { name: north-america, prefix: "1", trunks: [carrier-a, carrier-b] }
  - { name: redirecting, prefix: "33", trunks: [carrier-r] }
`,
  )
  suite = await startSuite({ ccEnv: { B2BUA_ROUTING_FILE: file } })
})

afterAll(async () => {
  await suite?.stop()
})

describe("routing from a configuration file", () => {
  it("fails over from a gateway's 503 to the next trunk, whose number rules rewrite the called number", async () => {
    const refusing = await startSippUas({
      scenario: uasReject(503),
      localPort: portA,
      calls: 2,
      timeoutSeconds: 20,
    })
    const answering = await startSippUas({
      scenario: uasExpectUser("00442125551234"),
      localPort: portB,
      calls: 2,
      timeoutSeconds: 20,
    })
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 2,
      rate: 2,
      pauseMs: 200,
      timeoutSeconds: 20,
      extraArgs: ["-s", "12125551234"],
    })
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(2)
    const refused = await refusing.result()
    const answered = await answering.result()
    expect(refused.successfulCalls).toBe(2)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(2)
  })

  it("follows a 302 from a trunk whose policy is follow: the redirected target answers the call", async () => {
    const redirecting = await startSippUas({
      scenario: uasRedirect(`sip:moved@127.0.0.1:${portRedirected}`),
      localPort: portRedirecting,
      calls: 1,
      timeoutSeconds: 20,
    })
    const redirected = await startSippUas({
      scenario: uasExpectUser("moved"),
      localPort: portRedirected,
      calls: 1,
      timeoutSeconds: 20,
    })
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 20,
      extraArgs: ["-s", "33123456"],
    })
    expect(caller.successfulCalls).toBe(1)
    expect((await redirecting.result()).successfulCalls).toBe(1)
    const answered = await redirected.result()
    expect([answered.successfulCalls, answered.failedCalls]).toEqual([1, 0])
  })

  it("a number without a route gets 404 naming it", async () => {
    const caller = await runSipp({
      scenario: uacExpect(404),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 10,
      extraArgs: ["-s", "4930123"],
    })
    expect(caller.successfulCalls).toBe(1)
    expect(suite.callControls[0]!.logs()).toContain("routing store seeded from file")
  })
})
