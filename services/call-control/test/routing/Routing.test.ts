/** Routing rules, pure: number manipulation, trunk identification, the dial plan, gateway order, limits, health. */
import type { RoutingConfig, Trunk } from "@b2bua/contracts"
import { describe, expect, it } from "vitest"
import { HEALTHY, isAliveAnswer, recordPing } from "../../src/routing/GatewayHealth.js"
import { orderByPriorityAndWeight } from "../../src/routing/Gateways.js"
import { applyNumberRules } from "../../src/routing/NumberRules.js"
import { compileRoutingTable } from "../../src/routing/RoutingTable.js"
import { STALE_MS, TrunkLimits } from "../../src/routing/TrunkLimits.js"

describe("number rules", () => {
  it("strips, adds, then normalises to E.164", () => {
    const uk = { e164: { countryCode: "44" } }
    expect(applyNumberRules(uk, "02079460000")).toBe("+442079460000")
    expect(applyNumberRules(uk, "0033142278186")).toBe("+33142278186")
    expect(applyNumberRules(uk, "+15551234567")).toBe("+15551234567")
    expect(applyNumberRules({ stripPrefix: "9" }, "9012345")).toBe("012345")
    expect(applyNumberRules({ stripPrefix: "+", addPrefix: "00" }, "+4930123")).toBe("004930123")
    expect(
      applyNumberRules(
        { stripPrefix: "9", e164: { countryCode: "1", nationalPrefix: "1", internationalPrefix: "011" } },
        "912125551234",
      ),
    ).toBe("+12125551234")
  })

  it("drops RFC 3966 visual separators and leaves names alone", () => {
    expect(applyNumberRules({ addPrefix: "" }, "+1-212-555-1234")).toBe("+12125551234")
    expect(applyNumberRules({ addPrefix: "00" }, "alice")).toBe("alice")
    expect(applyNumberRules(undefined, "0-1")).toBe("0-1")
  })
})

const config: RoutingConfig = {
  trunks: [
    { name: "pbx", sources: ["10.1.0.0/16"], inboundNumbers: { e164: { countryCode: "49" } } },
    { name: "lab", sources: ["2001:db8::/32", "127.0.0.1"] },
    {
      name: "us",
      gateways: [{ host: "192.0.2.1" }, { host: "192.0.2.2", priority: 5 }],
      outboundNumbers: { stripPrefix: "+1" },
    },
    { name: "world", gateways: [{ host: "198.51.100.7", port: 5080, transport: "tcp" }] },
  ],
  routes: [
    { name: "us", prefix: "+1", trunks: ["us", "world"] },
    { name: "rest", prefix: "+", trunks: ["world"] },
    { name: "lab-only", prefix: "+4930", fromTrunks: ["lab"], trunks: ["us"] },
  ],
}

describe("routing table", () => {
  const table = compileRoutingTable(config)
  const decide = (sourceHost: string, called: string, usable = (_t: Trunk) => true) =>
    table.decide({ sourceHost, called, caller: "0301234", usable, random: () => 0 })

  it("identifies trunks by source address, IPv4, IPv6 and IPv4-mapped", () => {
    expect(table.identify("10.1.2.3")?.name).toBe("pbx")
    expect(table.identify("::ffff:10.1.200.1")?.name).toBe("pbx")
    expect(table.identify("2001:db8::5")?.name).toBe("lab")
    expect(table.identify("127.0.0.1")?.name).toBe("lab")
    expect(table.identify("127.0.0.2")).toBeUndefined()
    expect(table.identify("not-an-address")).toBeUndefined()
  })

  it("refuses unknown sources (403) and numbers without a route (404)", () => {
    expect(decide("203.0.113.9", "+1555")).toEqual({
      _tag: "Refused",
      status: 403,
      reason: "Forbidden (unknown source)",
    })
    expect(decide("10.1.0.1", "alice")).toMatchObject({
      _tag: "Refused",
      status: 404,
      reason: "Not Found (no route for alice)",
    })
  })

  it("takes the longest prefix after the inbound trunk's rules, then lists every gateway in order", () => {
    const d = decide("10.1.0.1", "+12125551234")
    expect(d._tag).toBe("Routed")
    if (d._tag !== "Routed") return
    expect(d.route.name).toBe("us")
    expect(d.attempts.map((a) => [a.trunk.name, a.gateway.host, a.called])).toEqual([
      ["us", "192.0.2.1", "2125551234"],
      ["us", "192.0.2.2", "2125551234"],
      ["world", "198.51.100.7", "+12125551234"],
    ])
    // E.164 on the way in: the caller's national number became international.
    expect(d.attempts[0]?.caller).toBe("+49301234")
    const national = decide("10.1.0.1", "0301234567")
    expect(national._tag === "Routed" && national.route.name).toBe("rest")
  })

  it("honours fromTrunks and skips trunks the caller says are unusable (limits)", () => {
    const fromLab = decide("127.0.0.1", "+4930555")
    expect(fromLab._tag === "Routed" && fromLab.route.name).toBe("lab-only")
    const fromPbx = decide("10.1.0.1", "030555")
    expect(fromPbx._tag === "Routed" && fromPbx.route.name).toBe("rest")
    const full = decide("10.1.0.1", "+1555", (t) => t.name !== "us")
    expect(full._tag === "Routed" && full.attempts.map((a) => a.trunk.name)).toEqual(["world"])
    expect(decide("10.1.0.1", "+44", () => false)).toMatchObject({ _tag: "Refused", status: 503 })
  })
})

