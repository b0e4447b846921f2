/**
 * Late offers across the legs (RFC 3264 §5, RFC 3261 §13.2.1, §13.2.2.4, §13.3.1.4): the pure call
 * machine with the reference guide's INVITE stripped of its SDP.
 */
import {
  buildRequest,
  createResponse,
  type HeaderList,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, type CallEvent, type Step, startCall, stepCall } from "../src/index.js"
import { sdpRole } from "../src/media/SdpRole.js"
import { guideInvite, guideInviteText, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

const OFFER =
  "v=0\r\no=callee 1 1 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\nm=audio 20000 RTP/AVP 0\r\n"
const ANSWER =
  "v=0\r\no=caller 1 1 IN IP4 172.16.1.11\r\ns=-\r\nc=IN IP4 172.16.1.11\r\nt=0 0\r\nm=audio 10006 RTP/AVP 0\r\n"
const sdp = (text: string) => ({ body: Buffer.from(text), contentType: "application/sdp" })

/** The guide's INVITE without its SDP (RFC 3261 §13.2.1: the offer is then in the 2xx). */
const inviteWithoutSdp = (extra = ""): SipRequest => {
  const head = guideInviteText.split("\r\n\r\n")[0]!
  const text = `${head
    .replace("\r\nContent-Type: application/sdp", "")
    .replace(/Content-Length: \d+/, "Content-Length: 0")
    .replace("\r\nCSeq:", `${extra}\r\nCSeq:`)}\r\n\r\n`
  return parseMessageOrThrow(Buffer.from(text, "latin1")) as SipRequest
}

const run = (call: Call, ...events: ReadonlyArray<CallEvent>): Step =>
  events.reduce<Step>(
    ([c, acc], e) => {
      const [next, actions] = stepCall(c, e)
      return [next, [...acc, ...actions]]
    },
    [call, []],
  )

const fromB = (message: SipRequest | SipResponse): CallEvent => ({ _tag: "FromB", message })
const fromA = (message: SipRequest | SipResponse): CallEvent => ({ _tag: "FromA", message })

/** B's 2xx to the suite's INVITE (initial or re-INVITE), with the offer. */
const okWithOffer = (invite: SipRequest) =>
  wire(
    createResponse(invite, 200, {
      toTag: invite.toTag ?? "callee1",
      headers: [["Contact", "<sip:callee@198.51.100.20:5080>"]],
      ...sdp(OFFER),
    }),
  )

/** A's ACK for the 2xx the suite sent on the A-leg, with or without the answer. */
const ackFromA = (call: Call, seq: number, answer?: string) =>
  wire(
    buildRequest({
      method: "ACK",
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", `SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-ack${seq}`],
        ["From", "<sip:2142621000@Telcosipserver.com>;tag=18eb500690ed1-21"],
        ["To", `<sip:2142622000@Telcosipserver.com>;tag=${call.aTag}`],
        ["Call-ID", call.aInvite.callId],
        ["CSeq", `${seq} ACK`],
      ],
      ...(answer === undefined ? {} : sdp(answer)),
    }),
  )

/** An in-dialog request from A (re-INVITE, BYE, PRACK). */
const requestFromA = (call: Call, method: string, seq: number, body?: string, extra: HeaderList = []) =>
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
        ["Contact", "<sip:2142621000@172.16.1.10:5060>"],
        ...extra,
      ],
      ...(body === undefined ? {} : sdp(body)),
    }),
  )

/** An in-dialog request from B (re-INVITE, ACK, BYE). */
const requestFromB = (call: Call, method: string, seq: number, body?: string) =>
  wire(
    buildRequest({
      method,
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", `SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bK-b${method}${seq}`],
        ["From", "<sip:callee@198.51.100.20>;tag=callee1"],
        ["To", `<sip:2142621000@192.0.2.10>;tag=${call.bFromTag}`],
        ["Call-ID", call.bCallId],
        ["CSeq", `${seq} ${method}`],
        ["Contact", "<sip:callee@198.51.100.20:5080>"],
      ],
      ...(body === undefined ? {} : sdp(body)),
    }),
  )

