import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeRoute, decodeRoutingConfig, decodeTrunk, describeProblems } from "../src/Routing.js"

const config = {
  trunks: [
    { name: "carrier-in", sources: ["192.0.2.0/24", "::1"] },
    {
      name: "carrier-out",
      gateways: [
        { host: "gw1.example.net" },
        { host: "127.0.0.1", port: 5080, transport: "udp", priority: 10 },
      ],
      limits: { maxCalls: 10, maxCps: 2.5 },
      failover: { codes: [408, 503], timeoutMs: 2000 },
    },
  ],
  routes: [{ name: "default", prefix: "", trunks: ["carrier-out"] }],
}

describe("routing schema", () => {
  it("accepts a complete configuration", () => {
    const decoded = decodeRoutingConfig(config)
    expect(Result.isSuccess(decoded)).toBe(true)
  })

  it("names the key path of every defect", () => {
    const decoded = decodeRoutingConfig({
      trunks: [{ name: "Bad Name", gateways: [{ host: "gw", port: 70000, colour: "red" }] }],
      routes: [],
    })
    expect(Result.isFailure(decoded)).toBe(true)
    if (Result.isFailure(decoded)) {
      const keys = decoded.failure.map((p) => p.key)
      expect(keys).toContain("trunks[0].name")
      expect(keys).toContain("trunks[0].gateways[0].port")
      expect(keys).toContain("trunks[0].gateways[0].colour")
      expect(describeProblems(decoded.failure)).toMatch(
        /trunks\[0\]\.gateways\[0\]\.port: Expected a value between 1 and 65535/,
      )
    }
  })

  it("refuses routes to unknown trunks, trunks without gateways and duplicate names", () => {
    const decoded = decodeRoutingConfig({
      trunks: [{ name: "a" }, { name: "a" }],
      routes: [{ name: "r", prefix: "+1", trunks: ["a", "zz"] }],
    })
    expect(Result.isFailure(decoded) && decoded.failure.map((p) => `${p.key}: ${p.reason}`)).toEqual([
      'trunks[1].name: duplicate trunk "a"',
      'routes[0].trunks[0]: trunk "a" has no gateways',
      'routes[0].trunks[1]: unknown trunk "zz"',
    ])
  })

  it("decodes single trunks and routes (the admin API's unit of change)", () => {
    expect(Result.isSuccess(decodeTrunk({ name: "t1", sources: ["10.0.0.0/8"] }))).toBe(true)
    expect(Result.isFailure(decodeTrunk({ name: "t1", sources: ["not an address"] }))).toBe(true)
    expect(Result.isFailure(decodeRoute({ name: "r1", prefix: "1", trunks: [] }))).toBe(true)
    expect(Result.isFailure(decodeRoute({ name: "r1", prefix: "12a", trunks: ["t"] }))).toBe(true)
  })
})
