/**
 * Retransmissions across the legs in the pure Call machine (what the `-lost 10` end-to-end test relies
 * on): a retransmitted INVITE from A gets the latest response again, and a 2xx that A never ACKs ends
 * the session on both legs.
 */
import { buildRequest, createResponse, type SipRequest, type SipResponse } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, startCall, stepCall, T1 } from "../src/index.js"
import { guideInvite, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

const fromB = (call: Call, status: number) =>
  stepCall(call, {
    _tag: "FromB",
    message: wire(
      createResponse(call.bInvite, status, {
        toTag: "callee1",
        headers: [["Contact", "<sip:callee@198.51.100.20:5080>"]],
      }),
    ),
  })

const statuses = (messages: ReadonlyArray<SipRequest | SipResponse>) =>
  messages.map((m) => (m.kind === "response" ? m.status : m.method))

describe("a retransmitted INVITE from A (RFC 3261 §17.2.1)", () => {
  it("gets the most recent provisional response, then the final one", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const again = wire(guideInvite())
    expect(statuses(sentOn(stepCall(c0, { _tag: "FromA", message: again })[1], "SendA"))).toEqual([100])
    const [ringing] = fromB(c0, 180)
    const [, onRetransmit] = stepCall(ringing, { _tag: "FromA", message: again })
    const [resent] = sentOn(onRetransmit, "SendA")
    expect(resent?.kind === "response" && [resent.status, resent.toTag]).toEqual([180, c0.aTag])
    const [answered] = fromB(ringing, 200)
    expect(statuses(sentOn(stepCall(answered, { _tag: "FromA", message: again })[1], "SendA"))).toEqual([200])
    // Nothing goes to B: the B-leg has its own transaction (the suite retransmits there with Timer A).
    expect(sentOn(stepCall(ringing, { _tag: "FromA", message: again })[1], "SendB")).toEqual([])
  })
})

describe("a 2xx that A never ACKs (RFC 3261 §13.3.1.4)", () => {
  it("is retransmitted for 64*T1, then the session ends with a BYE on both legs", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    let [call] = fromB(c0, 200)
    let fired = 0
    let actions = stepCall(call, { _tag: "TimerFired", timer: "R" })[1]
    while (actions.some((a) => a._tag === "StartTimer" && a.timer === "R") && fired < 100) {
      ;[call, actions] = stepCall(call, { _tag: "TimerFired", timer: "R" })
      fired++
    }
    expect(call.aRetransmit).toBeGreaterThanOrEqual(64 * T1)
    expect(call.phase).toBe("Ending")
    const byeA = sentOn(actions, "SendA")[0]
    const byeB = sentOn(actions, "SendB")[0]
    expect(byeA?.kind === "request" && [byeA.method, byeA.headerValues("Reason")[0]]).toEqual([
      "BYE",
      'SIP;cause=408;text="no ACK for the 2xx"',
    ])
    expect(byeB?.kind === "request" && [byeB.method, byeB.callId]).toEqual(["BYE", c0.bCallId])
  })

  it("an ACK in time stops the retransmissions and nothing is torn down", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const [answered] = fromB(c0, 200)
    const ack = wire(
      buildRequest({
        method: "ACK",
        uri: "sip:b2bua@192.0.2.10:5060",
        headers: [
          ["Via", "SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-ack"],
          ["From", answered.aInvite.headerValues("From")[0]!],
          ["To", `<sip:2142622000@Telcosipserver.com>;tag=${answered.aTag}`],
          ["Call-ID", answered.aInvite.callId],
          ["CSeq", "1 ACK"],
        ],
      }),
    )
    const [acked] = stepCall(answered, { _tag: "FromA", message: ack })
    expect(stepCall(acked, { _tag: "TimerFired", timer: "R" })).toEqual([acked, []])
  })
})