/** A call set up with a late offer: B's 200 relayed to A, nothing sent to B yet. */
const lateCall = (): { call: Call; okToA: SipResponse; okFromB: SipResponse } => {
  const [c0, start] = startCall(inviteWithoutSdp(), testIdentity, [testTarget])
  const bInvite = sentOn(start, "SendB")[0] as SipRequest
  expect(bInvite.body.length).toBe(0)
  const okFromB = okWithOffer(c0.bInvite)
  const [call, actions] = stepCall(c0, fromB(okFromB))
  expect(sentOn(actions, "SendB")).toEqual([])
  const okToA = sentOn(actions, "SendA")[0] as SipResponse
  return { call, okToA, okFromB }
}

/** Timer R fired until the machine stops retransmitting (64*T1, §13.3.1.4). */
const exhaustTimer = (call: Call, timer: "R" | "L"): Step => {
  let step: Step = [call, []]
  for (let i = 0; i < 20; i++) {
    step = stepCall(step[0], { _tag: "TimerFired", timer })
    if (!step[1].some((a) => a._tag === "StartTimer" && a.timer === timer)) return step
  }
  throw new Error(`Timer ${timer} never stopped`)
}

describe("late offer (RFC 3264 §5): INVITE without SDP, offer in the 2xx, answer in the ACK", () => {
  it("relays B's offer to A in the 2xx; B's ACK waits for A's and carries its answer", () => {
    const { call, okToA, okFromB } = lateCall()
    expect(okToA.status).toBe(200)
    expect(okToA.body.toString()).toBe(OFFER)
    // The shell asks the negotiator for an offer on this 2xx (leg b → a) and an answer on the ACK.
    expect(sdpRole(call, okToA, "A")).toBe("offer")
    expect(call.lateAck?.from).toBe("A")
    // §13.2.2.4: B's 2xx retransmitted before A's ACK is absorbed — an ACK now would carry no answer.
    expect(stepCall(call, fromB(okFromB))[1]).toEqual([])
    const [acked, actions] = stepCall(call, fromA(ackFromA(call, 1, ANSWER)))
    expect(acked.aAcked).toBe(true)
    const [ack] = sentOn(actions, "SendB") as SipRequest[]
    expect([ack?.method, ack?.callId, ack?.toTag, ack?.cseq.seq, ack?.uri]).toEqual([
      "ACK",
      call.bCallId,
      "callee1",
      1,
      "sip:callee@198.51.100.20:5080",
    ])
    expect(ack?.body.toString()).toBe(ANSWER)
    expect(sdpRole(acked, ack!, "B")).toBe("answer")
    // Each retransmission of B's 2xx now gets that same ACK (already negotiated: sent as it is).
    expect(sentOn(stepCall(acked, fromB(okFromB))[1], "SendB")).toEqual([ack])
    // A's ACK again (for a retransmitted 2xx) sends nothing more.
    expect(stepCall(acked, fromA(ackFromA(call, 1, ANSWER)))[1]).toEqual([])
  })

  it("§13.3.1.4: A never ACKs — after 64*T1 of 2xx retransmissions B gets its ACK, then BYE on both legs", () => {
    const { call, okToA } = lateCall()
    const [, r1] = stepCall(call, { _tag: "TimerFired", timer: "R" })
    expect(sentOn(r1, "SendA")).toEqual([okToA])
    const [ended, actions] = exhaustTimer(call, "R")
    expect(ended.phase).toBe("Ending")
    const toB = sentOn(actions, "SendB") as SipRequest[]
    expect(toB.map((m) => m.method)).toEqual(["ACK", "BYE"])
    expect(toB[0]!.body.length).toBe(0)
    const byeA = sentOn(actions, "SendA").find((m) => m.kind === "request") as SipRequest
    expect(byeA.method).toBe("BYE")
    expect(byeA.headerValues("Reason")).toEqual(['SIP;cause=408;text="no ACK for the 2xx"'])
  })

  it("an ACK without the answer: B is ACKed without one and the call ends with BYE and a Reason on both legs", () => {
    const { call } = lateCall()
    const [ended, actions] = stepCall(call, fromA(ackFromA(call, 1)))
    expect(ended.phase).toBe("Ending")
    const toB = sentOn(actions, "SendB") as SipRequest[]
    expect(toB.map((m) => m.method)).toEqual(["ACK", "BYE"])
    expect(toB[1]!.headerValues("Reason")).toEqual(['SIP;cause=488;text="no SDP answer in the ACK"'])
    expect((sentOn(actions, "SendA")[0] as SipRequest).method).toBe("BYE")
  })

  it("the negotiator refuses B's offer: A gets the refusal instead of the 2xx, B gets ACK and BYE", () => {
    const { call, okToA } = lateCall()
    const [ended, actions] = stepCall(call, {
      _tag: "MediaRefused",
      message: okToA,
      status: 488,
      reason: "Not Acceptable Here (no common codec)",
      headers: [["Warning", '305 b2bua "Incompatible media format"']],
    })
    const [refusal] = sentOn(actions, "SendA") as SipResponse[]
    expect([refusal?.status, refusal?.toTag, refusal?.headerValues("Warning")[0]]).toEqual([
      488,
      call.aTag,
      '305 b2bua "Incompatible media format"',
    ])
    expect((sentOn(actions, "SendB") as SipRequest[]).map((m) => m.method)).toEqual(["ACK", "BYE"])
    expect(ended.aFinal).toBe(refusal)
    // No 2xx retransmission to A afterwards.
    expect(stepCall(ended, { _tag: "TimerFired", timer: "R" })[1]).toEqual([])
  })

  it("the negotiator refuses A's answer in the ACK: B gets an ACK without it, then BYE on both legs", () => {
    const { call } = lateCall()
    const [acked, actions] = stepCall(call, fromA(ackFromA(call, 1, ANSWER)))
    const ack = sentOn(actions, "SendB")[0]!
    const [ended, after] = stepCall(acked, {
      _tag: "MediaRefused",
      message: ack,
      status: 488,
      reason: "Not Acceptable Here",
      headers: [],
    })
    expect(ended.phase).toBe("Ending")
    const toB = sentOn(after, "SendB") as SipRequest[]
    expect(toB.map((m) => [m.method, m.body.length])).toEqual([
      ["ACK", 0],
      ["BYE", 0],
    ])
  })

  it("A hangs up before its ACK: B's 2xx is ACKed (without an answer) before the BYE; re-INVITEs and UPDATE offers meanwhile get 491", () => {
    const { call } = lateCall()
    const [, glare] = stepCall(call, fromB(requestFromB(call, "INVITE", 7, OFFER)))
    expect((sentOn(glare, "SendB")[0] as SipResponse).status).toBe(491)
    const [, update] = stepCall(call, fromB(requestFromB(call, "UPDATE", 8, OFFER)))
    expect((sentOn(update, "SendB")[0] as SipResponse).status).toBe(491)
    const [, actions] = stepCall(call, fromA(requestFromA(call, "BYE", 2)))
    expect((sentOn(actions, "SendB") as SipRequest[]).map((m) => m.method)).toEqual(["ACK", "BYE"])
    expect((sentOn(actions, "SendA")[0] as SipResponse).status).toBe(200)
  })

  it("a 2xx to an INVITE with SDP that A never ACKs also ends in BYE on both legs after 64*T1", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const [c1, a1] = stepCall(c0, fromB(okWithOffer(c0.bInvite)))
    expect((sentOn(a1, "SendB")[0] as SipRequest).method).toBe("ACK") // no late offer: ACKed at once
    expect(c1.lateAck).toBeUndefined()
    const [ended, actions] = exhaustTimer(c1, "R")
    expect(ended.phase).toBe("Ending")
    expect(sentOn(actions, "SendB").map((m) => (m as SipRequest).method)).toEqual(["BYE"])
  })
})

