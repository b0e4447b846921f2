import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  buildRequest,
  createResponse,
  formatNameAddr,
  formatVia,
  parseMessage,
  parseMessageOrThrow,
  peekRouting,
  type SipRequest,
  serializeMessage,
} from "../../src/index.js"

const invite = readFileSync(fileURLToPath(new URL("../golden/guide/09-invite.sip", import.meta.url)))
const parseInvite = (): SipRequest => {
  const m = parseMessageOrThrow(invite)
  if (m.kind !== "request") throw new Error("expected a request")
  return m
}

describe("parseMessage", () => {
  it("decodes the hot headers of the guide's INVITE", () => {
    const m = parseInvite()
    expect(m.method).toBe("INVITE")
    expect(m.uri).toBe("sip:2142622000@Telcosipserver.com:5060")
    expect(m.topVia).toMatchObject({ protocol: "SIP/2.0", transport: "UDP", host: "172.16.1.10", port: 5060 })
    expect(m.from.displayName).toBe("Station 1000")
    expect(m.fromTag).toBe("18eb500690ed1-21")
    expect(m.toTag).toBeUndefined()
    expect(m.callId).toBe("bb-500690ed-0-21@172.16.1.10")
    expect(m.cseq).toEqual({ seq: 1, method: "INVITE" })
    expect(m.contacts.map((c) => c.uri)).toEqual(["sip:2142621000@172.16.1.10:5060"])
    expect(m.maxForwards).toBe(70)
    expect(m.contentType).toBe("application/sdp")
    expect(m.body.length).toBe(m.contentLength)
    expect(m.headerValues("P-Preferred-Identity")).toHaveLength(2)
    expect(m.headerList("Allow")).toEqual(["INVITE", "ACK", "CANCEL", "BYE", "UPDATE", "PRACK"])
  })

  it("returns the received bytes unchanged when nothing was edited", () => {
    expect(serializeMessage(parseInvite()).equals(invite)).toBe(true)
  })

  it("writes back only what a B2BUA edits", () => {
    const m = parseInvite()
    m.prependVia({
      protocol: "SIP/2.0",
      transport: "UDP",
      host: "192.0.2.1",
      port: 5060,
      params: [["branch", "z9hG4bKb2b1.x"]],
    })
    m.setToTag("b2b1.tag")
    m.setMaxForwards(69)
    const text = serializeMessage(m).toString("latin1")
    expect(text).toContain(
      "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKb2b1.x\r\nVia: SIP/2.0/UDP 172.16.1.10:5060",
    )
    expect(text).toContain("To: <sip:2142622000@Telcosipserver.com:5060>;tag=b2b1.tag\r\n")
    expect(text).toContain("Max-Forwards: 69\r\n")
    expect(text).toContain('P-Preferred-Identity: "2142621000" <sip:2142621000@Telcosipserver.com:5060>\r\n')
    expect(text.endsWith(m.body.toString("latin1"))).toBe(true)
  })

  it("names the defect of a malformed message", () => {
    const bad = (s: string) => {
      const r = parseMessage(Buffer.from(s))
      return r.ok ? "ok" : r.error.reason
    }
    const base =
      "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base}\r\n`)).toBe("ok")
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base}Max-Forwards: 256\r\n\r\n`)).toBe(
      "Bad Max-Forwards header: not an integer from 0 to 255",
    )
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base.replace("Call-ID: x\r\n", "")}\r\n`)).toBe(
      "Missing Call-ID header",
    )
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base}Bad Header: x\r\n\r\n`)).toBe(
      "Header field name is not a token",
    )
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base}`)).toBe("Missing empty line after the header fields")
    expect(bad(`INVITE sip:c@d SIP/2.0\r\n${base}NoColon\r\n\r\n`)).toBe("Header field without a colon")
    expect(bad("")).toBe("Empty message")
  })

  it("refuses more header fields than the limit", () => {
    const many = Array.from({ length: 300 }, (_, i) => `X-${i}: v\r\n`).join("")
    const r = parseMessage(
      Buffer.from(
        `OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\n${many}\r\n`,
      ),
    )
    expect(!r.ok && r.error.code).toBe("TooManyHeaders")
  })

  it("reads the routing facts without parsing the message", () => {
    const facts = peekRouting(invite)
    expect(facts).toEqual({
      kind: "request",
      method: "INVITE",
      status: undefined,
      callId: "bb-500690ed-0-21@172.16.1.10",
      cseq: 1,
      branch: "z9hG4bK-e14500690ed2-21",
      sentBy: "172.16.1.10:5060",
      fromTag: "18eb500690ed1-21",
      toTag: undefined,
    })
  })
})

describe("building messages", () => {
  it("creates a response that copies Via, From, To, Call-ID and CSeq (RFC 3261 §8.2.6.2)", () => {
    const req = parseInvite()
    const res = createResponse(req, 180, { toTag: "abc" })
    expect(res.status).toBe(180)
    expect(res.reason).toBe("Ringing")
    expect(res.vias.map(formatVia)).toEqual(req.vias.map(formatVia))
    expect(res.toTag).toBe("abc")
    expect(res.callId).toBe(req.callId)
    const again = parseMessageOrThrow(serializeMessage(res))
    expect(again.kind === "response" && again.status).toBe(180)
    expect(again.contentLength).toBe(0)
  })

  it("never tags a 100 Trying (RFC 3261 §8.2.6.1)", () => {
    expect(createResponse(parseInvite(), 100, { toTag: "abc" }).toTag).toBeUndefined()
  })

  it("builds a request with a correct Content-Length", () => {
    const body = Buffer.from("v=0\r\n")
    const req = buildRequest({
      method: "INVITE",
      uri: "sip:bob@192.0.2.4",
      headers: [
        ["Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK77"],
        ["Max-Forwards", "70"],
        ["From", "<sip:alice@192.0.2.1>;tag=9"],
        ["To", "<sip:bob@192.0.2.4>"],
        ["Call-ID", "abc@192.0.2.1"],
        ["CSeq", "1 INVITE"],
      ],
      body,
      contentType: "application/sdp",
    })
    const again = parseMessageOrThrow(serializeMessage(req))
    expect(again.contentLength).toBe(body.length)
    expect(again.contentType).toBe("application/sdp")
    expect(formatNameAddr(again.from)).toBe("<sip:alice@192.0.2.1>;tag=9")
  })
})
