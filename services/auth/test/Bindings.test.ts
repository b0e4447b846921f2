import { parseMessage, type SipRequest } from "@b2bua/sip"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { aorOfHeader, aorOfUri } from "../src/Aor.js"
import {
  applyRegister,
  type Binding,
  type BindingSource,
  contactValue,
  type RegisterInput,
  type RegistrarPolicy,
  sameContactUri,
} from "../src/Bindings.js"
import { readRegister } from "../src/RegisterRequest.js"

const policy: RegistrarPolicy = { minExpires: 60, maxExpires: 7200, defaultExpires: 3600, maxContacts: 5 }
const source: BindingSource = { host: "198.51.100.7", port: 40000, transport: "udp" }
const T0 = 1_700_000_000_000

const register = (lines: ReadonlyArray<string>): SipRequest => {
  const text = [
    "REGISTER sip:example.com SIP/2.0",
    "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKabc",
    "From: <sip:alice@example.com>;tag=1",
    "To: <sip:alice@example.com>",
    "Max-Forwards: 70",
    ...lines,
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n")
  const parsed = parseMessage(Buffer.from(text, "latin1"))
  if (!parsed.ok || parsed.message.kind !== "request") throw new Error("test REGISTER does not parse")
  return parsed.message
}

const input = (lines: ReadonlyArray<string>, now = T0): RegisterInput => {
  const read = readRegister(register(lines), source, now)
  if ("reason" in read) throw new Error(read.reason)
  return read
}

const apply = (current: ReadonlyArray<Binding>, lines: ReadonlyArray<string>, now = T0) =>
  applyRegister(current, input(lines, now), policy)

const updated = (current: ReadonlyArray<Binding>, lines: ReadonlyArray<string>, now = T0) => {
  const outcome = apply(current, lines, now)
  if (outcome._tag !== "Updated") throw new Error(`expected Updated, got ${outcome._tag}`)
  return outcome.bindings
}

describe("registrar bindings (RFC 3261 §10.3)", () => {
  it("adds several contacts for one AOR with the Expires header and per-contact expires", () => {
    const b = updated(
      [],
      [
        "Call-ID: c1",
        "CSeq: 1 REGISTER",
        "Contact: <sip:alice@10.0.0.2:5060>;q=0.5, <sip:alice@10.0.0.3>;expires=120",
        "Expires: 600",
      ],
    )
    expect(b.map((x) => [x.uri, x.expiresAt - T0, x.q])).toEqual([
      ["sip:alice@10.0.0.2:5060", 600_000, 0.5],
      ["sip:alice@10.0.0.3", 120_000, 1],
    ])
    expect(b[0]?.source).toEqual(source)
    expect(contactValue(b[0]!, T0 + 100_500)).toBe("<sip:alice@10.0.0.2:5060>;expires=500;q=0.5")
  })

  it("uses the default when neither the contact nor the request says, and shortens to the maximum", () => {
    const [a] = updated([], ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:a@h>"])
    expect(a!.expiresAt - T0).toBe(3_600_000)
    const [b] = updated([], ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:a@h>", "Expires: 99999"])
    expect(b!.expiresAt - T0).toBe(7_200_000)
  })

  it("§10.3 step 7: 423 with Min-Expires for an interval above zero and below the minimum", () => {
    expect(apply([], ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:a@h>;expires=30"])).toEqual({
      _tag: "IntervalTooBrief",
      minExpires: 60,
    })
  })

  it("refreshes with a higher CSeq and refuses a CSeq not higher in the same Call-ID", () => {
    const first = updated([], ["Call-ID: c1", "CSeq: 5 REGISTER", "Contact: <sip:a@h>", "Expires: 100"])
    const later = T0 + 50_000
    const refreshed = updated(first, ["Call-ID: c1", "CSeq: 6 REGISTER", "Contact: <sip:a@h>"], later)
    expect(refreshed[0]!.expiresAt).toBe(later + 3_600_000)
    expect(apply(refreshed, ["Call-ID: c1", "CSeq: 6 REGISTER", "Contact: <sip:a@h>"], later)._tag).toBe(
      "OutOfOrder",
    )
    expect(apply(refreshed, ["Call-ID: c1", "CSeq: 4 REGISTER", "Contact: <sip:a@h>"], later)._tag).toBe(
      "OutOfOrder",
    )
    // Another Call-ID (another device or a rebooted one) may update regardless of its CSeq.
    expect(updated(refreshed, ["Call-ID: c2", "CSeq: 1 REGISTER", "Contact: <sip:a@h>"], later)).toHaveLength(
      1,
    )
  })

  it("an aborted update changes nothing (atomic)", () => {
    const first = updated([], ["Call-ID: c1", "CSeq: 5 REGISTER", "Contact: <sip:a@h>"])
    const outcome = apply(first, ["Call-ID: c1", "CSeq: 3 REGISTER", "Contact: <sip:b@h>, <sip:a@h>"])
    expect(outcome._tag).toBe("OutOfOrder")
  })

  it("removes one binding with expires=0 and all with Contact: * and Expires: 0", () => {
    const two = updated([], ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:a@h>, <sip:b@h>"])
    const one = updated(two, ["Call-ID: c1", "CSeq: 2 REGISTER", "Contact: <sip:a@h>;expires=0"])
    expect(one.map((b) => b.uri)).toEqual(["sip:b@h"])
    expect(updated(two, ["Call-ID: c9", "CSeq: 1 REGISTER", "Contact: *", "Expires: 0"])).toEqual([])
    expect(apply(two, ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: *", "Expires: 0"])._tag).toBe(
      "OutOfOrder",
    )
    expect(apply(two, ["Call-ID: c1", "CSeq: 9 REGISTER", "Contact: *"])).toEqual({
      _tag: "BadRequest",
      reason: "Contact: * requires Expires: 0",
    })
  })

  it("a REGISTER without Contact queries; expired bindings are ignored", () => {
    const b = updated([], ["Call-ID: c1", "CSeq: 1 REGISTER", "Contact: <sip:a@h>", "Expires: 60"])
    expect(updated(b, ["Call-ID: c1", "CSeq: 2 REGISTER"], T0 + 59_000)).toHaveLength(1)
    expect(updated(b, ["Call-ID: c1", "CSeq: 2 REGISTER"], T0 + 60_000)).toHaveLength(0)
  })

  it("bounds the contacts per AOR", () => {
    const contacts = Array.from({ length: 6 }, (_, i) => `<sip:a@h${i}>`).join(", ")
    expect(apply([], ["Call-ID: c1", "CSeq: 1 REGISTER", `Contact: ${contacts}`])).toEqual({
      _tag: "TooManyContacts",
      max: 5,
    })
  })

  it("compares contact URIs by RFC 3261 §19.1.4", () => {
    expect(sameContactUri("sip:alice@EXAMPLE.com", "sip:alice@example.com")).toBe(true)
    expect(sameContactUri("sip:Alice@example.com", "sip:alice@example.com")).toBe(false)
    expect(sameContactUri("sip:a@h", "sip:a@h:5060")).toBe(false)
    expect(sameContactUri("sip:a@h;transport=tcp", "sip:a@h")).toBe(false)
    expect(sameContactUri("sip:a@h;foo=1", "sip:a@h")).toBe(true)
    expect(sameContactUri("sip:%61@h", "sip:a@h")).toBe(true)
  })

  it("names malformed expires and q parameters", () => {
    expect(
      readRegister(register(["Call-ID: c", "CSeq: 1 REGISTER", "Contact: <sip:a@h>;q=2"]), source, T0),
    ).toEqual({
      reason: "Bad Contact q parameter",
    })
    expect(
      readRegister(register(["Call-ID: c", "CSeq: 1 REGISTER", "Contact: <sip:a@h>;expires=x"]), source, T0),
    ).toEqual({ reason: "Bad Contact expires parameter" })
    expect(readRegister(register(["Call-ID: c", "CSeq: 1 REGISTER", "Expires: soon"]), source, T0)).toEqual({
      reason: "Bad Expires header",
    })
  })

  it("AORs: sip:user@domain, domain lower-cased, SIPS folded", () => {
    expect(aorOfUri("sips:alice@Example.COM:5061;transport=tls")?.text).toBe("sip:alice@example.com")
    expect(aorOfHeader('"Alice" <sip:alice@example.com>;tag=9')?.user).toBe("alice")
    expect(aorOfUri("sip:example.com")).toBeUndefined()
    expect(aorOfUri("not a uri")).toBeUndefined()
  })

  it("property: any sequence of REGISTERs keeps the bound and never throws", () => {
    const contact = fc.record({
      uri: fc.constantFrom("sip:a@h", "sip:b@h", "sip:c@h:5070", "sip:A@H"),
      expires: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
      q: fc.constantFrom(0, 0.5, 1),
    })
    const step = fc.record({
      callId: fc.constantFrom("c1", "c2"),
      cseq: fc.integer({ min: 1, max: 20 }),
      star: fc.boolean(),
      contacts: fc.array(contact, { maxLength: 4 }),
      expiresHeader: fc.option(fc.integer({ min: 0, max: 10_000 }), { nil: undefined }),
      dt: fc.integer({ min: 0, max: 600_000 }),
    })
    fc.assert(
      fc.property(fc.array(step, { maxLength: 20 }), (steps) => {
        let bindings: ReadonlyArray<Binding> = []
        let now = T0
        for (const s of steps) {
          now += s.dt
          const outcome = applyRegister(
            bindings,
            {
              callId: s.callId,
              cseq: s.cseq,
              star: s.star,
              contacts: s.contacts.map((c) => ({ ...c, params: "" })),
              expiresHeader: s.expiresHeader,
              source,
              now,
            },
            policy,
          )
          if (outcome._tag === "Updated") {
            expect(outcome.bindings.length).toBeLessThanOrEqual(policy.maxContacts)
            for (const b of outcome.bindings) {
              expect(b.expiresAt).toBeGreaterThan(now)
              expect(b.expiresAt - now).toBeLessThanOrEqual(policy.maxExpires * 1000)
            }
            bindings = outcome.bindings
          }
        }
      }),
    )
  })

  it("property: any Contact and Expires text is read or named as bad, never thrown", () => {
    const value = fc.stringMatching(/^[ -~]{0,24}$/)
    fc.assert(
      fc.property(value, value, value, (expires, q, contactExpires) => {
        const text = [
          "REGISTER sip:example.com SIP/2.0",
          "Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKabc",
          "From: <sip:alice@example.com>;tag=1",
          "To: <sip:alice@example.com>",
          "Call-ID: c",
          "CSeq: 1 REGISTER",
          `Contact: <sip:a@h>;q=${q};expires=${contactExpires}`,
          `Expires: ${expires}`,
          "Content-Length: 0",
          "",
          "",
        ].join("\r\n")
        const parsed = parseMessage(Buffer.from(text, "latin1"))
        if (!parsed.ok || parsed.message.kind !== "request") return
        const read = readRegister(parsed.message, source, T0)
        if ("reason" in read) expect(read.reason).toMatch(/^Bad /)
        else expect(applyRegister([], read, policy)._tag).toBeTypeOf("string")
      }),
      { numRuns: 500 },
    )
  })
})