describe("late offer in a re-INVITE (RFC 3261 §14, RFC 3264 §5)", () => {
  const answeredCall = (): Call => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    return run(c0, fromB(okWithOffer(c0.bInvite)), fromA(ackFromA(c0, 1)))[0]
  }

  it("from A: relayed without SDP; B's 2xx offer to A (retransmitted, Timer L); A's ACK answer goes in B's ACK", () => {
    const c0 = answeredCall()
    const [c1, a1] = stepCall(c0, fromA(requestFromA(c0, "INVITE", 2)))
    const reinvite = sentOn(a1, "SendB")[0] as SipRequest
    expect([reinvite.method, reinvite.body.length]).toEqual(["INVITE", 0])
    const ok = okWithOffer(reinvite)
    const [c2, a2] = stepCall(c1, fromB(ok))
    expect(sentOn(a2, "SendB")).toEqual([]) // B's ACK waits
    const [okToA] = sentOn(a2, "SendA") as SipResponse[]
    expect([okToA?.status, okToA?.cseq.seq, okToA?.body.toString()]).toEqual([200, 2, OFFER])
    expect(sdpRole(c2, okToA!, "A")).toBe("offer")
    expect(a2).toContainEqual({ _tag: "StartTimer", timer: "L", delayMs: 500 })
    // §13.3.1.4: the 2xx to A again until its ACK; B's retransmitted 2xx absorbed meanwhile.
    const [c3, l1] = stepCall(c2, { _tag: "TimerFired", timer: "L" })
    expect(sentOn(l1, "SendA")).toEqual([okToA])
    expect(l1).toContainEqual({ _tag: "StartTimer", timer: "L", delayMs: 1000 })
    expect(stepCall(c3, fromB(ok))[1]).toEqual([])
    // Glare while the answer is outstanding (§14.1): 491.
    const [, glare] = stepCall(c3, fromA(requestFromA(c3, "INVITE", 3, ANSWER)))
    expect((sentOn(glare, "SendA")[0] as SipResponse).status).toBe(491)
    const [c4, a4] = stepCall(c3, fromA(ackFromA(c3, 2, ANSWER)))
    const [ack] = sentOn(a4, "SendB") as SipRequest[]
    expect([ack?.method, ack?.cseq.seq, ack?.toTag, ack?.body.toString()]).toEqual([
      "ACK",
      reinvite.cseq.seq,
      "callee1",
      ANSWER,
    ])
    expect(sdpRole(c4, ack!, "B")).toBe("answer")
    expect(stepCall(c4, { _tag: "TimerFired", timer: "L" })[1]).toEqual([])
    expect(sentOn(stepCall(c4, fromB(ok))[1], "SendB")).toEqual([ack])
  })

  it("from B: A's 2xx offer goes to B; B's ACK answer goes in A's ACK", () => {
    const c0 = answeredCall()
    const [c1, a1] = stepCall(c0, fromB(requestFromB(c0, "INVITE", 9)))
    const reinvite = sentOn(a1, "SendA").find((m) => m.kind === "request") as SipRequest
    expect([reinvite.method, reinvite.body.length]).toEqual(["INVITE", 0])
    const okFromA = wire(
      createResponse(reinvite, 200, {
        headers: [["Contact", "<sip:2142621000@172.16.1.10:5060>"]],
        ...sdp(ANSWER),
      }),
    )
    const [c2, a2] = stepCall(c1, fromA(okFromA))
    expect(sentOn(a2, "SendA")).toEqual([])
    const [okToB] = sentOn(a2, "SendB") as SipResponse[]
    expect([okToB?.status, okToB?.cseq.seq]).toEqual([200, 9])
    expect(sdpRole(c2, okToB!, "B")).toBe("offer")
    const [, a3] = stepCall(c2, fromB(requestFromB(c2, "ACK", 9, OFFER)))
    const [ack] = sentOn(a3, "SendA") as SipRequest[]
    expect([ack?.method, ack?.cseq.seq, ack?.callId, ack?.body.toString()]).toEqual([
      "ACK",
      reinvite.cseq.seq,
      c0.aInvite.callId,
      OFFER,
    ])
  })

  it("the negotiator refuses B's offer in the re-INVITE's 2xx: A's re-INVITE gets the refusal, B its ACK, both legs BYE", () => {
    const c0 = answeredCall()
    const [c1, a1] = stepCall(c0, fromA(requestFromA(c0, "INVITE", 2)))
    const [c2, a2] = stepCall(c1, fromB(okWithOffer(sentOn(a1, "SendB")[0] as SipRequest)))
    const [ended, actions] = stepCall(c2, {
      _tag: "MediaRefused",
      message: sentOn(a2, "SendA")[0]!,
      status: 488,
      reason: "Not Acceptable Here (no common codec)",
      headers: [],
    })
    expect(ended.phase).toBe("Ending")
    const toA = sentOn(actions, "SendA")
    expect(toA.map((m) => (m.kind === "response" ? [m.status, m.cseq.seq] : [m.method]))).toEqual([
      [488, 2],
      ["BYE"],
    ])
    expect((sentOn(actions, "SendB") as SipRequest[]).map((m) => [m.method, m.body.length])).toEqual([
      ["ACK", 0],
      ["BYE", 0],
    ])
  })

  it("no ACK from A within 64*T1 (Timer L): B's 2xx is ACKed without an answer and both legs get BYE", () => {
    const c0 = answeredCall()
    const [c1, a1] = stepCall(c0, fromA(requestFromA(c0, "INVITE", 2)))
    const [c2] = stepCall(c1, fromB(okWithOffer(sentOn(a1, "SendB")[0] as SipRequest)))
    const [ended, actions] = exhaustTimer(c2, "L")
    expect(ended.phase).toBe("Ending")
    expect((sentOn(actions, "SendB") as SipRequest[]).map((m) => [m.method, m.body.length])).toEqual([
      ["ACK", 0],
      ["BYE", 0],
    ])
  })
})

