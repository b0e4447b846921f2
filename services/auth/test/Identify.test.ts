/**
 * The identification decision (src/Identify.ts) with the authenticator over in-memory stores (the KV
 * stores have their own integration test): trunks by source, trunks that require digest, users,
 * unknown sources challenged or refused, scanners, blocks.
 */
import { type IdentifyRequest, InstanceId } from "@b2bua/contracts"
import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makeAuthenticator } from "../src/Authenticator.js"
import type { AuthServiceConfig, StoredCredential } from "../src/Config.js"
import { computeHa1, computeResponse } from "../src/Digest.js"
import { makeIdentify } from "../src/Identify.js"
import type { CredentialStore, NonceCounts } from "../src/Stores.js"
import { trunkMatcher } from "../src/TrunkMatch.js"

const credential = (user: string, password: string): StoredCredential => ({
  username: user,
  realm: "example.com",
  aor: `sip:${user}@example.com`,
  ha1: {
    MD5: computeHa1("MD5", user, "example.com", password),
    "SHA-256": computeHa1("SHA-256", user, "example.com", password),
  },
})

const memoryCredentials = (list: ReadonlyArray<StoredCredential>): CredentialStore => ({
  find: (realm, username) => Effect.succeed(list.find((c) => c.realm === realm && c.username === username)),
  seed: () => Effect.void,
})

const memoryCounts = (): NonceCounts => {
  const seen = new Map<string, number>()
  return {
    accept: (nonce, nc) =>
      Effect.sync(() => {
        if ((seen.get(nonce) ?? 0) >= nc) return false
        seen.set(nonce, nc)
        return true
      }),
    sweep: () => Effect.succeed(0),
  }
}

const setup = (unknownSources: "challenge" | "refuse") => {
  const trunks = [
    { name: "carrier", sources: ["192.0.2.0/24"] },
    { name: "secure", sources: ["198.51.100.0/24"], digest: { realm: "example.com", user: "securetrunk" } },
    { name: "roaming-pbx", digest: { realm: "example.com", user: "pbx" } },
  ]
  const config: AuthServiceConfig = {
    instance: InstanceId("authtest"),
    natsUrl: "nats://127.0.0.1:4222",
    jetStreamReplicas: 1,
    configFile: undefined,
    nonceKey: new TextEncoder().encode("identify-test-key-123"),
    nonceKeyShared: true,
    sipAddress: { host: "127.0.0.1", port: 5060 },
    domains: [{ name: "example.com", realm: "example.com", algorithms: ["SHA-256", "MD5"] }],
    credentials: [],
    trunks,
    unknownSources,
    registrar: { minExpires: 60, maxExpires: 3600, defaultExpires: 600, maxContacts: 5 },
    nonceLifetimeMs: 60_000,
    bruteForce: { threshold: 2, windowMs: 60_000, cooldownMs: 60_000 },
    scanners: ["sipvicious"],
    outbound: [],
    sweepIntervalMs: 30_000,
    leaseMs: 15_000,
    retryBaseMs: 5000,
    retryMaxMs: 300_000,
  }
  const authenticator = makeAuthenticator({
    nonceKey: new TextEncoder().encode("identify-test-key-123"),
    nonceLifetimeMs: 60_000,
    bruteForce: { threshold: 2, windowMs: 60_000, cooldownMs: 60_000 },
    credentials: memoryCredentials([
      credential("alice", "a-pw"),
      credential("securetrunk", "s-pw"),
      credential("pbx", "p-pw"),
    ]),
    counts: memoryCounts(),
    announceBlock: () => Effect.void,
  })
  const identify = makeIdentify({ config, trunks: trunkMatcher(trunks), authenticator })
  return (r: Partial<IdentifyRequest>) =>
    Effect.runPromise(
      identify({
        v: 1,
        source: { host: "203.0.113.1", port: 5060 },
        method: "INVITE",
        from: "<sip:alice@example.com>;tag=1",
        requestUri: "sip:bob@example.com",
        ...r,
      }),
    )
}

