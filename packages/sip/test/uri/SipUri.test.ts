import { describe, expect, it } from "vitest"
import { formatUri, parseUri, SipParseError, unescapeUri } from "../../src/index.js"

describe("parseUri (RFC 3261 §19.1, RFC 3966)", () => {
  it("parses a SIP URI with user, password, port, parameters and headers", () => {
    const uri = parseUri(
      "sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=project%20x&priority=urgent",
    )
    expect(uri).toMatchObject({
      _tag: "SipUri",
      scheme: "sips",
      user: "alice",
      password: "secret",
      host: "[2001:db8::10]",
      port: 5061,
      params: [
        ["transport", "tcp"],
        ["lr", null],
      ],
      headers: "subject=project%20x&priority=urgent",
    })
    expect(formatUri(uri)).toBe(
      "sips:alice:secret@[2001:db8::10]:5061;transport=tcp;lr?subject=project%20x&priority=urgent",
    )
  })

  it("keeps ';' and '?' of the user part in the user part (RFC 4475 §3.1.1.9)", () => {
    const uri = parseUri("sip:user;par=u%40example.net@example.com")
    expect(uri._tag === "SipUri" && uri.user).toBe("user;par=u%40example.net")
    expect(uri._tag === "SipUri" && uri.host).toBe("example.com")
  })

  it("parses TEL URIs with visual separators and parameters", () => {
    expect(parseUri("tel:+1-201-555-0123;phone-context=example.com")).toEqual({
      _tag: "TelUri",
      scheme: "tel",
      number: "+1-201-555-0123",
      params: [["phone-context", "example.com"]],
    })
  })

  it("keeps other schemes verbatim", () => {
    expect(parseUri("urn:service:sos")).toEqual({ _tag: "OtherUri", scheme: "urn", rest: "service:sos" })
  })

  it("unescapes once, never recursively", () => {
    expect(unescapeUri("a%2541")).toBe("a%41")
  })

  it.each([
    ["sip:"],
    ["sip:@host"],
    ["sip:host:99999"],
    ["sip:us er@host"],
    ["sip:a@[::1"],
    ["nocolon"],
    ["sip:a%G1@h"],
  ])("refuses %s with a SipParseError", (text) => {
    expect(() => parseUri(text)).toThrow(SipParseError)
  })
})
