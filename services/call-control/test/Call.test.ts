/** The pure Call machine, message by message, on the reference guide's INVITE. */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { InstanceId } from "@b2bua/contracts"
import {
  buildRequest,
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import {
  type BTarget,
  type Call,
  type CallAction,
  type CallIdentity,
  startCall,
  stepCall,
} from "../src/index.js"

const guideInvite = () =>
  parseMessageOrThrow(
    readFileSync(
      fileURLToPath(new URL("../../../packages/sip/test/golden/guide/09-invite.sip", import.meta.url)),
    ),
  ) as SipRequest

const id: CallIdentity = {
  owner: { kind: "callControl", instance: InstanceId("cc1") },
  random: "abc123",
  local: { host: "192.0.2.10", port: 5060 },
}

const dest: BTarget = {
  trunk: "out",
  host: "198.51.100.20",
  port: 5080,
  transport: "udp",
  called: "2142622000",
  caller: "2142621000",
  failoverCodes: [408, 503],
  noAnswerMs: 8000,
  drop: [],
}

const sentTo = (actions: ReadonlyArray<CallAction>, side: "SendA" | "SendB") =>
  actions
    .filter((a): a is Extract<CallAction, { _tag: typeof side }> => a._tag === side)
    .map((a) => a.message)

const bResponse = (call: Call, status: number, body = Buffer.alloc(0)): SipResponse =>
  parseMessageOrThrow(
    serializeMessage(
      createResponse(call.bInvite, status, {
        toTag: "callee1",
        headers: status < 300 ? [["Contact", "<sip:callee@198.51.100.20:5080>"]] : [],
        body,
        ...(body.length > 0 ? { contentType: "application/sdp" } : {}),
      }),
    ),
  ) as SipResponse

describe("Call (B2BUA core)", () => {
  it("answers 100 at once and places an independent B-leg INVITE (topology hiding)", () => {
    const a = guideInvite()
    const [call, actions] = startCall(a, id, [dest])
    const [trying] = sentTo(actions, "SendA")
    expect(trying?.kind === "response" && trying.status).toBe(100)
    const [b] = sentTo(actions, "SendB") as SipRequest[]
    const text = serializeMessage(b!).toString("latin1")
    expect(b!.uri).toBe("sip:2142622000@198.51.100.20:5080")
    expect(b!.callId).not.toBe(a.callId)
    expect(b!.fromTag).not.toBe(a.fromTag)
    expect(b!.maxForwards).toBe(69)
    // Nothing of the A-leg's addresses, Via, Contact or Call-ID reaches the B-leg.
    for (const leak of ["172.16.1.10", "Telcosipserver.com", a.callId, "z9hG4bK-e14500690ed2-21"])
      expect(text).not.toContain(leak)
    expect(b!.body.equals(a.body)).toBe(true)
    expect(b!.contentType).toBe("application/sdp")
    expect(call.phase).toBe("Calling")
  })

  it("relays 180 and 200 to A with the suite's tag and Contact, and ACKs the 200 on B", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1, a1] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 180) })
    const ringing = sentTo(a1, "SendA")[0] as SipResponse
    expect(ringing.status).toBe(180)
    expect(ringing.toTag).toBe(c0.aTag)
    const [c2, a2] = stepCall(c1, { _tag: "FromB", message: bResponse(c1, 200, Buffer.from("v=0\r\n")) })
    expect(c2.phase).toBe("Answered")
    const ack = sentTo(a2, "SendB")[0] as SipRequest
    expect(ack.method).toBe("ACK")
    expect(ack.uri).toBe("sip:callee@198.51.100.20:5080")
    expect(ack.toTag).toBe("callee1")
    const ok = sentTo(a2, "SendA")[0] as SipResponse
    expect(ok.status).toBe(200)
    expect(ok.contacts[0]?.uri).toBe("sip:b2bua@192.0.2.10:5060")
    expect(serializeMessage(ok).toString("latin1")).not.toContain("198.51.100.20")
  })

  it("ends a call: BYE from A → 200 to A and BYE to B; B's 200 ends it", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 200) })
    const bye = parseMessageOrThrow(
      Buffer.from(
        `BYE sip:b2bua@192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-bye\r\nFrom: <sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21\r\nTo: <sip:2142622000@Telcosipserver.com>;tag=${c0.aTag}\r\nCall-ID: bb-500690ed-0-21@172.16.1.10\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`,
      ),
    ) as SipRequest
    const [c2, a2] = stepCall(c1, { _tag: "FromA", message: bye })
    expect((sentTo(a2, "SendA")[0] as SipResponse).status).toBe(200)
    const byeB = sentTo(a2, "SendB")[0] as SipRequest
    expect([byeB.method, byeB.callId, byeB.toTag, byeB.cseq.seq]).toEqual(["BYE", c0.bCallId, "callee1", 2])
    const [c3, a3] = stepCall(c2, {
      _tag: "FromB",
      message: parseMessageOrThrow(serializeMessage(createResponse(byeB, 200))) as SipResponse,
    })
    expect(c3.phase).toBe("Ended")
    expect(a3).toEqual([{ _tag: "Ended", reason: "BYE completed" }])
  })

  it("relays a rejection (486) to A and ACKs it on B with the INVITE's branch", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 486) })
    expect((sentTo(actions, "SendA")[0] as SipResponse).status).toBe(486)
    const ack = sentTo(actions, "SendB")[0] as SipRequest
    expect(ack.topVia).toEqual(c0.bInvite.topVia)
    expect(c1.phase).toBe("Ended")
  })

  it("CANCEL from A: 200 to the CANCEL, 487 to the INVITE, CANCEL on B with the same branch", () => {
    const a = guideInvite()
    const [c0] = startCall(a, id, [dest])
    const cancel = buildRequest({
      method: "CANCEL",
      uri: a.uri,
      headers: ["Via", "From", "To", "Call-ID"]
        .map((h) => [h, a.headerValues(h)[0]!] as const)
        .concat([["CSeq", "1 CANCEL"]]),
    })
    const [c1, actions] = stepCall(c0, { _tag: "FromA", message: cancel })
    expect(sentTo(actions, "SendA").map((m) => (m as SipResponse).status)).toEqual([200, 487])
    const cancelB = sentTo(actions, "SendB")[0] as SipRequest
    expect(cancelB.method).toBe("CANCEL")
    expect(cancelB.topVia).toEqual(c0.bInvite.topVia)
    expect(c1.phase).toBe("Ending")
    // The callee's 487 is ACKed, and A (already answered 487) hears nothing more.
    const [, after] = stepCall(c1, { _tag: "FromB", message: bResponse(c1, 487) })
    expect(sentTo(after, "SendA")).toEqual([])
    expect((sentTo(after, "SendB")[0] as SipRequest).method).toBe("ACK")
  })

  it("a 200 that crosses the CANCEL ends in ACK + BYE on B", () => {
    const a = guideInvite()
    const [c0] = startCall(a, id, [dest])
    const cancel = buildRequest({
      method: "CANCEL",
      uri: a.uri,
      headers: ["Via", "From", "To", "Call-ID"]
        .map((h) => [h, a.headerValues(h)[0]!] as const)
        .concat([["CSeq", "1 CANCEL"]]),
    })
    const [c1] = stepCall(c0, { _tag: "FromA", message: cancel })
    const [, actions] = stepCall(c1, { _tag: "FromB", message: bResponse(c1, 200) })
    expect(sentTo(actions, "SendB").map((m) => (m as SipRequest).method)).toEqual(["ACK", "BYE"])
    expect(sentTo(actions, "SendA")).toEqual([])
  })

  it("§17.1.1.2 retransmits the B-leg INVITE with Timer A doubling until something comes back", () => {
    const [c0, start] = startCall(guideInvite(), id, [dest])
    expect(start.filter((a) => a._tag === "StartTimer")).toEqual([
      { _tag: "StartTimer", timer: "A", delayMs: 500 },
      { _tag: "StartTimer", timer: "B", delayMs: 32_000 },
      { _tag: "StartTimer", timer: "C", delayMs: 181_000 },
    ])
    const [c1, a1] = stepCall(c0, { _tag: "TimerFired", timer: "A" })
    expect(a1).toEqual([
      { _tag: "SendB", message: c0.bInvite, to: { host: "198.51.100.20", port: 5080 }, transport: "udp" },
      { _tag: "StartTimer", timer: "A", delayMs: 1000 },
    ])
    const [c2] = stepCall(c1, { _tag: "FromB", message: bResponse(c1, 100) })
    expect(stepCall(c2, { _tag: "TimerFired", timer: "A" })[1]).toEqual([])
  })

  it("Timer B without any answer: 408 to A and the call ends", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1, actions] = stepCall(c0, { _tag: "TimerFired", timer: "B" })
    expect((sentTo(actions, "SendA")[0] as SipResponse).status).toBe(408)
    expect(c1.phase).toBe("Ended")
  })

  it("Timer C after ringing: 408 to A, CANCEL to B, and the callee's 487 closes the call", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 180) })
    expect(stepCall(c1, { _tag: "TimerFired", timer: "B" })[1]).toEqual([])
    const [c2, actions] = stepCall(c1, { _tag: "TimerFired", timer: "C" })
    expect((sentTo(actions, "SendA")[0] as SipResponse).status).toBe(408)
    expect((sentTo(actions, "SendB")[0] as SipRequest).method).toBe("CANCEL")
    const [c3, after] = stepCall(c2, { _tag: "FromB", message: bResponse(c2, 487) })
    expect(c3.phase).toBe("Ended")
    expect(after.map((a) => a._tag)).toEqual(["SendB", "Ended"])
  })

  it("RFC 3261 §14: a re-INVITE from A (hold) is relayed into the B-leg dialog with its SDP; B's 200 is ACKed and relayed", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 200) })
    const hold = buildRequest({
      method: "INVITE",
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", "SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-hold"],
        ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
        ["To", `<sip:2142622000@Telcosipserver.com>;tag=${c0.aTag}`],
        ["Call-ID", "bb-500690ed-0-21@172.16.1.10"],
        ["CSeq", "2 INVITE"],
        ["Contact", "<sip:2142621000@172.16.1.10:5060>"],
      ],
      body: Buffer.from("v=0\r\na=sendonly\r\n"),
      contentType: "application/sdp",
    })
    const [c2, a2] = stepCall(c1, { _tag: "FromA", message: hold })
    expect((sentTo(a2, "SendA")[0] as SipResponse).status).toBe(100)
    const reinvite = sentTo(a2, "SendB")[0] as SipRequest
    expect([reinvite.method, reinvite.callId, reinvite.toTag, reinvite.cseq.seq]).toEqual([
      "INVITE",
      c0.bCallId,
      "callee1",
      2,
    ])
    expect(reinvite.body.toString()).toContain("a=sendonly")
    // Glare: a second re-INVITE while this one is pending gets 491 (§14.2).
    const [, glare] = stepCall(c2, {
      _tag: "FromB",
      message: parseMessageOrThrow(serializeMessage(reinvite)) as SipRequest,
    })
    expect((sentTo(glare, "SendB")[0] as SipResponse).status).toBe(491)
    const ok = parseMessageOrThrow(
      serializeMessage(
        createResponse(reinvite, 200, {
          body: Buffer.from("v=0\r\na=recvonly\r\n"),
          contentType: "application/sdp",
          headers: [["Contact", "<sip:callee@198.51.100.20:5080>"]],
        }),
      ),
    ) as SipResponse
    const [c3, a3] = stepCall(c2, { _tag: "FromB", message: ok })
    const ack = sentTo(a3, "SendB")[0] as SipRequest
    expect([ack.method, ack.cseq.seq]).toEqual(["ACK", 2])
    const toA = sentTo(a3, "SendA")[0] as SipResponse
    expect([toA.status, toA.cseq.seq, toA.body.toString()]).toEqual([200, 2, "v=0\r\na=recvonly\r\n"])
    expect(c3.reinvite).toBeUndefined()
  })

  it("§13.3.1.4 retransmits the 2xx to A until the ACK; §17.1.2.2 retransmits the suite's BYE until its 200", () => {
    const [c0] = startCall(guideInvite(), id, [dest])
    const [c1, a1] = stepCall(c0, { _tag: "FromB", message: bResponse(c0, 200) })
    expect(a1).toContainEqual({ _tag: "StartTimer", timer: "R", delayMs: 500 })
    const [c2, r1] = stepCall(c1, { _tag: "TimerFired", timer: "R" })
    expect((sentTo(r1, "SendA")[0] as SipResponse).status).toBe(200)
    expect(r1).toContainEqual({ _tag: "StartTimer", timer: "R", delayMs: 1000 })
    const ack = buildRequest({
      method: "ACK",
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", "SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-ack"],
        ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
        ["To", `<sip:2142622000@Telcosipserver.com>;tag=${c0.aTag}`],
        ["Call-ID", "bb-500690ed-0-21@172.16.1.10"],
        ["CSeq", "1 ACK"],
      ],
    })
    const [c3] = stepCall(c2, { _tag: "FromA", message: ack })
    expect(stepCall(c3, { _tag: "TimerFired", timer: "R" })[1]).toEqual([])
    // The callee hangs up: the suite's BYE to A is retransmitted with Timer E until A answers it.
    const calleeBye = parseMessageOrThrow(
      Buffer.from(
        `BYE sip:b2bua@192.0.2.10:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bK-cb\r\nFrom: <sip:callee@x>;tag=callee1\r\nTo: <sip:y@z>;tag=${c0.bFromTag}\r\nCall-ID: ${c0.bCallId}\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n`,
      ),
    ) as SipRequest
    const [c4, a4] = stepCall(c3, { _tag: "FromB", message: calleeBye })
    const byeA = sentTo(a4, "SendA")[0] as SipRequest
    expect(byeA.method).toBe("BYE")
    expect(a4).toContainEqual({ _tag: "StartTimer", timer: "E", delayMs: 500 })
    const [c5, e1] = stepCall(c4, { _tag: "TimerFired", timer: "E" })
    expect(sentTo(e1, "SendA")[0]).toBe(byeA)
    // The callee's BYE retransmitted meanwhile gets only its 200 again.
    const [, again] = stepCall(c5, { _tag: "FromB", message: calleeBye })
    expect(again.map((a) => a._tag)).toEqual(["SendB"])
    const [c6, done] = stepCall(c5, {
      _tag: "FromA",
      message: parseMessageOrThrow(serializeMessage(createResponse(byeA, 200))) as SipResponse,
    })
    expect(c6.phase).toBe("Ended")
    expect(done).toEqual([{ _tag: "Ended", reason: "BYE completed" }])
    // Ended but lingering: a retransmitted BYE is still answered 200.
    const [, late] = stepCall(c6, { _tag: "FromB", message: calleeBye })
    expect((sentTo(late, "SendB")[0] as SipResponse).status).toBe(200)
  })
})