describe("offer in a reliable 183, answer in the PRACK (RFC 3262 §5)", () => {
  it("the 183's offer reaches A reliably, A's PRACK answer reaches B, and B's 2xx (SDP repeated) is ACKed at once", () => {
    const [c0] = startCall(inviteWithoutSdp("\r\nSupported: 100rel"), testIdentity, [testTarget])
    const early = wire(
      createResponse(c0.bInvite, 183, {
        toTag: "callee1",
        headers: [
          ["Require", "100rel"],
          ["RSeq", "12"],
          ["Contact", "<sip:callee@198.51.100.20:5080>"],
        ],
        ...sdp(OFFER),
      }),
    )
    const [c1, a1] = stepCall(c0, fromB(early))
    const [toA] = sentOn(a1, "SendA") as SipResponse[]
    expect([toA?.status, toA?.body.toString()]).toEqual([183, OFFER])
    expect(sdpRole(c1, toA!, "A")).toBe("offer")
    const prack = requestFromA(c1, "PRACK", 2, ANSWER, [["RAck", `${toA!.headerValues("RSeq")[0]} 1 INVITE`]])
    const [c2, a2] = stepCall(c1, fromA(prack))
    const [prackToB] = sentOn(a2, "SendB") as SipRequest[]
    expect([prackToB?.method, prackToB?.body.toString()]).toEqual(["PRACK", ANSWER])
    expect(sdpRole(c2, prackToB!, "B")).toBe("answer")
    // The 2xx repeats the SDP (RFC 6337 §3.1): not a new offer, so B is ACKed at once.
    const [c3, a3] = stepCall(c2, fromB(okWithOffer(c2.bInvite)))
    expect((sentOn(a3, "SendB")[0] as SipRequest).method).toBe("ACK")
    expect(c3.lateAck).toBeUndefined()
  })
})
