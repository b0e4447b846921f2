/** 3xx on the B-leg (RFC 3261 §8.1.3.4) and REFER (RFC 3515) under the trunks' policies, on the pure machine. */
import { buildRequest, createResponse, type SipRequest, type SipResponse, serializeMessage } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type BTarget, type Call, startCall, stepCall } from "../src/index.js"
import { MAX_REDIRECTS } from "../src/Redirect.js"
import { guideInvite, testIdentity as id, sentOn as sent, testTarget, wire } from "./fixtures.js"

const dest: BTarget = { ...testTarget, failoverCodes: [408, 503] }

const redirect = (call: Call, status: number, contacts: ReadonlyArray<string>): SipResponse =>
  wire(
    createResponse(call.bInvite, status, {
      toTag: "redir1",
      headers: contacts.map((c) => ["Contact", c] as const),
    }),
  )

const answer = (call: Call): SipResponse =>
  wire(
    createResponse(call.bInvite, 200, {
      toTag: "callee1",
      headers: [["Contact", "<sip:callee@203.0.113.7:5070>"]],
    }),
  )

describe("3xx from the B-leg (RFC 3261 §8.1.3.4)", () => {
  it("refuse (the default): ACK on B, 480 to A naming the redirection, nothing of the Contact reaches A", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1, actions] = stepCall(c0, {
      _tag: "FromB",
      message: redirect(c0, 302, ["<sip:elsewhere@203.0.113.7>"]),
    })
    const [ack] = sent(actions, "SendB") as SipRequest[]
    expect([ack?.method, ack?.headerValues("Via")[0]]).toEqual(["ACK", c0.bInvite.headerValues("Via")[0]])
    const [toA] = sent(actions, "SendA") as SipResponse[]
    expect([toA?.status, toA?.reason]).toEqual([
      480,
      "Temporarily Unavailable (redirection 302 not followed)",
    ])
    expect(serializeMessage(toA!).toString("latin1")).not.toContain("203.0.113.7")
    expect(c1.phase).toBe("Ended")
  })

  it("refuse with the 3xx among the trunk's failover codes: the next target is tried", () => {
    const second: BTarget = { ...dest, trunk: "backup", host: "198.51.100.30" }
    const [c0] = startCall(guideInvite(), id, [{ ...dest, failoverCodes: [302] }, second])
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: redirect(c0, 302, ["<sip:x@203.0.113.7>"]) })
    expect(sent(actions, "SendA")).toEqual([])
    expect(sent(actions, "SendB").map((m) => (m as SipRequest).method)).toEqual(["ACK", "INVITE"])
    expect(c1.dest.host).toBe("198.51.100.30")
  })

  it("relay: the 3xx reaches A with the callee's Contacts (and q values) and the suite's tag", () => {
    const [c0] = startCall(guideInvite(), id, [{ ...dest, redirects: "relay" }])
    const [c1, actions] = stepCall(c0, {
      _tag: "FromB",
      message: redirect(c0, 302, ["<sip:first@203.0.113.7>;q=0.5", "<sip:second@203.0.113.8:5070>"]),
    })
    const [toA] = sent(actions, "SendA") as SipResponse[]
    expect(toA?.status).toBe(302)
    expect(toA?.toTag).toBe(c0.aTag)
    expect(toA?.contacts.map((c) => c.uri)).toEqual(["sip:first@203.0.113.7", "sip:second@203.0.113.8:5070"])
    expect(toA?.headerValues("Contact").join(",")).toContain("q=0.5")
    expect(c1.phase).toBe("Ended")
  })

  it("follow: the B-leg INVITE goes to the best Contact (q order) with a new branch and the next CSeq", () => {
    const [c0] = startCall(guideInvite(), id, [{ ...dest, redirects: "follow" }])
    const [c1, actions] = stepCall(c0, {
      _tag: "FromB",
      message: redirect(c0, 302, [
        "<sip:low@203.0.113.9>;q=0.1",
        "<sip:best@203.0.113.7:5070;transport=tcp>;q=0.9",
      ]),
    })
    expect(sent(actions, "SendA")).toEqual([])
    const [ack, invite] = sent(actions, "SendB") as SipRequest[]
    expect(ack?.method).toBe("ACK")
    expect(invite?.method).toBe("INVITE")
    expect(invite?.uri).toBe("sip:best@203.0.113.7:5070;transport=tcp")
    expect([invite?.callId, invite?.fromTag]).toEqual([c0.bCallId, c0.bFromTag])
    expect(invite?.cseq.seq).toBe(c0.bInvite.cseq.seq + 1)
    expect(invite?.headerValues("Via")[0]).not.toBe(c0.bInvite.headerValues("Via")[0])
    const sendB = actions.find((a) => a._tag === "SendB" && a.message === invite)
    expect(sendB).toMatchObject({ to: { host: "203.0.113.7", port: 5070 }, transport: "tcp" })
    // The redirected target answers: the call completes as usual.
    const [c2, answered] = stepCall(c1, { _tag: "FromB", message: answer(c1) })
    expect(c2.phase).toBe("Answered")
    expect((sent(answered, "SendA")[0] as SipResponse).status).toBe(200)
  })

  it("follow never loops: a Contact already tried, a host name, or past MAX_REDIRECTS ends in 480", () => {
    const [c0] = startCall(guideInvite(), id, [{ ...dest, redirects: "follow" }])
    const loop = stepCall(c0, { _tag: "FromB", message: redirect(c0, 302, [`<${c0.bInvite.uri}>`]) })
    expect((sent(loop[1], "SendA")[0] as SipResponse).status).toBe(480)
    const named = stepCall(c0, { _tag: "FromB", message: redirect(c0, 302, ["<sip:x@gw.example.net>"]) })
    expect((sent(named[1], "SendA")[0] as SipResponse).status).toBe(480)
    let call = c0
    for (let i = 0; i < MAX_REDIRECTS; i++) {
      const [next, actions] = stepCall(call, {
        _tag: "FromB",
        message: redirect(call, 301, [`<sip:hop${i}@203.0.113.${10 + i}>`]),
      })
      expect(sent(actions, "SendA")).toEqual([])
      call = next
    }
    const [, last] = stepCall(call, { _tag: "FromB", message: redirect(call, 302, ["<sip:z@203.0.113.99>"]) })
    expect((sent(last, "SendA")[0] as SipResponse).status).toBe(480)
  })

  it("follow is not used after early media reached A (the caller would hear two sessions)", () => {
    const [c0] = startCall(guideInvite(), id, [{ ...dest, redirects: "follow" }])
    const early = wire(
      createResponse(c0.bInvite, 183, {
        toTag: "callee1",
        body: Buffer.from("v=0\r\n"),
        contentType: "application/sdp",
      }),
    )
    const [c1] = stepCall(c0, { _tag: "FromB", message: early })
    const [, actions] = stepCall(c1, { _tag: "FromB", message: redirect(c1, 302, ["<sip:x@203.0.113.7>"]) })
    expect((sent(actions, "SendA")[0] as SipResponse).status).toBe(480)
  })
})

