import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  authSubjects,
  decodeIdentifyReply,
  decodeIdentifyRequest,
  decodeLocateReply,
  decodeLocateRequest,
  decodeOutboundStateReply,
  encodeAuthPayload,
  type IdentifyReply,
  type IdentifyRequest,
  type LocateReply,
} from "../src/index.js"

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

describe("auth contract v1", () => {
  it("builds its subjects", () => {
    expect(authSubjects.identify()).toBe("b2b.v1.auth.identify")
    expect(authSubjects.locate()).toBe("b2b.v1.auth.locate")
    expect(authSubjects.outboundState()).toBe("b2b.v1.auth.outbound.state")
    expect(authSubjects.blocks()).toBe("b2b.v1.auth.blocks")
  })

  it("round-trips an identify request and every reply form", () => {
    const request: IdentifyRequest = {
      v: 1,
      source: { host: "192.0.2.1", port: 5060 },
      method: "INVITE",
      from: "<sip:alice@example.com>;tag=1",
      requestUri: "sip:+15551234@example.com",
      authorization: 'Digest username="alice"',
    }
    expect(decodeIdentifyRequest(encodeAuthPayload(request))).toEqual(request)
    const replies: ReadonlyArray<IdentifyReply> = [
      { v: 1, trunk: "carrier-a" },
      { v: 1, user: "sip:alice@example.com" },
      { v: 1, challenge: { status: 407, header: 'Digest realm="x", nonce="y"' } },
      { v: 1, refuse: { status: 403, reason: "Too many failures" } },
      { v: 1, drop: { reason: "scanner" } },
    ]
    for (const reply of replies) expect(decodeIdentifyReply(encodeAuthPayload(reply))).toEqual(reply)
  })

  it("names the field that is wrong", () => {
    expect(
      decodeIdentifyRequest(json({ v: 1, source: { host: "h", port: 70000 }, method: "INVITE" })),
    ).toMatch(/^source\.port/)
    expect(decodeIdentifyRequest(json({ v: 2 }))).toMatch(/^v/)
    expect(decodeLocateRequest(json({ v: 1 }))).toMatch(/^aor/)
    expect(decodeIdentifyReply(new Uint8Array([0xff]))).toBe("payload is not UTF-8 JSON")
    expect(decodeIdentifyReply(json({ v: 1, refuse: { status: 500, reason: "x" } }))).toBeTypeOf("string")
  })

  it("round-trips a locate reply", () => {
    const reply: LocateReply = {
      v: 1,
      contacts: [
        {
          uri: "sip:alice@10.0.0.2:5060",
          source: {
            host: "198.51.100.7",
            port: 40123,
            transport: "udp",
            edge: "e1",
            listener: "udp:0.0.0.0:5060",
          },
          expiresAt: 1_800_000_000_000,
          q: 1,
        },
      ],
    }
    expect(decodeLocateReply(encodeAuthPayload(reply))).toEqual(reply)
    expect(decodeOutboundStateReply(json({ v: 1, registrations: [{ trunk: "t", state: "Nope" }] }))).toMatch(
      /^registrations\.0\.state/,
    )
  })

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.jsonValue(), (bytes, value) => {
        for (const decode of [
          decodeIdentifyRequest,
          decodeIdentifyReply,
          decodeLocateRequest,
          decodeLocateReply,
        ]) {
          decode(bytes)
          decode(json(value))
        }
      }),
    )
  })
})
