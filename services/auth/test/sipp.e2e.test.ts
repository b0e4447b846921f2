/**
 * End to end with SIPp: a SIPp user agent registers through the edge with digest (401, then 200 that
 * lists its contact); the suite registers itself with a SIPp carrier registrar that challenges it,
 * checks the credentials and expects a refresh before the granted interval lapses; the admin API's
 * state query reports the registration.
 */
import { fileURLToPath } from "node:url"
import { freeUdpPort, runSipp, type SippProcess, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AuthSuite, startAuthSuite } from "./suite.js"

const scenario = (name: string) => fileURLToPath(new URL(`./scenarios/${name}`, import.meta.url))

let suite: AuthSuite
let carrier: SippProcess

beforeAll(async () => {
  const carrierPort = await freeUdpPort()
  carrier = await startSippUas({
    scenario: scenario("uas-register-challenge.xml"),
    localPort: carrierPort,
    calls: 1,
    timeoutSeconds: 40,
    keys: { user: "suite", password: "carrier-secret" },
  })
  // SIPp 3.6 computes MD5 digests only and picks the first challenge: this domain offers MD5 alone.
  suite = await startAuthSuite({
    configYaml: `
domains:
  - { name: 127.0.0.1, realm: sipp-test, algorithms: [MD5] }
users:
  - { user: carol, domain: 127.0.0.1, password: carol-pw }
outbound:
  - trunk: carrier
    registrar: "127.0.0.1:${carrierPort}"
    aor: sip:suite@127.0.0.1
    expires: 60
    secret: { env: CARRIER_PASSWORD }
`,
    env: { CARRIER_PASSWORD: "carrier-secret", B2BUA_AUTH_RETRY_BASE_MS: "200" },
  })
})

afterAll(async () => {
  await carrier.stop()
  await suite.stop()
})

describe("SIPp against the registrar and as a carrier", () => {
  it("a SIPp user agent registers with digest: 401, then 200 listing its contact", async () => {
    const result = await runSipp({
      scenario: scenario("uac-register-digest.xml"),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 15,
      keys: { user: "carol", expires: "120" },
      extraArgs: ["-au", "carol", "-ap", "carol-pw"],
    })
    expect(result.failedCalls, result.stdout + result.stderr).toBe(0)
    expect(result.successfulCalls).toBe(1)
  })

  it("registers with a carrier that challenges, with correct credentials, and refreshes before expiry", async () => {
    const result = await carrier.result()
    expect(result.failedCalls, result.stdout + result.stderr + suite.auth.logs()).toBe(0)
    expect(result.successfulCalls).toBe(1)
    const state = (await suite.request("b2b.v1.auth.outbound.state", { v: 1 })) as {
      registrations: Array<{
        trunk: string
        state: string
        owner?: string
        lastStatus?: number
        expiresAt?: number
      }>
    }
    expect(state.registrations).toHaveLength(1)
    expect(state.registrations[0]).toMatchObject({ trunk: "carrier", owner: "authe2e" })
    expect(["Registered", "Registering"]).toContain(state.registrations[0]?.state)
  })
})
