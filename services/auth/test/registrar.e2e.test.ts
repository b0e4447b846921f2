/**
 * End to end: nats-server, the sip-edge and the auth service as real processes; a UDP test user agent
 * sends REGISTERs byte by byte. Digest (401 then 200), the same Authorization replayed (401), a binding
 * that expires (locate over NATS), identification for call control, and brute force (403 after the
 * threshold, last: it blocks the loopback source for the rest of the file).
 */
import { randomBytes } from "node:crypto"
import { createTestUserAgent, type TestUserAgent, wireMessage } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { computeHa1, computeResponse } from "../src/Digest.js"
import { type AuthSuite, startAuthSuite } from "./suite.js"

const REALM = "b2bua-test"
const CONFIG = `
domains:
  - { name: 127.0.0.1, realm: ${REALM} }
users:
  - { user: alice, domain: 127.0.0.1, password: alice-pw }
  - { user: bob, domain: 127.0.0.1, password: bob-pw }
trunks:
  - { name: loopback-two, sources: ["127.0.0.2/32"] }
unknownSources: challenge
registrar: { minExpires: 1, maxExpires: 3600, defaultExpires: 600 }
bruteForce: { threshold: 3, windowSeconds: 60, cooldownSeconds: 60 }
`

let suite: AuthSuite
let ua: TestUserAgent

beforeAll(async () => {
  suite = await startAuthSuite({ configYaml: CONFIG, env: { B2BUA_AUTH_SWEEP_MS: "200" } })
  ua = await createTestUserAgent()
})

afterAll(async () => {
  await ua.close()
  await suite.stop()
})

const callId = `reg-${randomBytes(4).toString("hex")}`
let cseq = 0

const register = (
  user: string,
  options: { authorization?: string; expires?: number; contact?: boolean } = {},
) => {
  cseq++
  const lines = [
    `REGISTER sip:127.0.0.1:${suite.sipPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK${randomBytes(6).toString("hex")};rport`,
    "Max-Forwards: 70",
    `From: <sip:${user}@127.0.0.1>;tag=${user}1`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}-${user}`,
    `CSeq: ${cseq} REGISTER`,
  ]
  if (options.contact !== false) lines.push(`Contact: <sip:${user}@127.0.0.1:${ua.port}>`)
  if (options.expires !== undefined) lines.push(`Expires: ${options.expires}`)
  if (options.authorization !== undefined) lines.push(`Authorization: ${options.authorization}`)
  return { bytes: wireMessage(lines.join("\n")), cseq }
}

const exchange = async (message: { bytes: Buffer; cseq: number }) => {
  await ua.send(message.bytes, { host: "127.0.0.1", port: suite.sipPort })
  const received = await ua.next(
    (r) => r.message?.kind === "response" && r.message.cseq.seq === message.cseq,
    5000,
  )
  const response = received.message
  if (response?.kind !== "response") throw new Error("not a response")
  return response
}

const param = (header: string, name: string): string =>
  new RegExp(`${name}="?([^",]+)"?`).exec(header)?.[1] ?? ""

const authorization = (challenge: string, user: string, password: string, nc: number): string => {
  const algorithm = param(challenge, "algorithm") === "MD5" ? "MD5" : "SHA-256"
  const nonce = param(challenge, "nonce")
  const uri = `sip:127.0.0.1:${suite.sipPort}`
  const ncText = nc.toString(16).padStart(8, "0")
  const response = computeResponse({
    algorithm,
    ha1: computeHa1(algorithm, user, REALM, password),
    method: "REGISTER",
    uri,
    nonce,
    cnonce: "c0ffee",
    nc: ncText,
    qop: "auth",
  })
  return `Digest username="${user}", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=${algorithm}, cnonce="c0ffee", qop=auth, nc=${ncText}, opaque="${param(challenge, "opaque")}"`
}

