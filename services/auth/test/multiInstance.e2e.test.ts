/**
 * End to end with three auth instances: a brute-force block decided by one holds on all (identify API,
 * queue group spreads the requests); they share one outbound registration, the KV lease lets one
 * register; when that instance is killed (SIGKILL, no clean release) another takes the lapsed lease, and
 * when that one stops cleanly it hands the lease back at once.
 */
import { fileURLToPath } from "node:url"
import { freeUdpPort, type SippProcess, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { computeHa1, computeResponse } from "../src/Digest.js"
import { type AuthSuite, startAuthSuite } from "./suite.js"

interface State {
  registrations: Array<{ trunk: string; state: string; owner?: string; updatedAt: number }>
}

let suite: AuthSuite
let carrier: SippProcess

beforeAll(async () => {
  const carrierPort = await freeUdpPort()
  carrier = await startSippUas({
    scenario: fileURLToPath(new URL("./scenarios/uas-register-ok.xml", import.meta.url)),
    localPort: carrierPort,
    timeoutSeconds: 60,
  })
  suite = await startAuthSuite({
    instances: ["authone", "authtwo", "auththree"],
    configYaml: `
domains: [{ name: example.com }]
users: [{ user: frank, domain: example.com, password: frank-pw }]
bruteForce: { threshold: 3, windowSeconds: 60, cooldownSeconds: 60 }
outbound:
  - trunk: carrier
    registrar: "127.0.0.1:${carrierPort}"
    aor: sip:suite@127.0.0.1
    expires: 60
    secret: { env: CARRIER_PASSWORD }
`,
    env: { CARRIER_PASSWORD: "unused", B2BUA_AUTH_LEASE_MS: "3000", B2BUA_AUTH_RETRY_BASE_MS: "200" },
  })
})

afterAll(async () => {
  await carrier.stop()
  await suite.stop()
})

/** Polls the state API until `accept` holds (bounded). */
const waitForState = async (accept: (s: State) => boolean, timeoutMs: number): Promise<State> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    // A request routed to the killed instance before the server noticed its death times out: ask again.
    const state = (await suite
      .request("b2b.v1.auth.outbound.state", { v: 1, trunk: "carrier" })
      .catch(() => undefined)) as State | undefined
    if (state !== undefined && accept(state)) return state
    if (Date.now() > deadline) throw new Error(`state not reached: ${JSON.stringify(state)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe("brute force across instances", () => {
  it("a block decided by one instance is applied by all", async () => {
    const base = {
      v: 1,
      method: "INVITE",
      from: "<sip:frank@example.com>;tag=1",
      requestUri: "sip:x@example.com",
      source: { host: "192.0.2.66", port: 5060 },
    }
    const wrong = async () => {
      const challenged = (await suite.request("b2b.v1.auth.identify", base)) as {
        challenge?: { header: string }
        refuse?: { status: number }
      }
      if (challenged.refuse !== undefined) return challenged
      const header = challenged.challenge?.header ?? ""
      const nonce = /nonce="([^"]+)"/.exec(header)?.[1] ?? ""
      const opaque = /opaque="([^"]+)"/.exec(header)?.[1] ?? ""
      const response = computeResponse({
        algorithm: "SHA-256",
        ha1: computeHa1("SHA-256", "frank", "example.com", "not-the-password"),
        method: "INVITE",
        uri: base.requestUri,
        nonce,
        cnonce: "cn",
        nc: "00000001",
        qop: "auth",
      })
      const authorization = `Digest username="frank", realm="example.com", nonce="${nonce}", uri="${base.requestUri}", response="${response}", algorithm=SHA-256, cnonce="cn", qop=auth, nc=00000001, opaque="${opaque}"`
      return (await suite.request("b2b.v1.auth.identify", { ...base, authorization })) as {
        refuse?: { status: number }
      }
    }
    // Each instance counts its own failures: at most 3 * (threshold - 1) + 1 = 7 tries before a block.
    let tries = 0
    for (; tries < 7; tries++) if ((await wrong()).refuse !== undefined) break
    expect(tries).toBeLessThan(7)
    const after = await Promise.all(
      Array.from({ length: 10 }, () => suite.request("b2b.v1.auth.identify", base)),
    )
    expect(after).toEqual(
      Array.from({ length: 10 }, () => ({
        v: 1,
        refuse: { status: 403, reason: "Too many authentication failures" },
      })),
    )
  })
})

describe("outbound registration lease", () => {
  it("one instance registers; another takes over when it dies, and at once when it stops cleanly", async () => {
    const first = await waitForState((s) => s.registrations[0]?.state === "Registered", 15_000)
    const owner = first.registrations[0]?.owner
    expect(["authone", "authtwo", "auththree"]).toContain(owner)
    const names = ["authone", "authtwo", "auththree"]
    const dying = suite.auths[names.indexOf(owner ?? "")]!
    dying.child.kill("SIGKILL")
    const killedAt = Date.now()
    const after = await waitForState(
      (s) =>
        s.registrations[0]?.owner !== undefined &&
        s.registrations[0]?.owner !== owner &&
        s.registrations[0]?.state === "Registered",
      15_000,
    )
    expect(after.registrations[0]?.updatedAt).toBeGreaterThanOrEqual(killedAt - 1000)
    const next = after.registrations[0]?.owner ?? ""
    expect(suite.auths[names.indexOf(next)]?.logs()).toContain("outbound registration lease taken")

    // A clean stop hands the lease back at once: right after the process exits, it no longer holds it.
    await suite.auths[names.indexOf(next)]!.stop()
    const released = (await suite.request("b2b.v1.auth.outbound.state", { v: 1, trunk: "carrier" })) as State
    expect(released.registrations[0]?.owner).not.toBe(next)
    const last = names.find((n) => n !== owner && n !== next)
    await waitForState(
      (s) => s.registrations[0]?.owner === last && s.registrations[0]?.state === "Registered",
      15_000,
    )
  })
})
