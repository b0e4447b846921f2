import { Authorization, type DigestCredentials } from "@b2bua/sip"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { computeHa1, computeResponse, type DigestAlgorithm } from "../src/Digest.js"
import { challengeValues, opaqueFor, verifyCredentials } from "../src/DigestAuth.js"
import { FailureLimiter } from "../src/FailureLimiter.js"
import { trunkMatcher } from "../src/TrunkMatch.js"

const key = new TextEncoder().encode("0123456789abcdef-shared")
const realm = "example.com"
const T0 = 1_700_000_000_000
const ha1s = {
  MD5: computeHa1("MD5", "alice", realm, "secret"),
  "SHA-256": computeHa1("SHA-256", "alice", realm, "secret"),
}
const lookup = (a: "MD5" | "SHA-256") => ha1s[a]

const param = (challenge: string, name: string): string =>
  new RegExp(`${name}="?([^",]+)"?`).exec(challenge)?.[1] ?? ""

/** What a client answers to a challenge (RFC 7616 §3.4), as an Authorization header value, parsed. */
const answer = (
  challenge: string,
  password: string,
  options: { nc?: string; uri?: string; method?: string } = {},
): DigestCredentials => {
  const algorithm = param(challenge, "algorithm") as DigestAlgorithm
  const nonce = param(challenge, "nonce")
  const uri = options.uri ?? "sip:example.com"
  const nc = options.nc ?? "00000001"
  const response = computeResponse({
    algorithm,
    ha1: computeHa1(algorithm, "alice", realm, password),
    method: options.method ?? "REGISTER",
    uri,
    nonce,
    cnonce: "0a4f113b",
    nc,
    qop: "auth",
  })
  return Authorization.parse(
    `Digest username="alice", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", ` +
      `algorithm=${algorithm}, cnonce="0a4f113b", opaque="${param(challenge, "opaque")}", qop=auth, nc=${nc}`,
  )
}

const ctx = (now: number) => ({ method: "REGISTER", nonceKey: key, nonceLifetimeMs: 300_000, now, realm })

const challenge = (now = T0) =>
  challengeValues({
    realm,
    algorithms: ["SHA-256", "MD5"],
    nonceKey: key,
    stale: false,
    now,
    random: new Uint8Array(8).fill(7),
  })

describe("digest challenges and their answers", () => {
  it("offers SHA-256 then MD5 with one nonce, qop=auth and an opaque", () => {
    const [sha, md5] = challenge()
    expect(sha).toMatch(
      /^Digest realm="example.com", nonce="[^"]+", opaque="[^"]+", algorithm=SHA-256, qop="auth"$/,
    )
    expect(md5).toContain("algorithm=MD5")
    expect(param(sha!, "nonce")).toBe(param(md5!, "nonce"))
    expect(param(sha!, "opaque")).toBe(opaqueFor(key, realm))
  })

  it("verifies MD5 and SHA-256 answers and reads the nonce count", () => {
    for (const c of challenge()) {
      const v = verifyCredentials(answer(c, "secret", { nc: "0000000a" }), lookup, ctx(T0 + 1000))
      expect(v).toMatchObject({ _tag: "Verified", username: "alice", nc: 10, issuedAt: T0 })
    }
  })

  it("rejects a wrong password and marks an expired nonce stale only when the response is right", () => {
    const [c] = challenge()
    expect(verifyCredentials(answer(c!, "guess"), lookup, ctx(T0))._tag).toBe("Rejected")
    expect(verifyCredentials(answer(c!, "secret"), lookup, ctx(T0 + 301_000))).toEqual({
      _tag: "Stale",
      username: "alice",
    })
    expect(verifyCredentials(answer(c!, "guess"), lookup, ctx(T0 + 301_000))._tag).toBe("Rejected")
  })

  it("does not judge credentials for another realm, key or opaque", () => {
    const [c] = challenge()
    const good = answer(c!, "secret")
    expect(verifyCredentials(good, lookup, { ...ctx(T0), realm: "other" })._tag).toBe("Unusable")
    expect(
      verifyCredentials(good, lookup, { ...ctx(T0), nonceKey: new TextEncoder().encode("another-key-1234") })
        ._tag,
    ).toBe("Unusable")
    expect(verifyCredentials({ ...good, opaque: "x" }, lookup, ctx(T0))._tag).toBe("Unusable")
    expect(verifyCredentials(good, lookup, { ...ctx(T0), requestUri: "sip:example.com" })._tag).toBe(
      "Verified",
    )
    expect(verifyCredentials(good, lookup, { ...ctx(T0), requestUri: "sip:other.example.com" })).toEqual({
      _tag: "Unusable",
      reason: "uri does not match the Request-URI",
    })
  })

  it("property: a response computed with any other password is never accepted", () => {
    const [c] = challenge()
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), (password) => {
        fc.pre(password !== "secret")
        expect(verifyCredentials(answer(c!, password), lookup, ctx(T0))._tag).toBe("Rejected")
      }),
      { numRuns: 200 },
    )
  })
})

describe("brute-force limiter", () => {
  const limits = { threshold: 3, windowMs: 60_000, cooldownMs: 300_000 }

  it("blocks after the threshold within the window, for the cool-down", () => {
    const l = new FailureLimiter(limits)
    expect(l.fail("src", T0)).toBe(false)
    expect(l.fail("src", T0 + 1)).toBe(false)
    expect(l.blocked("src", T0 + 2)).toBe(false)
    expect(l.fail("src", T0 + 2)).toBe(true)
    expect(l.blocked("src", T0 + 3)).toBe(true)
    expect(l.blocked("other", T0 + 3)).toBe(false)
    expect(l.blocked("src", T0 + 2 + 300_000)).toBe(false)
  })

  it("applies a block decided by another instance", () => {
    const l = new FailureLimiter(limits)
    l.block("u:r:eve", T0 + 1000, T0)
    expect(l.blocked("u:r:eve", T0 + 999)).toBe(true)
    expect(l.blockedUntil("u:r:eve")).toBe(T0 + 1000)
    expect(l.blocked("u:r:eve", T0 + 1000)).toBe(false)
  })

  it("forgets failures older than the window and stays bounded", () => {
    const l = new FailureLimiter(limits, 100)
    l.fail("src", T0)
    l.fail("src", T0 + 1)
    expect(l.fail("src", T0 + 60_001)).toBe(false)
    for (let i = 0; i < 1000; i++) l.fail(`k${i}`, T0)
    expect(l.size).toBeLessThanOrEqual(100)
  })
})

describe("trunk identification by source", () => {
  const m = trunkMatcher([
    { name: "carrier-v4", sources: ["192.0.2.0/24", "198.51.100.7"] },
    { name: "carrier-v6", sources: ["2001:db8::/32"] },
    { name: "pbx", digest: { realm, user: "pbx1" } },
  ])

  it("matches IPv4 and IPv6 CIDRs and single addresses", () => {
    expect(m.bySource("192.0.2.200")?.name).toBe("carrier-v4")
    expect(m.bySource("::ffff:192.0.2.1")?.name).toBe("carrier-v4")
    expect(m.bySource("198.51.100.7")?.name).toBe("carrier-v4")
    expect(m.bySource("198.51.100.8")).toBeUndefined()
    expect(m.bySource("2001:db8:1::5")?.name).toBe("carrier-v6")
    expect(m.bySource("[2001:db8::1]")?.name).toBe("carrier-v6")
    expect(m.bySource("2001:db9::1")).toBeUndefined()
    expect(m.bySource("not-an-address")).toBeUndefined()
    expect(m.byDigestUser(realm, "pbx1")?.name).toBe("pbx")
  })
})