describe("registrar with digest, end to end", () => {
  let aliceAuthorization = ""

  it("challenges with 401 (SHA-256 then MD5), then registers with 200 listing the contact", async () => {
    const challenge = await exchange(register("alice", { expires: 300 }))
    expect(challenge.status).toBe(401)
    const offered = challenge.headerValues("WWW-Authenticate")
    expect(offered).toHaveLength(2)
    expect(offered[0]).toContain("algorithm=SHA-256")
    expect(offered[1]).toContain("algorithm=MD5")
    expect(offered[0]).toContain('qop="auth"')
    expect(challenge.toTag).toMatch(/^b2ba/)
    aliceAuthorization = authorization(offered[0]!, "alice", "alice-pw", 1)
    const ok = await exchange(register("alice", { expires: 300, authorization: aliceAuthorization }))
    expect(ok.status).toBe(200)
    expect(ok.headerValues("Contact")).toHaveLength(1)
    expect(ok.header("Contact")).toMatch(new RegExp(`^<sip:alice@127.0.0.1:${ua.port}>;expires=(300|299)$`))
  })

  it("answers a retransmitted REGISTER (same branch) with the same response (RFC 3261 §17.2.2)", async () => {
    const challenge = await exchange(register("alice", { expires: 300 }))
    const message = register("alice", {
      expires: 300,
      authorization: authorization(challenge.header("WWW-Authenticate")!, "alice", "alice-pw", 1),
    })
    const first = await exchange(message)
    const again = await exchange(message)
    expect(first.status).toBe(200)
    expect(again.status).toBe(200)
    expect(again.toTag).toBe(first.toTag)
  })

  it("rejects the same Authorization replayed (same nonce and nc) with a new challenge", async () => {
    const replay = await exchange(register("alice", { expires: 300, authorization: aliceAuthorization }))
    expect(replay.status).toBe(401)
    expect(replay.header("WWW-Authenticate")).not.toContain("stale=true")
  })

  it("locates the registered contact with the NAT-learned source, then sees it expire", async () => {
    const first = await exchange(register("bob", { expires: 2 }))
    const auth = authorization(first.header("WWW-Authenticate")!, "bob", "bob-pw", 1)
    const ok = await exchange(register("bob", { expires: 2, authorization: auth }))
    expect(ok.status).toBe(200)
    const located = (await suite.request("b2b.v1.auth.locate", { v: 1, aor: "sip:bob@127.0.0.1" })) as {
      contacts: Array<{ uri: string; source: { host: string; port: number; transport: string } }>
    }
    expect(located.contacts).toHaveLength(1)
    expect(located.contacts[0]?.uri).toBe(`sip:bob@127.0.0.1:${ua.port}`)
    expect(located.contacts[0]?.source).toMatchObject({ host: "127.0.0.1", port: ua.port, transport: "udp" })
    // The binding lapses after 2 s: poll the API (bounded) until it is gone.
    const deadline = Date.now() + 6000
    let contacts = located.contacts.length
    while (contacts > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250))
      const again = (await suite.request("b2b.v1.auth.locate", { v: 1, aor: "sip:bob@127.0.0.1" })) as {
        contacts: unknown[]
      }
      contacts = again.contacts.length
    }
    expect(contacts).toBe(0)
  })

  it("identifies a trunk by source, challenges an unknown caller with 407 and accepts its credentials", async () => {
    const base = {
      v: 1,
      method: "INVITE",
      from: "<sip:alice@127.0.0.1>;tag=x",
      requestUri: "sip:bob@127.0.0.1",
    }
    expect(
      await suite.request("b2b.v1.auth.identify", { ...base, source: { host: "127.0.0.2", port: 5060 } }),
    ).toEqual({
      v: 1,
      trunk: "loopback-two",
    })
    const challenged = (await suite.request("b2b.v1.auth.identify", {
      ...base,
      source: { host: "192.0.2.9", port: 5060 },
    })) as { challenge: { status: number; header: string } }
    expect(challenged.challenge.status).toBe(407)
    const nonce = param(challenged.challenge.header, "nonce")
    const uri = "sip:bob@127.0.0.1"
    const response = computeResponse({
      algorithm: "SHA-256",
      ha1: computeHa1("SHA-256", "alice", REALM, "alice-pw"),
      method: "INVITE",
      uri,
      nonce,
      cnonce: "ab",
      nc: "00000001",
      qop: "auth",
    })
    const proxyAuthorization = `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=SHA-256, cnonce="ab", qop=auth, nc=00000001, opaque="${param(challenged.challenge.header, "opaque")}"`
    expect(
      await suite.request("b2b.v1.auth.identify", {
        ...base,
        source: { host: "192.0.2.9", port: 5060 },
        authorization: proxyAuthorization,
      }),
    ).toEqual({ v: 1, user: "sip:alice@127.0.0.1" })
    expect(
      await suite.request("b2b.v1.auth.identify", {
        ...base,
        source: { host: "192.0.2.9", port: 5060 },
        userAgent: "friendly-scanner",
      }),
    ).toEqual({ v: 1, drop: { reason: "scanner" } })
  })

  it("answers a REGISTER from a scanner with nothing at all", async () => {
    const lines = register("alice")
      .bytes.toString("latin1")
      .replace("Max-Forwards: 70", "User-Agent: friendly-scanner")
    await ua.send(lines, { host: "127.0.0.1", port: suite.sipPort })
    await expect(ua.next((r) => r.message?.kind === "response", 1000)).rejects.toThrow(/nothing matching/)
  })

  it("brute force: wrong passwords from one source get 403 after the threshold, right ones too", async () => {
    const statuses: number[] = []
    for (let i = 0; i < 3; i++) {
      const challenge = await exchange(register("alice", { expires: 300 }))
      const bad = authorization(challenge.header("WWW-Authenticate")!, "alice", `guess-${i}`, 1)
      statuses.push((await exchange(register("alice", { expires: 300, authorization: bad }))).status)
    }
    expect(statuses).toEqual([401, 401, 403])
    const refused = await exchange(register("alice", { expires: 300 }))
    expect(refused.status).toBe(403)
  })
})
