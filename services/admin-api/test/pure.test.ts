/** The admin API's pure parts: mappings, paging, the bearer check, configuration, stored-call decoding. */
import { Trunk as ProtoTrunk, type RedirectPolicy, Transport } from "@b2bua/admin-proto"
import { decodeTrunk, type Trunk } from "@b2bua/contracts"
import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  checkBearer,
  decodeStoredCall,
  loadConfig,
  pageOf,
  trunkFromProto,
  trunkToProto,
  userOf,
} from "../src/index.js"

const fullTrunk: Trunk = {
  name: "carrier-a",
  sources: ["192.0.2.0/24", "2001:db8::/32"],
  digest: { realm: "example.com", user: "pbx" },
  gateways: [
    { host: "192.0.2.10", port: 5060, transport: "udp", priority: 1, weight: 10 },
    { host: "gw.example.net", transport: "tcp" },
  ],
  inboundNumbers: { stripPrefix: "0", e164: { countryCode: "44", nationalPrefix: "0" } },
  outboundNumbers: { addPrefix: "+" },
  identity: { assertedIdentity: "pass", privacy: "drop" },
  codecs: { allow: ["PCMU", "PCMA"], order: ["PCMA"] },
  limits: { maxCalls: 30, maxCps: 2.5 },
  failover: { codes: [503, 408], timeoutMs: 2000 },
  ping: { intervalMs: 30000, downAfter: 3 },
  media: "bypass",
  redirects: "follow",
  refer: "relay",
}

describe("trunk mapping", () => {
  it("stored → gRPC → wire → gRPC → stored is the identity", () => {
    const wire = ProtoTrunk.encode(trunkToProto(fullTrunk, 7)).finish()
    const back = trunkFromProto(ProtoTrunk.decode(wire), "trunk")
    expect(back).toEqual(Result.succeed(fullTrunk))
  })

  it("problems carry the request field path; an unknown enum value is refused", () => {
    const t = trunkToProto(fullTrunk, 1)
    const bad = trunkFromProto(
      { ...t, gateways: [{ host: "x", transport: 7 as Transport, port: 1 }] },
      "trunk",
    )
    expect(Result.isFailure(bad) && bad.failure[0]?.key).toBe("trunk.gateways[0].transport")
    const noName = trunkFromProto({ ...t, name: "" }, "trunk")
    expect(Result.isFailure(noName) && noName.failure[0]?.key).toBe("trunk.name")
    const badPolicy = trunkFromProto({ ...t, redirects: 9 as RedirectPolicy }, "trunk")
    expect(Result.isFailure(badPolicy) && badPolicy.failure[0]?.key).toBe("trunk.redirects")
  })

  it("never throws and agrees with the schema on arbitrary gateways", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            host: fc.string({ maxLength: 20 }),
            port: fc.option(fc.integer({ min: 0, max: 70000 }), { nil: undefined }),
            transport: fc.constantFrom(
              Transport.TRANSPORT_UNSPECIFIED,
              Transport.TRANSPORT_UDP,
              Transport.TRANSPORT_TCP,
            ),
          }),
          { maxLength: 3 },
        ),
        (gateways) => {
          const proto = ProtoTrunk.fromPartial({ name: "t1", gateways })
          const ours = trunkFromProto(proto, "trunk")
          const schema = decodeTrunk({
            name: "t1",
            ...(gateways.length === 0
              ? {}
              : {
                  gateways: gateways.map((g) => ({
                    host: g.host,
                    ...(g.port === undefined ? {} : { port: g.port }),
                    ...(g.transport === Transport.TRANSPORT_UDP
                      ? { transport: "udp" }
                      : g.transport === Transport.TRANSPORT_TCP
                        ? { transport: "tcp" }
                        : {}),
                  })),
                }),
          })
          expect(Result.isSuccess(ours)).toBe(Result.isSuccess(schema))
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe("paging", () => {
  it("pages in key order without repeats or gaps, whatever the input order", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 7 }),
        (keys, size) => {
          const seen: Array<string> = []
          let token = ""
          for (let i = 0; i <= keys.length; i++) {
            const page = pageOf(keys, (k) => k, { pageSize: size, pageToken: token })
            if (Result.isFailure(page)) throw page.failure
            seen.push(...page.success.items)
            token = page.success.nextPageToken
            if (token === "") break
          }
          expect(seen).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
        },
      ),
      { numRuns: 200 },
    )
    const bad = pageOf(["a"], (k) => k, { pageSize: 1, pageToken: "not base64url!" })
    expect(Result.isFailure(bad) && bad.failure.field).toBe("page_token")
  })
})

describe("bearer token", () => {
  it("tells missing, malformed, wrong and right apart", () => {
    const token = "s3cret-token-0123456789"
    expect(checkBearer(undefined, token)).toBe("missing")
    expect(checkBearer("", token)).toBe("missing")
    expect(checkBearer(`Basic ${token}`, token)).toBe("malformed")
    expect(checkBearer("Bearer other-token-000000000", token)).toBe("wrong")
    expect(checkBearer(`Bearer ${token}x`, token)).toBe("wrong")
    expect(checkBearer(`bearer ${token}`, token)).toBe("ok")
  })
})

describe("configuration", () => {
  it("requires a token and names the variable of a bad value", () => {
    expect(() => loadConfig({})).toThrow(/^configuration B2BUA_ADMIN_TOKEN: required/)
    expect(() => loadConfig({ B2BUA_ADMIN_TOKEN: "short" })).toThrow(/B2BUA_ADMIN_TOKEN: expected 16-512/)
    expect(() =>
      loadConfig({ B2BUA_ADMIN_TOKEN: "a-long-enough-token", B2BUA_ADMIN_LISTEN: "nowhere" }),
    ).toThrow(/B2BUA_ADMIN_LISTEN: expected host:port/)
    expect(() =>
      loadConfig({ B2BUA_ADMIN_TOKEN: "a-long-enough-token", B2BUA_ADMIN_TLS_CERT_FILE: "/c" }),
    ).toThrow(/B2BUA_ADMIN_TLS_KEY_FILE/)
    expect(() => loadConfig({ B2BUA_ADMIN_TOKEN_FILE: "/nonexistent/token" })).toThrow(
      /B2BUA_ADMIN_TOKEN_FILE: cannot read/,
    )
    const c = loadConfig({ B2BUA_ADMIN_TOKEN: "a-long-enough-token" })
    expect(c.listen).toEqual({ host: "127.0.0.1", port: 50051 })
    expect(c.tls).toBeUndefined()
  })
})

describe("stored calls", () => {
  it("a value that is not a stored call is reported, never thrown", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          fc.json().map((j) => new TextEncoder().encode(j)),
        ),
        (bytes) => {
          expect(typeof decodeStoredCall("call.x", bytes)).toBe("string")
        },
      ),
      { numRuns: 300 },
    )
    expect(userOf("sip:+4420@example.com;user=phone")).toBe("+4420")
    expect(userOf("tel:+15551234")).toBe("+15551234")
    expect(userOf("sip:example.com")).toBe("")
  })
})