describe("REFER within a call (RFC 3515)", () => {
  const answered = (target: BTarget, refer?: "relay") => {
    const [c0] = startCall(guideInvite(), id, [target], undefined, refer === undefined ? {} : { refer })
    return stepCall(c0, {
      _tag: "FromB",
      message: wire(
        createResponse(c0.bInvite, 200, {
          toTag: "callee1",
          headers: [["Contact", "<sip:callee@198.51.100.20:5080>"]],
        }),
      ),
    })[0]
  }
  const referFromB = (call: Call): SipRequest =>
    wire(
      buildRequest({
        method: "REFER",
        uri: "sip:b2bua@192.0.2.10:5060",
        headers: [
          ["Via", "SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bK-refer1"],
          ["From", `<sip:2142622000@198.51.100.20>;tag=callee1`],
          ["To", `<sip:2142621000@192.0.2.10>;tag=${call.bFromTag}`],
          ["Call-ID", call.bCallId],
          ["CSeq", "1 REFER"],
          ["Contact", "<sip:callee@198.51.100.20:5080>"],
          ["Refer-To", "<sip:operator@198.51.100.50>"],
          ["Referred-By", "<sip:2142622000@198.51.100.20>"],
        ],
      }),
    )

  it("refused with 403 by default, nothing reaches the other leg", () => {
    const call = answered(dest)
    const [, actions] = stepCall(call, { _tag: "FromB", message: referFromB(call) })
    expect(sent(actions, "SendA")).toEqual([])
    const [refused] = sent(actions, "SendB") as SipResponse[]
    expect([refused?.status, refused?.reason]).toEqual([
      403,
      "Forbidden (REFER not accepted from this trunk)",
    ])
  })

  it("relay: into A's dialog with Refer-To and Referred-By; the 202 goes back to B", () => {
    const call = answered({ ...dest, refer: "relay" })
    const [c1, actions] = stepCall(call, { _tag: "FromB", message: referFromB(call) })
    const [toA] = sent(actions, "SendA") as SipRequest[]
    expect([toA?.method, toA?.callId, toA?.fromTag]).toEqual(["REFER", call.aInvite.callId, call.aTag])
    expect(toA?.headerValues("Refer-To")).toEqual(["<sip:operator@198.51.100.50>"])
    expect(toA?.headerValues("Referred-By")).toEqual(["<sip:2142622000@198.51.100.20>"])
    const accepted = wire(createResponse(toA!, 202))
    const [, back] = stepCall(c1, { _tag: "FromA", message: accepted })
    expect((sent(back, "SendB")[0] as SipResponse).status).toBe(202)
  })

  it("the caller's side follows the inbound trunk's policy", () => {
    const call = answered(dest, "relay")
    const refer = wire(
      buildRequest({
        method: "REFER",
        uri: "sip:b2bua@192.0.2.10:5060",
        headers: [
          ["Via", "SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-refer2"],
          ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
          ["To", `<sip:2142622000@Telcosipserver.com>;tag=${call.aTag}`],
          ["Call-ID", call.aInvite.callId],
          ["CSeq", "3 REFER"],
          ["Refer-To", "<sip:voicemail@172.16.1.20>"],
        ],
      }),
    )
    const [, actions] = stepCall(call, { _tag: "FromA", message: refer })
    expect((sent(actions, "SendB")[0] as SipRequest).method).toBe("REFER")
  })
})
