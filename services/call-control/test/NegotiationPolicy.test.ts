/** What the negotiator is told of a call's trunks: codecs of the outbound trunk, bypass only when all agree. */
import type { Trunk } from "@b2bua/contracts"
import { describe, expect, it } from "vitest"
import { negotiationPolicy } from "../src/media/NegotiationPolicy.js"

const carrier: Trunk = { name: "carrier", codecs: { allow: ["PCMA"], order: ["PCMA"] }, media: "bypass" }
const pbx: Trunk = { name: "pbx", codecs: { deny: ["G729"] } }

describe("negotiationPolicy", () => {
  it("takes the outbound trunk's codec policy, else the inbound trunk's", () => {
    expect(negotiationPolicy(pbx, carrier)).toEqual({ allow: ["PCMA"], order: ["PCMA"] })
    expect(negotiationPolicy(pbx, undefined)).toEqual({ deny: ["G729"] })
    expect(negotiationPolicy(undefined, undefined)).toEqual({})
  })

  it("lets media bypass the relay only when every trunk of the call says bypass", () => {
    expect(negotiationPolicy(pbx, carrier).bypass).toBeUndefined()
    expect(negotiationPolicy({ ...pbx, media: "anchor" }, carrier).bypass).toBeUndefined()
    expect(negotiationPolicy({ ...pbx, media: "bypass" }, carrier).bypass).toBe(true)
    expect(negotiationPolicy(undefined, carrier).bypass).toBe(true)
  })
})