/** Answers a 407 challenge value as a client would. */
const answer = (challenge: string, user: string, password: string): string => {
  const nonce = /nonce="([^"]+)"/.exec(challenge)?.[1] ?? ""
  const opaque = /opaque="([^"]+)"/.exec(challenge)?.[1] ?? ""
  const uri = "sip:bob@example.com"
  const response = computeResponse({
    algorithm: "SHA-256",
    ha1: computeHa1("SHA-256", user, "example.com", password),
    method: "INVITE",
    uri,
    nonce,
    cnonce: "c",
    nc: "00000001",
    qop: "auth",
  })
  return `Digest username="${user}", realm="example.com", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=SHA-256, cnonce="c", qop=auth, nc=00000001, opaque="${opaque}"`
}

const challengeOf = (reply: unknown): string => {
  const r = reply as { challenge?: { status: number; header: string; headers?: string[] } }
  expect(r.challenge?.status).toBe(407)
  expect(r.challenge?.headers).toHaveLength(2)
  return r.challenge?.header ?? ""
}

describe("identify (call control asks who sent a request)", () => {
  it("accepts a trunk by its source address without a challenge", async () => {
    const identify = setup("challenge")
    expect(await identify({ source: { host: "192.0.2.7", port: 5060 } })).toEqual({ v: 1, trunk: "carrier" })
  })

  it("a trunk that also requires digest: 407, its digest user → trunk, another user → 403", async () => {
    const identify = setup("challenge")
    const source = { host: "198.51.100.9", port: 5060 }
    const c1 = challengeOf(await identify({ source }))
    expect(await identify({ source, authorization: answer(c1, "securetrunk", "s-pw") })).toEqual({
      v: 1,
      trunk: "secure",
    })
    const c2 = challengeOf(await identify({ source }))
    expect(await identify({ source, authorization: answer(c2, "alice", "a-pw") })).toEqual({
      v: 1,
      refuse: { status: 403, reason: "Credentials do not belong to this trunk" },
    })
  })

  it("an unknown source: 407, then a user by its AOR, or a trunk known by its digest user", async () => {
    const identify = setup("challenge")
    const c1 = challengeOf(await identify({}))
    expect(await identify({ authorization: answer(c1, "alice", "a-pw") })).toEqual({
      v: 1,
      user: "sip:alice@example.com",
    })
    const c2 = challengeOf(await identify({}))
    expect(await identify({ authorization: answer(c2, "pbx", "p-pw") })).toEqual({
      v: 1,
      trunk: "roaming-pbx",
    })
  })

  it("unknownSources: refuse answers 403 without a challenge", async () => {
    const identify = setup("refuse")
    expect(await identify({})).toEqual({ v: 1, refuse: { status: 403, reason: "Unknown source" } })
  })

  it("drops scanners and refuses a source past the failure threshold", async () => {
    const identify = setup("challenge")
    expect(await identify({ userAgent: "sipvicious 0.3" })).toEqual({ v: 1, drop: { reason: "scanner" } })
    const c = challengeOf(await identify({}))
    challengeOf(await identify({ authorization: answer(c, "alice", "wrong") }))
    const c2 = challengeOf(await identify({}))
    expect(await identify({ authorization: answer(c2, "alice", "wrong") })).toEqual({
      v: 1,
      refuse: { status: 403, reason: "Too many authentication failures" },
    })
    expect(await identify({})).toMatchObject({ refuse: { status: 403 } })
  })

  it("property: any Proxy-Authorization value gets a challenge or a refusal, never an exception", async () => {
    const identify = setup("challenge")
    const param = fc.tuple(
      fc.constantFrom(
        "username",
        "realm",
        "nonce",
        "uri",
        "response",
        "algorithm",
        "qop",
        "nc",
        "cnonce",
        "opaque",
        "x",
      ),
      fc.string({ maxLength: 30 }),
      fc.boolean(),
    )
    const header = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc
        .array(param, { maxLength: 12 })
        .map(
          (ps) =>
            `Digest ${ps.map(([n, v, quoted]) => (quoted ? `${n}="${v.replace(/"/g, "")}"` : `${n}=${v}`)).join(", ")}`,
        ),
    )
    await fc.assert(
      fc.asyncProperty(header, async (authorization) => {
        const reply = await identify({ source: { host: "203.0.113.77", port: 5060 }, authorization })
        expect("challenge" in reply || "refuse" in reply).toBe(true)
      }),
      { numRuns: 300 },
    )
  })
})