describe("gateway order (RFC 2782)", () => {
  it("orders by priority, then by weight with the given random source", () => {
    const gws = [
      { host: "a", priority: 10, weight: 1 },
      { host: "b", priority: 0, weight: 0 },
      { host: "c", priority: 0, weight: 100 },
    ]
    expect(orderByPriorityAndWeight(gws, () => 0.5).map((g) => g.host)).toEqual(["c", "b", "a"])
    expect(orderByPriorityAndWeight(gws, () => 0).map((g) => g.host)).toEqual(["c", "b", "a"])
    const even: ReadonlyArray<{ host: string; weight?: number }> = [{ host: "x" }, { host: "y" }]
    expect(orderByPriorityAndWeight(even, () => 0.9).map((g) => g.host)).toEqual(["y", "x"])
    expect(orderByPriorityAndWeight(even, () => 0.1).map((g) => g.host)).toEqual(["x", "y"])
  })
})

describe("trunk limits", () => {
  const trunk: Trunk = { name: "t", limits: { maxCalls: 2, maxCps: 1 } }
  it("counts concurrent calls and refills the call-rate bucket over time", () => {
    const limits = new TrunkLimits()
    expect(limits.check(trunk, 0)).toEqual({ ok: true })
    limits.take(trunk, 0)
    expect(limits.check(trunk, 100)).toEqual({
      ok: false,
      reason: "trunk t at its limit of 1 calls per second",
    })
    expect(limits.check(trunk, 1000).ok).toBe(true)
    limits.take(trunk, 1000)
    expect(limits.check(trunk, 5000)).toEqual({ ok: false, reason: "trunk t at its limit of 2 calls" })
    limits.release("t")
    expect(limits.check(trunk, 5000).ok).toBe(true)
    expect(limits.active("t")).toBe(1)
  })

  it("holds for the cluster: the other instances' reported calls and rates count, until their reports go stale", () => {
    const wide: Trunk = { name: "t", limits: { maxCalls: 3, maxCps: 10 } }
    const limits = new TrunkLimits()
    limits.take(wide, 0)
    limits.observe({ v: 1, instance: "cc2", trunks: [{ name: "t", active: 2, lastSecond: 2 }] }, 0)
    expect(limits.check(wide, 100)).toEqual({ ok: false, reason: "trunk t at its limit of 3 calls" })
    // The peer's calls ended (its next report), or the peer went silent for longer than STALE_MS.
    limits.observe({ v: 1, instance: "cc2", trunks: [{ name: "t", active: 1, lastSecond: 0 }] }, 500)
    expect(limits.check(wide, 600).ok).toBe(true)
    limits.observe({ v: 1, instance: "cc2", trunks: [{ name: "t", active: 2, lastSecond: 0 }] }, 700)
    expect(limits.check(wide, 800).ok).toBe(false)
    expect(limits.check(wide, 700 + STALE_MS + 1).ok).toBe(true)
  })

  it("refills this instance's call-rate bucket with what the trunk's rate leaves after the others' rates", () => {
    const rated: Trunk = { name: "r", limits: { maxCps: 4 } }
    const limits = new TrunkLimits()
    limits.observe({ v: 1, instance: "cc2", trunks: [{ name: "r", active: 0, lastSecond: 3 }] }, 0)
    let admitted = 0
    for (let t = 0; t <= 2000; t += 50) {
      if (limits.check(rated, t).ok) {
        limits.take(rated, t)
        admitted++
      }
      if (t % 500 === 0)
        limits.observe({ v: 1, instance: "cc2", trunks: [{ name: "r", active: 0, lastSecond: 3 }] }, t)
    }
    // 4 per second minus the peer's 3 leaves 1 per second here: the initial token plus two refills.
    expect(admitted).toBe(3)
  })

  it("reports its own calls in progress and the calls started in the last second", () => {
    const limits = new TrunkLimits()
    limits.take(trunk, 0)
    limits.take({ name: "free" }, 0)
    limits.take(trunk, 900)
    expect(limits.report(950)).toEqual([{ name: "t", active: 2, lastSecond: 2 }])
    limits.release("t")
    limits.release("t")
    expect(limits.report(1500)).toEqual([{ name: "t", active: 0, lastSecond: 1 }])
    expect(limits.report(2000)).toEqual([])
  })
})

describe("gateway health", () => {
  it("takes a hop out after downAfter missed pings and back on any live answer", () => {
    const once = recordPing(HEALTHY, false, 2)
    expect(once.up).toBe(true)
    const twice = recordPing(once, false, 2)
    expect(twice).toEqual({ up: false, failures: 2 })
    expect(recordPing(twice, true, 2)).toEqual(HEALTHY)
    expect([200, 404, 405, 503, 408].map(isAliveAnswer)).toEqual([true, true, true, false, false])
  })
})
