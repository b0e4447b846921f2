/**
 * The reference guide's traces, rebuilt as wire bytes (golden/guide/README.md lists every correction):
 * each parses, serializes back byte for byte, and its typed headers say what the guide says.
 */
import { createHash } from "node:crypto"
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseMessageOrThrow, type SipMessage, serializeMessage } from "../../src/index.js"

const dir = fileURLToPath(new URL("./guide/", import.meta.url))
const files = readdirSync(dir).filter((f) => f.endsWith(".sip"))
const load = (name: string): SipMessage => parseMessageOrThrow(readFileSync(dir + name))

const summary = (m: SipMessage) => ({
  start: m.kind === "request" ? m.method : m.status,
  cseq: `${m.cseq.seq} ${m.cseq.method}`,
  callId: m.callId,
  fromTag: m.fromTag,
  toTag: m.toTag,
  branch: m.topVia.params.find(([n]) => n === "branch")?.[1],
})

describe("reference guide golden files", () => {
  it("holds all 17 messages of the guide's traces", () => {
    expect(files).toHaveLength(17)
  })

  for (const file of files) {
    it(`${file} parses and serializes back byte-exact`, () => {
      const bytes = readFileSync(dir + file)
      const m = parseMessageOrThrow(bytes)
      expect(serializeMessage(m).equals(bytes)).toBe(true)
      expect(m.body.length).toBe(m.contentLength)
      // An edit forces a rebuild from the fields, which must reproduce the same message.
      m.setMaxForwards(m.maxForwards ?? 70)
      expect(parseMessageOrThrow(serializeMessage(m)).fields.map((f) => f.value)).toEqual(m.fields.map((f) => f.value))
    })
  }

  it("the REGISTER / 401 / REGISTER / 200 exchange", () => {
    expect(summary(load("01-register.sip"))).toEqual({
      start: "REGISTER",
      cseq: "156928335 REGISTER",
      callId: "d824c4d8b3fc59b@172.16.1.30",
      fromTag: "d486690f7126f7c",
      toTag: undefined,
      branch: "z9hG4bKdf39f5ccd",
    })
    const challenge = load("02-register-401.sip")
    expect(challenge.kind === "response" && challenge.status).toBe(401)
    expect(challenge.header("WWW-Authenticate")).toContain('realm="CygnusIPS.nec.co.jp"')
    const retry = load("03-register-auth.sip")
    expect(retry.cseq.seq).toBe(156928336)
    expect(retry.callId).toBe("d824c4d8b3fc59b@172.16.1.30")
    const ok = load("04-register-200.sip")
    expect(ok.contacts[0]?.params).toEqual([["expires", "203"]])
  })

  it("the Authorization response is the MD5 digest for the documented password", () => {
    const md5 = (s: string) => createHash("md5").update(s).digest("hex")
    const ha1 = md5("necsipuser:CygnusIPS.nec.co.jp:necsippass")
    const ha2 = md5("REGISTER:sip:172.16.1.20:5080")
    const expected = md5(`${ha1}:cdd234bb9ce8bdb1870339930c862133:00000001:24937064:auth:${ha2}`)
    expect(load("03-register-auth.sip").header("Authorization")).toContain(`response="${expected}"`)
  })

  it("SUBSCRIBE and NOTIFY carry their event package and state", () => {
    const sub = load("05-subscribe.sip")
    expect(sub.header("Event")).toBe("X-NECSIPEXT2CTRL")
    expect(sub.header("Expires")).toBe("3627")
    const notify = load("07-notify.sip")
    expect(notify.header("Subscription-State")).toBe("active")
    expect(notify.body.toString()).toBe("Event-Fkey=8:speaker\r\n")
  })

  it("the INVITE dialog: 100 untagged, 180 and 200 tagged, ACK and BYE in the dialog", () => {
    expect(summary(load("10-invite-100.sip")).toTag).toBeUndefined()
    for (const f of ["11-invite-180.sip", "12-invite-200.sip", "13-ack.sip", "14-bye.sip", "15-bye-200.sip"]) {
      const m = load(f)
      expect([m.callId, m.fromTag, m.toTag]).toEqual(["bb-500690ed-0-21@172.16.1.10", "18eb500690ed1-21", "3c83500690ed0-17"])
    }
    expect(load("13-ack.sip").cseq).toEqual({ seq: 1, method: "ACK" })
    expect(load("14-bye.sip").cseq).toEqual({ seq: 2, method: "BYE" })
    const answer = load("12-invite-200.sip")
    expect(answer.contentType).toBe("application/sdp")
    expect(answer.body.toString()).toContain("m=audio 10008 RTP/AVP 0 101")
    expect(load("09-invite.sip").body.toString()).toContain("m=audio 10006 RTP/AVP 0 18 101")
  })
})
