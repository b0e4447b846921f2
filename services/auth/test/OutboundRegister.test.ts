import { Authorization, parseMessage, type SipResponse, serializeMessage } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import type { OutboundRegistration } from "../src/Config.js"
import { computeHa1 } from "../src/Digest.js"
import { challengeValues, verifyCredentials } from "../src/DigestAuth.js"
import {
  answerChallenge,
  buildRegister,
  contactUri,
  grantedExpires,
  minExpiresOf,
  pickChallenge,
  refreshDelayMs,
  registrarUri,
  retryDelayMs,
} from "../src/OutboundRegister.js"

const registration: OutboundRegistration = {
  trunk: "carrier",
  registrar: { host: "192.0.2.50", port: 5060 },
  transport: "udp",
  aor: "sip:suite@carrier.example",
  username: "suite",
  password: "pw",
  expires: 600,
}
const local = { host: "203.0.113.5", port: 5060 }

const response = (lines: ReadonlyArray<string>): SipResponse => {
  const text = [
    lines[0],
    "Via: SIP/2.0/UDP 203.0.113.5:5060;branch=z9hG4bKb2baau1.abcdef",
    "From: <sip:suite@carrier.example>;tag=1",
    "To: <sip:suite@carrier.example>;tag=2",
    "Call-ID: x",
    "CSeq: 1 REGISTER",
    ...lines.slice(1),
    "Content-Length: 0",
    "",
    "",
  ].join("\r\n")
  const parsed = parseMessage(Buffer.from(text, "latin1"))
  if (!parsed.ok || parsed.message.kind !== "response") throw new Error("bad test response")
  return parsed.message
}

describe("outbound REGISTER (the suite as a UAC, RFC 3261 §10.2)", () => {
  it("builds a REGISTER to the carrier's domain with our Contact, Via branch and Expires", () => {
    const r = buildRegister({
      registration,
      local,
      callId: "cid",
      fromTag: "ft",
      cseq: 3,
      branch: "z9hG4bKb2baau1.abcdef12",
      expires: 600,
    })
    expect(registrarUri(registration)).toBe("sip:carrier.example")
    expect(r.uri).toBe("sip:carrier.example")
    expect(r.header("Contact")).toBe("<sip:suite@203.0.113.5:5060>")
    expect(r.header("Expires")).toBe("600")
    expect(r.topVia.params).toContainEqual(["branch", "z9hG4bKb2baau1.abcdef12"])
    const reparsed = parseMessage(serializeMessage(r))
    expect(reparsed.ok).toBe(true)
  })

  it("answers a challenge so that a digest server accepts it (SHA-256 preferred over MD5)", () => {
    const key = new TextEncoder().encode("carrier-key-0123456789")
    const challenges = challengeValues({
      realm: "carrier.example",
      algorithms: ["MD5", "SHA-256"],
      nonceKey: key,
      stale: false,
      now: 1000,
      random: new Uint8Array(8),
    })
    const picked = pickChallenge(
      response(["SIP/2.0 401 Unauthorized", ...challenges.map((c) => `WWW-Authenticate: ${c}`)]),
    )
    expect(picked?.header).toBe("Authorization")
    expect(picked?.challenge.algorithm).toBe("SHA-256")
    const value = answerChallenge({
      challenge: picked!.challenge,
      username: "suite",
      password: "pw",
      method: "REGISTER",
      uri: "sip:carrier.example",
      nc: 1,
      cnonce: "abc",
    })
    const verdict = verifyCredentials(
      Authorization.parse(value),
      (a) => computeHa1(a, "suite", "carrier.example", "pw"),
      { method: "REGISTER", nonceKey: key, nonceLifetimeMs: 60_000, now: 2000, realm: "carrier.example" },
    )
    expect(verdict).toMatchObject({ _tag: "Verified", username: "suite", nc: 1 })
  })

  it("takes a 407's Proxy-Authenticate and ignores schemes it cannot answer", () => {
    const p = pickChallenge(
      response([
        "SIP/2.0 407 Proxy Authentication Required",
        'Proxy-Authenticate: Digest realm="r", nonce="n"',
      ]),
    )
    expect(p?.header).toBe("Proxy-Authorization")
    expect(p?.challenge.algorithm).toBe("MD5")
    expect(
      pickChallenge(response(["SIP/2.0 401 Unauthorized", 'WWW-Authenticate: Basic realm="r"'])),
    ).toBeUndefined()
    expect(
      pickChallenge(response(["SIP/2.0 401 Unauthorized", "WWW-Authenticate: Digest ,,,"])),
    ).toBeUndefined()
  })

  it("reads the granted interval from our Contact, else Expires, else what was asked (§10.2.4)", () => {
    const contact = contactUri({ registration, local })
    expect(
      grantedExpires(
        response(["SIP/2.0 200 OK", `Contact: <${contact}>;expires=120, <sip:other@h>;expires=9`]),
        contact,
        600,
      ),
    ).toBe(120)
    expect(grantedExpires(response(["SIP/2.0 200 OK", "Expires: 300"]), contact, 600)).toBe(300)
    expect(grantedExpires(response(["SIP/2.0 200 OK"]), contact, 600)).toBe(600)
    expect(minExpiresOf(response(["SIP/2.0 423 Interval Too Brief", "Min-Expires: 900"]))).toBe(900)
  })

  it("refreshes before expiry and backs off exponentially up to a cap", () => {
    expect(refreshDelayMs(3600)).toBe(3_060_000)
    expect(refreshDelayMs(4)).toBe(2000)
    expect(refreshDelayMs(0)).toBe(1000)
    expect([1, 2, 3, 4, 10].map((n) => retryDelayMs(n, 5000, 60_000))).toEqual([
      5000, 10_000, 20_000, 40_000, 60_000,
    ])
  })
})
