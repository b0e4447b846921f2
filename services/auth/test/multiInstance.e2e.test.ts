/**
 * End to end: two auth instances share one outbound registration. The KV lease lets one register; when
 * that instance is killed (SIGKILL, no clean release), the other takes the lapsed lease and registers.
 */
import { fileURLToPath } from "node:url"
import { freeUdpPort, type SippProcess, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
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
    instances: ["authone", "authtwo"],
    configYaml: `
outbound:
  - trunk: carrier
    registrar: "127.0.0.1:${carrierPort}"
    aor: sip:suite@127.0.0.1
    expires: 60
    secret: { env: CARRIER_PASSWORD }
`,
    env: { CARRIER_PASSWORD: "unused", B2BUA_AUTH_LEASE_MS: "1500", B2BUA_AUTH_RETRY_BASE_MS: "200" },
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
    const state = (await suite.request("b2b.v1.auth.outbound.state", { v: 1, trunk: "carrier" })) as State
    if (accept(state)) return state
    if (Date.now() > deadline) throw new Error(`state not reached: ${JSON.stringify(state)}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

describe("outbound registration lease", () => {
  it("one instance registers; the other takes over when it dies", async () => {
    const first = await waitForState((s) => s.registrations[0]?.state === "Registered", 15_000)
    const owner = first.registrations[0]?.owner
    expect(["authone", "authtwo"]).toContain(owner)
    const [dying, survivor] =
      owner === "authone" ? [suite.auths[0]!, "authtwo"] : [suite.auths[1]!, "authone"]
    dying.child.kill("SIGKILL")
    const killedAt = Date.now()
    const after = await waitForState(
      (s) => s.registrations[0]?.owner === survivor && s.registrations[0]?.state === "Registered",
      15_000,
    )
    expect(after.registrations[0]?.updatedAt).toBeGreaterThanOrEqual(killedAt - 1000)
    expect(suite.auths.find((a) => a !== dying)?.logs()).toContain("outbound registration lease taken")
  })
})
