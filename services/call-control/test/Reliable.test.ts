/** RFC 3262 across the legs: reliable provisionals, PRACK relayed with its body, or answered by the suite. */
import {
  buildRequest,
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, startCall, stepCall } from "../src/index.js"
import { guideInviteText, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

/** The guide's INVITE, with or without `Supported: 100rel`. */
const invite = (with100rel: boolean) =>
  parseMessageOrThrow(
    Buffer.from(
      with100rel ? guideInviteText.replace("\r\nCSeq:", "\r\nSupported: 100rel\r\nCSeq:") : guideInviteText,
      "latin1",
    ),
  ) as SipRequest
const dest = testTarget
const id = testIdentity
const sent = sentOn

const reliable183 = (call: Call, rseq: number) =>
  wire(
    createResponse(call.bInvite, 183, {
      toTag: "callee1",
      headers: [
        ["Require", "100rel"],
        ["RSeq", String(rseq)],
        ["Contact", "<sip:callee@198.51.100.20:5080>"],
      ],
      body: Buffer.from("v=0\r\nanswer\r\n"),
      contentType: "application/sdp",
    }),
  )

const prackFromA = (call: Call, rack: string, seq = 2) =>
  wire(
    buildRequest({
      method: "PRACK",
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", `SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-prack${seq}`],
        ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
        ["To", `<sip:2142622000@Telcosipserver.com>;tag=${call.aTag}`],
        ["Call-ID", call.aInvite.callId],
        ["CSeq", `${seq} PRACK`],
        ["RAck", rack],
      ],
      body: Buffer.from("v=0\r\nnew-offer\r\n"),
      contentType: "application/sdp",
    }),
  )

describe("reliable provisional responses (RFC 3262)", () => {
  it("A supports 100rel: the 183 goes to A reliably (own RSeq, retransmitted), A's PRACK reaches B with its body, B's 200 comes back", () => {
    const [c0] = startCall(invite(true), id, [dest])
    expect(c0.bInvite.headerValues("Supported")).toContain("100rel")
    const [c1, a1] = stepCall(c0, { _tag: "FromB", message: reliable183(c0, 77) })
    const [toA] = sent(a1, "SendA") as SipResponse[]
    expect(toA?.status).toBe(183)
    expect(toA?.headerValues("Require")).toEqual(["100rel"])
    const aRSeq = Number(toA?.headerValues("RSeq")[0])
    expect(aRSeq).toBe(c1.aRSeq)
    expect(a1).toContainEqual({ _tag: "StartTimer", timer: "P", delayMs: 500 })
    expect(sent(a1, "SendB")).toEqual([]) // no PRACK to B until A's
    // §3: retransmitted with T1 doubling until the PRACK.
    const [c2, a2] = stepCall(c1, { _tag: "TimerFired", timer: "P" })
    expect(sent(a2, "SendA")).toEqual([toA])
    expect(a2).toContainEqual({ _tag: "StartTimer", timer: "P", delayMs: 1000 })
    // A PRACK with a wrong RSeq: 481.
    const [, bad] = stepCall(c2, { _tag: "FromA", message: prackFromA(c2, `${aRSeq + 5} 1 INVITE`) })
    expect((sent(bad, "SendA")[0] as SipResponse).status).toBe(481)
    const prack = prackFromA(c2, `${aRSeq} 1 INVITE`)
    const [c3, a3] = stepCall(c2, { _tag: "FromA", message: prack })
    const [toB] = sent(a3, "SendB") as SipRequest[]
    expect([
      toB?.method,
      toB?.callId,
      toB?.toTag,
      toB?.headerValues("RAck")[0],
      toB?.body.toString(),
    ]).toEqual(["PRACK", c0.bCallId, "callee1", `77 ${c0.bInvite.cseq.seq} INVITE`, "v=0\r\nnew-offer\r\n"])
    expect(c3.reliable).toBeUndefined()
    expect(stepCall(c3, { _tag: "TimerFired", timer: "P" })[1]).toEqual([])
    // A retransmits its PRACK: the same PRACK to B again.
    expect(sent(stepCall(c3, { _tag: "FromA", message: prack })[1], "SendB")).toEqual([toB])
    const ok = wire(
      createResponse(toB!, 200, {
        body: Buffer.from("v=0\r\nnew-answer\r\n"),
        contentType: "application/sdp",
      }),
    )
    const [, a4] = stepCall(c3, { _tag: "FromB", message: ok })
    const [okToA] = sent(a4, "SendA") as SipResponse[]
    expect([okToA?.status, okToA?.cseq.method, okToA?.cseq.seq, okToA?.body.toString()]).toEqual([
      200,
      "PRACK",
      2,
      "v=0\r\nnew-answer\r\n",
    ])
  })

  it("A without 100rel: the suite PRACKs B itself and relays the 183 unreliably; B's retransmission gets the PRACK again", () => {
    const [c0] = startCall(invite(false), id, [dest])
    const provisional = reliable183(c0, 9)
    const [c1, a1] = stepCall(c0, { _tag: "FromB", message: provisional })
    const [toA] = sent(a1, "SendA") as SipResponse[]
    expect([
      toA?.status,
      toA?.headerValues("Require"),
      toA?.headerValues("RSeq"),
      toA?.body.toString(),
    ]).toEqual([183, [], [], "v=0\r\nanswer\r\n"])
    const [prack] = sent(a1, "SendB") as SipRequest[]
    expect([prack?.method, prack?.headerValues("RAck")[0]]).toEqual([
      "PRACK",
      `9 ${c0.bInvite.cseq.seq} INVITE`,
    ])
    const [, again] = stepCall(c1, { _tag: "FromB", message: provisional })
    expect(sent(again, "SendB")).toEqual([prack])
    expect(sent(again, "SendA")).toEqual([])
  })
})
