/** Validation (RFC 3261 §8.2, §16.3) with the RFC 4475 messages that need it (§3.3). */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  checkBranch,
  mergedRequestKey,
  parseMessageOrThrow,
  type RequestPolicy,
  type SipRequest,
  validateRequest,
} from "../../src/index.js"

const torture = (file: string): SipRequest => {
  const m = parseMessageOrThrow(
    readFileSync(
      fileURLToPath(new URL(`../../../../../shared/conformance/rfc4475/${file}`, import.meta.url)),
    ),
  )
  if (m.kind !== "request") throw new Error("expected a request")
  return m
}

const b2bua: RequestPolicy = {
  allowedMethods: [
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "OPTIONS",
    "PRACK",
    "UPDATE",
    "INFO",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "REGISTER",
    "MESSAGE",
  ],
  supportedExtensions: ["100rel", "timer", "replaces"],
  acceptedContentTypes: ["application/sdp"],
  uriSchemes: ["sip", "sips", "tel"],
  forwards: true,
}

describe("validateRequest", () => {
  it.each([
    ["unkscm.dat", 416, /Unsupported URI scheme nobodyknowsthisscheme/],
    ["novelsc.dat", 416, /Unsupported URI scheme soap.beep/],
    ["unksm2.dat", 400, /REGISTER To is not a SIP or SIPS address-of-record/],
    ["bext01.dat", 420, /Bad Extension: nothingSupportsThis, nothingSupportsThisEither/],
    ["invut.dat", 415, /Unsupported body type application\/unknownformat/],
    ["sdp01.dat", 406, /Accept does not include application\/sdp/],
    ["zeromf.dat", 483, /Max-Forwards is 0/],
  ])("RFC 4475 %s → %i", (file, status, reason) => {
    const failure = validateRequest(torture(file), b2bua)
    expect(failure?.status).toBe(status)
    expect(failure?.reason).toMatch(reason)
  })

  it("RFC 4475 §3.3.5: 420 lists the unsupported option tags in Unsupported", () => {
    expect(validateRequest(torture("bext01.dat"), b2bua)?.headers).toEqual([
      ["Unsupported", "nothingSupportsThis, nothingSupportsThisEither"],
    ])
  })

  it("§8.2.1: an unknown method gets 501 with Allow, a known one not handled gets 405", () => {
    const intmeth = validateRequest(torture("intmeth.dat"), b2bua)
    expect(intmeth?.status).toBe(501)
    expect(intmeth?.headers[0]?.[0]).toBe("Allow")
    expect(validateRequest(torture("cparam01.dat"), { ...b2bua, allowedMethods: ["INVITE"] })?.status).toBe(
      405,
    )
  })

  it("accepts well-formed requests it can process", () => {
    for (const file of [
      "esc01.dat",
      "escnull.dat",
      "lwsdisp.dat",
      "cparam01.dat",
      "cparam02.dat",
      "regescrt.dat",
      "inv2543.dat",
    ]) {
      expect(validateRequest(torture(file), b2bua)).toBeUndefined()
    }
  })

  it("RFC 4475 §3.3.11: an endpoint (not forwarding) processes Max-Forwards 0", () => {
    expect(validateRequest(torture("zeromf.dat"), { ...b2bua, forwards: false })).toBeUndefined()
  })

  it("RFC 4475 §3.2.1: a branch that is only the magic cookie is refused", () => {
    expect(checkBranch(torture("badbranch.dat"))?.reason).toBe("Via branch is only the magic cookie")
    expect(checkBranch(torture("esc01.dat"))).toBeUndefined()
  })

  it("§8.2.2.2: merged-request keys exist only for requests without To-tag", () => {
    expect(mergedRequestKey(torture("esc01.dat"))).toMatch(/\|/)
    expect(mergedRequestKey(torture("wsinv.dat"))).toBeUndefined()
  })
})
