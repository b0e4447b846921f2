import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  Accept,
  Allow,
  Authorization,
  Event,
  Expires,
  MinSE,
  PAssertedIdentity,
  Privacy,
  parseMessageOrThrow,
  RAck,
  Reason,
  RetryAfter,
  RSeq,
  readHeader,
  readHeaderList,
  SessionExpiresHeader,
  SipParseError,
  SubscriptionState,
  Supported,
  Warning,
  WWWAuthenticate,
} from "../../src/index.js"

const golden = (name: string) =>
  parseMessageOrThrow(readFileSync(fileURLToPath(new URL(`../golden/guide/${name}`, import.meta.url))))

describe("typed headers", () => {
  it("reads the digest challenge of the guide's 401 (RFC 2617 §3.2.1)", () => {
    expect(readHeader(golden("02-register-401.sip"), WWWAuthenticate)).toMatchObject({
      scheme: "Digest",
      realm: "CygnusIPS.nec.co.jp",
      nonce: "cdd234bb9ce8bdb1870339930c862133",
      opaque: "f56a5772ab4fc6e06f0c566358840ee3",
      stale: false,
      algorithm: "MD5",
      qop: ["auth"],
    })
  })

  it("reads the digest credentials of the guide's REGISTER (RFC 2617 §3.2.2)", () => {
    expect(readHeader(golden("03-register-auth.sip"), Authorization)).toMatchObject({
      username: "necsipuser",
      realm: "CygnusIPS.nec.co.jp",
      uri: "sip:172.16.1.20:5080",
      qop: "auth",
      nc: "00000001",
      cnonce: "24937064",
      response: "8b119773f0476b92827a8c9c06b36966",
    })
  })

  it("reads the INVITE's lists, session timer and identity headers", () => {
    const invite = golden("09-invite.sip")
    expect(readHeaderList(invite, Allow)).toEqual(["INVITE", "ACK", "CANCEL", "BYE", "UPDATE", "PRACK"])
    expect(readHeaderList(invite, Supported)).toEqual(["timer"])
    expect(readHeader(invite, SessionExpiresHeader)).toEqual({
      seconds: 1800,
      refresher: undefined,
      params: [],
    })
    expect(readHeader(invite, Privacy)).toEqual(["none"])
    expect(readHeader(golden("12-invite-200.sip"), SessionExpiresHeader)?.refresher).toBe("uac")
  })

  it("reads Event and Subscription-State (RFC 6665)", () => {
    expect(readHeader(golden("07-notify.sip"), Event)?.package).toBe("X-NECSIPEXT2CTRL")
    expect(SubscriptionState.parse("terminated;reason=timeout;retry-after=30")).toMatchObject({
      state: "terminated",
      reason: "timeout",
      retryAfter: 30,
    })
  })

  it.each([
    [RSeq, "988789", 988789],
    [RAck, "776656 1 INVITE", { rseq: 776656, cseq: 1, method: "INVITE" }],
    [MinSE, "90;lr", 90],
    [Expires, "99999999999", 2 ** 32 - 1],
    [RetryAfter, "18000;duration=3600", { seconds: 18000, comment: undefined, duration: 3600 }],
    [
      RetryAfter,
      "120 (I'm in a meeting)",
      { seconds: 120, comment: "I'm in a meeting", duration: undefined },
    ],
    [
      Warning,
      '370 devnull "Choose a bigger pipe"',
      { code: 370, agent: "devnull", text: "Choose a bigger pipe" },
    ],
    [
      Reason,
      'Q.850;cause=16;text="Normal call clearing"',
      { protocol: "Q.850", cause: 16, text: "Normal call clearing" },
    ],
  ] as const)("%s parses %s", (codec, text, expected) => {
    expect((codec.parse as (v: string) => unknown)(text)).toMatchObject(expected as object)
  })

  it("reads P-Asserted-Identity lists and Accept ranges", () => {
    const m = parseMessageOrThrow(
      Buffer.from(
        'OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: 1\r\nCSeq: 1 OPTIONS\r\nP-Asserted-Identity: "Alice" <sip:alice@x>, <tel:+15551234>\r\nAccept: application/sdp;level=1, text/*\r\n\r\n',
      ),
    )
    expect(readHeaderList(m, PAssertedIdentity).map((n) => n.uri)).toEqual(["sip:alice@x", "tel:+15551234"])
    expect(readHeaderList(m, Accept).map((r) => `${r.type}/${r.subtype}`)).toEqual([
      "application/sdp",
      "text/*",
    ])
  })

  it("format → parse round-trips", () => {
    const challenge = WWWAuthenticate.parse(
      'Digest realm="r", nonce="n", opaque="o", stale=true, algorithm=SHA-256, qop="auth,auth-int"',
    )
    expect(WWWAuthenticate.parse(WWWAuthenticate.format(challenge))).toEqual(challenge)
    const cred = Authorization.parse(
      'Digest username="u", realm="r", nonce="n", uri="sip:a@b", response="abc", algorithm=MD5, cnonce="c", qop=auth, nc=00000002',
    )
    expect(Authorization.parse(Authorization.format(cred))).toEqual(cred)
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        (rseq, cseq) => {
          expect(RAck.parse(RAck.format({ rseq, cseq, method: "INVITE" }))).toEqual({
            rseq,
            cseq,
            method: "INVITE",
          })
        },
      ),
    )
  })

  it("refuses malformed values with a SipParseError naming the header", () => {
    expect(() => Authorization.parse('Digest username="u", qop=auth')).toThrow(/Bad Authorization header/)
    expect(() => RSeq.parse("0")).toThrow(/Bad RSeq header/)
    expect(() => SessionExpiresHeader.parse("1800;refresher=both")).toThrow(/refresher must be uac or uas/)
  })

  it("never throws anything but SipParseError on arbitrary values", () => {
    const codecs = [
      Accept,
      Allow,
      Authorization,
      Event,
      Expires,
      MinSE,
      PAssertedIdentity,
      Privacy,
      RAck,
      Reason,
      RetryAfter,
      RSeq,
      SessionExpiresHeader,
      SubscriptionState,
      WWWAuthenticate,
      Warning,
    ]
    fc.assert(
      fc.property(fc.constantFrom(...codecs), fc.string({ maxLength: 120 }), (codec, text) => {
        try {
          ;(codec.parse as (v: string) => unknown)(text)
        } catch (e) {
          expect(e).toBeInstanceOf(SipParseError)
        }
      }),
      { numRuns: 3000 },
    )
  })
})
