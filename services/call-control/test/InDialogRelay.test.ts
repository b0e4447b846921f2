/** UPDATE, INFO and NOTIFY relayed between the legs' dialogs, with their final responses, in the pure machine. */
import { buildRequest, createResponse, type SipRequest, type SipResponse } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, startCall, stepCall } from "../src/index.js"
import { guideInvite, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

const invite = guideInvite
const dest = testTarget
const id = testIdentity
const sent = sentOn

const answered = (): Call => {
  const [c0] = startCall(invite(), id, [dest])
  const ok = wire(
    createResponse(c0.bInvite, 200, {
      toTag: "callee1",
      headers: [["Contact", "<sip:callee@198.51.100.20:5080>"]],
    }),
  )
  return stepCall(c0, { _tag: "FromB", message: ok })[0]
}

const fromA = (
  call: Call,
  method: string,
  seq: number,
  headers: ReadonlyArray<readonly [string, string]> = [],
  body = "",
) =>
  wire(
    buildRequest({
      method,
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", `SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-${method}${seq}`],
        ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
        ["To", `<sip:2142622000@Telcosipserver.com>;tag=${call.aTag}`],
        ["Call-ID", call.aInvite.callId],
        ["CSeq", `${seq} ${method}`],
        ...headers,
      ],
      ...(body === "" ? {} : { body: Buffer.from(body), contentType: "application/sdp" }),
    }),
  )

describe("in-dialog requests relayed between the legs", () => {
  it("an UPDATE from A with SDP goes into the B-leg dialog; B's 200 with SDP comes back to A", () => {
    const c1 = answered()
    const update = fromA(
      c1,
      "UPDATE",
      5,
      [["Session-Expires", "1800"]],
      "v=0\r\no=- 1 2 IN IP4 172.16.1.10\r\n",
    )
    const [c2, actions] = stepCall(c1, { _tag: "FromA", message: update })
    const [relayed] = sent(actions, "SendB") as SipRequest[]
    expect([relayed?.method, relayed?.callId, relayed?.toTag, relayed?.cseq.seq]).toEqual([
      "UPDATE",
      c1.bCallId,
      "callee1",
      2,
    ])
    expect(relayed?.body.toString()).toContain("172.16.1.10")
    expect(relayed?.headerValues("Via")[0]).toContain("192.0.2.10")
    // A retransmits (UDP): the same relayed copy goes out again, nothing new is created.
    const [c3, again] = stepCall(c2, { _tag: "FromA", message: update })
    expect(sent(again, "SendB")).toEqual([relayed])
    expect(c3.relays).toHaveLength(1)
    const ok = wire(
      createResponse(relayed!, 200, {
        body: Buffer.from("v=0\r\nanswer\r\n"),
        contentType: "application/sdp",
      }),
    )
    const [c4, back] = stepCall(c3, { _tag: "FromB", message: ok })
    const [toA] = sent(back, "SendA") as SipResponse[]
    expect([toA?.status, toA?.callId, toA?.cseq.seq, toA?.body.toString()]).toEqual([
      200,
      c1.aInvite.callId,
      5,
      "v=0\r\nanswer\r\n",
    ])
    expect(c4.relays).toHaveLength(0)
  })

  it("an INFO and a NOTIFY from B reach A in A's dialog with their package headers; a 4xx comes back", () => {
    const c1 = answered()
    const info = wire(
      buildRequest({
        method: "NOTIFY",
        uri: "sip:b2bua@192.0.2.10:5060",
        headers: [
          ["Via", "SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bK-n1"],
          ["From", "<sip:callee@198.51.100.20>;tag=callee1"],
          ["To", `<sip:x@192.0.2.10>;tag=${c1.bFromTag}`],
          ["Call-ID", c1.bCallId],
          ["CSeq", "7 NOTIFY"],
          ["Event", "refer"],
          ["Subscription-State", "active;expires=60"],
        ],
        body: Buffer.from("SIP/2.0 200 OK\r\n"),
        contentType: "message/sipfrag",
      }),
    )
    const [c2, actions] = stepCall(c1, { _tag: "FromB", message: info })
    const [toA] = sent(actions, "SendA") as SipRequest[]
    expect([
      toA?.method,
      toA?.callId,
      toA?.fromTag,
      toA?.headerValues("Event")[0],
      toA?.headerValues("Subscription-State")[0],
      toA?.contentType,
    ]).toEqual(["NOTIFY", c1.aInvite.callId, c1.aTag, "refer", "active;expires=60", "message/sipfrag"])
    const [, back] = stepCall(c2, { _tag: "FromA", message: wire(createResponse(toA!, 489)) })
    const [toB] = sent(back, "SendB") as SipResponse[]
    expect([toB?.status, toB?.callId, toB?.cseq.seq]).toEqual([489, c1.bCallId, 7])
  })

  it("before B answered with a tag, an UPDATE from A gets 500 with Retry-After; after the call, 481", () => {
    const [c0] = startCall(invite(), id, [dest])
    const [, early] = stepCall(c0, { _tag: "FromA", message: fromA(c0, "UPDATE", 2) })
    const [refusal] = sent(early, "SendA") as SipResponse[]
    expect([refusal?.status, refusal?.headerValues("Retry-After")[0]]).toEqual([500, "1"])
    const ending: Call = { ...answered(), phase: "Ending" }
    const [, late] = stepCall(ending, { _tag: "FromA", message: fromA(ending, "INFO", 3) })
    expect((sent(late, "SendA")[0] as SipResponse).status).toBe(481)
  })
})
