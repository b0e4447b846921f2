/** Session timers (RFC 4028) per leg in the pure call machine, section by section. */
import { InstanceId, ListenerId } from "@b2bua/contracts"
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
  admitSessionTimer,
  type Call,
  type CallAction,
  decodeCall,
  defaultSessionTimerPolicy,
  encodeCall,
  resumeSessionTimers,
  type SessionTimerPolicy,
  startCall,
  stepCall,
} from "../src/index.js"
import { sdpRole } from "../src/media/SdpRole.js"
import { guideInvite, guideInviteText, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

const SDP_B =
  "v=0\r\no=callee 7 7 IN IP4 198.51.100.20\r\ns=-\r\nc=IN IP4 198.51.100.20\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"

/** The guide's INVITE with its session-timer headers replaced by `headers`. */
const inviteWith = (headers: ReadonlyArray<string>): SipRequest => {
  const text = guideInviteText
    .replace("Session-Expires: 1800\r\n", "")
    .replace("Supported: timer\r\n", "")
    .replace("Max-Forwards: 70\r\n", `Max-Forwards: 70\r\n${headers.map((h) => `${h}\r\n`).join("")}`)
  return parseMessageOrThrow(Buffer.from(text, "latin1")) as SipRequest
}

const timersOf = (actions: ReadonlyArray<CallAction>) =>
  actions.flatMap((a) =>
    a._tag === "StartTimer" && a.timer.startsWith("Session") ? [[a.timer, a.delayMs]] : [],
  )

/** The callee's 200 to the B-leg INVITE with `headers` and SDP. */
const bOk = (call: Call, headers: ReadonlyArray<readonly [string, string]>): SipResponse =>
  wire(
    createResponse(call.bInvite, 200, {
      toTag: "callee1",
      headers: [["Contact", "<sip:callee@198.51.100.20:5080>"], ...headers],
      body: Buffer.from(SDP_B),
      contentType: "application/sdp",
    }),
  )

const answered = (
  a: SipRequest,
  bHeaders: ReadonlyArray<readonly [string, string]>,
  policy: SessionTimerPolicy = defaultSessionTimerPolicy,
) => {
  const [c0] = startCall(a, testIdentity, [testTarget], policy)
  const [c1, actions] = stepCall(c0, { _tag: "FromB", message: bOk(c0, bHeaders) })
  const toA = sentOn(actions, "SendA")[0] as SipResponse
  return { call: c1, actions, toA }
}

/** A request from A in its dialog with the suite. */
const fromA = (
  call: Call,
  method: string,
  seq: number,
  headers: ReadonlyArray<readonly [string, string]>,
  body?: string,
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
        ["Contact", "<sip:2142621000@172.16.1.10:5060>"],
        ...headers,
      ],
      ...(body === undefined ? {} : { body: Buffer.from(body), contentType: "application/sdp" }),
    }),
  )

const fire = (call: Call, timer: "SessionA" | "SessionB") => stepCall(call, { _tag: "TimerFired", timer })

describe("§6, §9: what the suite admits on the A-leg", () => {
  it.each([
    [
      "Session-Expires below Min-SE from a UA that supports timers",
      ["Session-Expires: 60", "Supported: timer"],
      422,
    ],
    ["the same without Supported: timer (the suite raises it instead)", ["Session-Expires: 60"], undefined],
    ["an interval at the Min-SE", ["Session-Expires: 90", "Supported: timer"], undefined],
    ["a malformed Session-Expires", ["Session-Expires: soon", "Supported: timer"], 400],
    ["a malformed Min-SE", ["Session-Expires: 1800", "Min-SE: x"], 400],
  ])("%s", (_name, headers, status) => {
    const refusal = admitSessionTimer(inviteWith(headers), defaultSessionTimerPolicy)
    expect(refusal?.status).toBe(status)
    if (status === 422) expect(refusal?.headers).toEqual([["Min-SE", "90"]])
    if (status === 400) expect(refusal?.reason).toMatch(/Session-Expires|Min-SE/)
  })
})

describe("§7.1: the B-leg INVITE asks for the suite's own session timer", () => {
  it("its interval and Min-SE, not the caller's, and Supported: timer once", () => {
    const [call] = startCall(guideInvite(), testIdentity, [testTarget], {
      ...defaultSessionTimerPolicy,
      interval: 600,
    })
    expect(call.bInvite.headerValues("Session-Expires")).toEqual(["600"])
    expect(call.bInvite.headerValues("Min-SE")).toEqual(["90"])
    expect(call.bInvite.headerValues("Supported")).toEqual(["timer"])
  })
  it("adds Supported: timer when the caller did not say it", () => {
    const [call] = startCall(inviteWith([]), testIdentity, [testTarget])
    expect(call.bInvite.headerValues("Supported")).toEqual(["timer"])
    expect(call.bInvite.headerValues("Session-Expires")).toEqual(["1800"])
  })
})

describe("§9 (A-leg, the suite is UAS) and §7.2 (B-leg, the suite is UAC): the 2xx decides", () => {
  const B_UAC = [["Session-Expires", "1800;refresher=uac"]] as const
  it.each([
    // caller headers, policy refresher, expected Session-Expires to A, Require, SessionA delay
    [
      ["Session-Expires: 1800", "Supported: timer"],
      "uac",
      "1800;refresher=uac",
      ["timer"],
      (1800 - 32) * 1000,
    ],
    [["Session-Expires: 1800", "Supported: timer"], "uas", "1800;refresher=uas", [], 900_000],
    [["Session-Expires: 900;refresher=uas", "Supported: timer"], "uac", "900;refresher=uas", [], 450_000],
    [
      ["Session-Expires: 120;refresher=uac", "Supported: timer"],
      "uas",
      "120;refresher=uac",
      ["timer"],
      88_000,
    ],
    [["Supported: timer"], "uac", "1800;refresher=uac", ["timer"], (1800 - 32) * 1000],
    [[], "uac", "1800;refresher=uas", [], 900_000],
    [["Session-Expires: 60"], "uac", "90;refresher=uas", [], 45_000],
    [["Supported: timer", "Min-SE: 3600"], "uac", "3600;refresher=uac", ["timer"], (3600 - 32) * 1000],
  ] as const)("caller %j, policy %s → Session-Expires: %s", (headers, refresher, se, require, delay) => {
    const { toA, actions } = answered(inviteWith(headers), B_UAC, {
      ...defaultSessionTimerPolicy,
      aRefresher: refresher,
    })
    expect(toA.status).toBe(200)
    expect(toA.headerValues("Session-Expires")).toEqual([se])
    expect(toA.headerValues("Require")).toEqual(require)
    expect(toA.headerValues("Supported").join(",")).toContain("timer")
    expect(timersOf(actions)).toEqual([
      ["SessionA", delay],
      ["SessionB", 900_000],
    ])
  })

  it.each([
    ["refresher=uac: the suite refreshes B at half the interval", "90;refresher=uac", 45_000],
    ["refresher=uas: the callee refreshes, the suite watches for expiry", "90;refresher=uas", 60_000],
  ])("%s", (_name, se, delay) => {
    const { actions } = answered(guideInvite(), [["Session-Expires", se]])
    expect(timersOf(actions)).toContainEqual(["SessionB", delay])
  })

  it("a 2xx without Session-Expires: no session timer on the B-leg (§7.2)", () => {
    const { call, actions } = answered(guideInvite(), [])
    expect(call.sessionTimer.b).toBeUndefined()
    expect(timersOf(actions).map(([t]) => t)).toEqual(["SessionA"])
  })

  it("the callee's Session-Expires never reaches A", () => {
    const { toA } = answered(guideInvite(), [["Session-Expires", "4000;refresher=uas"]])
    expect(serializeMessage(toA).toString("latin1")).not.toContain("4000;refresher")
  })
})

describe("§7.3: a 422 on the B-leg", () => {
  it("retries the B-leg INVITE with the callee's Min-SE, and A sees none of it", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const tooSmall = wire(
      createResponse(c0.bInvite, 422, { toTag: "callee1", headers: [["Min-SE", "3600"]] }),
    )
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: tooSmall })
    const [ack, retry] = sentOn(actions, "SendB") as SipRequest[]
    expect(ack?.method).toBe("ACK")
    expect(retry?.method).toBe("INVITE")
    expect(retry?.cseq.seq).toBe(2)
    expect(retry?.callId).toBe(c0.bCallId)
    expect(retry?.headerValues("Session-Expires")).toEqual(["3600"])
    expect(retry?.headerValues("Min-SE")).toEqual(["3600"])
    expect(sentOn(actions, "SendA")).toEqual([])
    expect(actions.some((a) => a._tag === "Attempt")).toBe(false)
    // The retry is answered: A gets its 200 as usual.
    const [, after] = stepCall(c1, {
      _tag: "FromB",
      message: bOk(c1, [["Session-Expires", "3600;refresher=uac"]]),
    })
    expect((sentOn(after, "SendA")[0] as SipResponse).status).toBe(200)
  })

  it("a 422 that asks for nothing larger ends the call with 500 to A, not 422", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const bogus = wire(createResponse(c0.bInvite, 422, { toTag: "callee1", headers: [["Min-SE", "90"]] }))
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: bogus })
    expect((sentOn(actions, "SendA")[0] as SipResponse).status).toBe(500)
    expect(c1.phase).toBe("Ended")
  })
})

describe("§10: the suite refreshes where it is the refresher", () => {
  it("by UPDATE when the callee allows it, at half the interval; the 200 re-arms the timer", () => {
    const { call } = answered(guideInvite(), [
      ["Session-Expires", "90;refresher=uac"],
      ["Allow", "INVITE, ACK, BYE, UPDATE"],
    ])
    const [c1, actions] = fire(call, "SessionB")
    const [update] = sentOn(actions, "SendB") as SipRequest[]
    expect(update?.method).toBe("UPDATE")
    expect(update?.callId).toBe(call.bCallId)
    expect(update?.toTag).toBe("callee1")
    expect(update?.headerValues("Session-Expires")).toEqual(["90;refresher=uac"])
    expect(update?.body.length).toBe(0)
    expect(sentOn(actions, "SendA")).toEqual([])
    const ok = wire(createResponse(update!, 200, { headers: [["Session-Expires", "90;refresher=uac"]] }))
    const [c2, after] = stepCall(c1, { _tag: "FromB", message: ok })
    expect(timersOf(after)).toEqual([["SessionB", 45_000]])
    expect(c2.sessionTimer.b?.refresh).toBeUndefined()
  })

  it("by re-INVITE with the suite's last SDP on that leg otherwise; the suite ACKs the 200", () => {
    const { call } = answered(guideInvite(), [["Session-Expires", "90;refresher=uac"]])
    const [c1, actions] = fire(call, "SessionB")
    const [reinvite] = sentOn(actions, "SendB") as SipRequest[]
    expect(reinvite?.method).toBe("INVITE")
    expect(reinvite?.toTag).toBe("callee1")
    // The last SDP the suite sent to B: the offer of the B-leg INVITE (passed through from A).
    expect(reinvite?.body.equals(call.bInvite.body)).toBe(true)
    const ok = wire(
      createResponse(reinvite!, 200, {
        headers: [["Session-Expires", "90;refresher=uac"]],
        body: Buffer.from(SDP_B),
        contentType: "application/sdp",
      }),
    )
    const [c2, after] = stepCall(c1, { _tag: "FromB", message: ok })
    const [ack] = sentOn(after, "SendB") as SipRequest[]
    expect([ack?.method, ack?.cseq.seq]).toEqual(["ACK", reinvite?.cseq.seq])
    expect(sentOn(after, "SendA")).toEqual([])
    expect(timersOf(after)).toEqual([["SessionB", 45_000]])
    // B did not get the ACK and sends its 200 again: the same ACK again, nothing else (§13.2.2.4).
    const [, again] = stepCall(c2, { _tag: "FromB", message: ok })
    expect(again).toEqual([{ _tag: "SendB", message: ack, to: expect.anything(), transport: "udp" }])
  })

  it("the media seam leaves the refresh's SDP alone: it is what the negotiator already produced", () => {
    const { call } = answered(guideInvite(), [["Session-Expires", "90;refresher=uac"]])
    const [c1, actions] = fire(call, "SessionB")
    const reinvite = sentOn(actions, "SendB")[0] as SipRequest
    expect(sdpRole(c1, reinvite, "B")).toBeUndefined()
    // A relayed re-INVITE with the same SDP is still an offer for the negotiator.
    expect(sdpRole(c1, c1.bInvite, "B")).toBe("offer")
  })

  it("an UPDATE refused with 405 falls back to re-INVITE at once", () => {
    const { call } = answered(guideInvite(), [
      ["Session-Expires", "90;refresher=uac"],
      ["Allow", "INVITE, UPDATE"],
    ])
    const [c1, actions] = fire(call, "SessionB")
    const update = sentOn(actions, "SendB")[0] as SipRequest
    const [, after] = stepCall(c1, { _tag: "FromB", message: wire(createResponse(update, 405)) })
    expect((sentOn(after, "SendB")[0] as SipRequest).method).toBe("INVITE")
  })

  it("an unanswered refresh is retransmitted over UDP, then both legs end with a Reason (§10)", () => {
    const { call } = answered(guideInvite(), [
      ["Session-Expires", "90;refresher=uac"],
      ["Allow", "UPDATE"],
    ])
    let [c, actions] = fire(call, "SessionB")
    let sends = 1
    for (let i = 0; i < 20 && c.phase === "Answered"; i++) {
      ;[c, actions] = fire(c, "SessionB")
      sends += sentOn(actions, "SendB").filter((m) => m.kind === "request" && m.method === "UPDATE").length
    }
    expect(sends).toBeGreaterThan(3)
    expect(c.phase).toBe("Ending")
    const byes = [...sentOn(actions, "SendA"), ...sentOn(actions, "SendB")] as SipRequest[]
    expect(byes.map((b) => b.method)).toEqual(["BYE", "BYE"])
    expect(byes[0]?.headerValues("Reason")).toEqual(['SIP;cause=408;text="session refresh failed"'])
  })
})

describe("§10: a session that expires without refresh", () => {
  it("the caller was the refresher and never refreshed: BYE on both legs with Reason at 90 - 30 s", () => {
    const { call, actions } = answered(
      inviteWith(["Session-Expires: 90;refresher=uac", "Supported: timer"]),
      [["Session-Expires", "1800;refresher=uac"]],
    )
    expect(timersOf(actions)).toContainEqual(["SessionA", 60_000])
    const [c1, expired] = fire(call, "SessionA")
    expect(c1.phase).toBe("Ending")
    const toA = sentOn(expired, "SendA") as SipRequest[]
    const toB = sentOn(expired, "SendB") as SipRequest[]
    expect(toA.map((m) => m.method)).toEqual(["BYE"])
    expect(toB.map((m) => m.method)).toEqual(["BYE"])
    for (const bye of [...toA, ...toB])
      expect(bye.headerValues("Reason")).toEqual(['SIP;cause=408;text="session expired"'])
    expect(expired).toContainEqual({ _tag: "SessionTimer", leg: "A", what: "expired" })
  })

  it("a timer that fires after the call ended does nothing", () => {
    const { call } = answered(guideInvite(), [["Session-Expires", "90;refresher=uas"]])
    const [ended] = stepCall(call, { _tag: "HangUp", reason: "test", status: 480 })
    expect(fire(ended, "SessionB")[1]).toEqual([])
  })
})

describe("refreshes from the peers: answered on their own leg, or relayed when they change something", () => {
  const setup = () =>
    answered(inviteWith(["Session-Expires: 90;refresher=uac", "Supported: timer"]), [
      ["Session-Expires", "1800;refresher=uac"],
    ])

  it("an UPDATE without body from A is answered here with A's timer; B sees nothing", () => {
    const { call } = setup()
    const update = fromA(call, "UPDATE", 2, [
      ["Session-Expires", "90;refresher=uac"],
      ["Supported", "timer"],
    ])
    const [c1, actions] = stepCall(call, { _tag: "FromA", message: update })
    const [ok] = sentOn(actions, "SendA") as SipResponse[]
    expect(ok?.status).toBe(200)
    expect(ok?.headerValues("Session-Expires")).toEqual(["90;refresher=uac"])
    expect(ok?.headerValues("Require")).toEqual(["timer"])
    expect(sentOn(actions, "SendB")).toEqual([])
    expect(timersOf(actions)).toEqual([["SessionA", 60_000]])
    // A retransmission gets the same answer.
    const [, again] = stepCall(c1, { _tag: "FromA", message: update })
    expect(sentOn(again, "SendA")).toEqual([ok])
  })

  it("a re-INVITE from A with its last SDP is answered here with the suite's SDP on the A-leg", () => {
    const { call, toA } = setup()
    const sdpA = call.aInvite.body.toString("latin1")
    const reinvite = fromA(
      call,
      "INVITE",
      2,
      [
        ["Session-Expires", "90;refresher=uac"],
        ["Supported", "timer"],
      ],
      sdpA,
    )
    const [, actions] = stepCall(call, { _tag: "FromA", message: reinvite })
    const [ok] = sentOn(actions, "SendA") as SipResponse[]
    expect(ok?.status).toBe(200)
    expect(ok?.body.equals(toA.body)).toBe(true)
    expect(sentOn(actions, "SendB")).toEqual([])
  })

  it("a re-INVITE from A with a new SDP is relayed, carrying B's own timer; both timers restart on the 200", () => {
    const { call } = setup()
    const hold = call.aInvite.body
      .toString("latin1")
      .replace("o=IPS 24669 0", "o=IPS 24669 1")
      .replace("a=sendrecv", "a=sendonly")
    const reinvite = fromA(
      call,
      "INVITE",
      2,
      [
        ["Session-Expires", "90;refresher=uac"],
        ["Supported", "timer"],
      ],
      hold,
    )
    const [c1, actions] = stepCall(call, { _tag: "FromA", message: reinvite })
    const relayed = sentOn(actions, "SendB")[0] as SipRequest
    expect(relayed.method).toBe("INVITE")
    expect(relayed.headerValues("Session-Expires")).toEqual(["1800;refresher=uac"])
    const ok = wire(
      createResponse(relayed, 200, {
        headers: [["Session-Expires", "1800;refresher=uac"]],
        body: Buffer.from(SDP_B),
        contentType: "application/sdp",
      }),
    )
    const [, after] = stepCall(c1, { _tag: "FromB", message: ok })
    const answer = sentOn(after, "SendA")[0] as SipResponse
    expect(answer.status).toBe(200)
    expect(answer.headerValues("Session-Expires")).toEqual(["90;refresher=uac"])
    expect(timersOf(after)).toEqual([
      ["SessionB", 900_000],
      ["SessionA", 60_000],
    ])
  })

  it("an offer the far side refused is still a change when A sends it again: relayed, not answered here", () => {
    const { call } = setup()
    const hold = call.aInvite.body.toString("latin1").replace("o=IPS 24669 0", "o=IPS 24669 1")
    const [c1, first] = stepCall(call, { _tag: "FromA", message: fromA(call, "INVITE", 2, [], hold) })
    const relayed = sentOn(first, "SendB")[0] as SipRequest
    const [c2] = stepCall(c1, { _tag: "FromB", message: wire(createResponse(relayed, 488)) })
    const [, again] = stepCall(c2, { _tag: "FromA", message: fromA(c2, "INVITE", 3, [], hold) })
    expect((sentOn(again, "SendB")[0] as SipRequest).method).toBe("INVITE")
    expect(sentOn(again, "SendA").map((m) => m.kind === "response" && m.status)).toEqual([100])
  })

  it("a re-INVITE with a change while the suite's re-INVITE refresh is pending on B gets 491 (RFC 3261 §14.2)", () => {
    const { call: c0 } = answered(inviteWith(["Session-Expires: 90;refresher=uac", "Supported: timer"]), [
      ["Session-Expires", "90;refresher=uac"],
    ])
    const [call] = fire(c0, "SessionB")
    const hold = call.aInvite.body.toString("latin1").replace("o=IPS 24669 0", "o=IPS 24669 1")
    const [, actions] = stepCall(call, { _tag: "FromA", message: fromA(call, "INVITE", 2, [], hold) })
    expect((sentOn(actions, "SendA")[0] as SipResponse).status).toBe(491)
    expect(sentOn(actions, "SendB")).toEqual([])
  })

  it("a refresh below the suite's Min-SE gets 422 with Min-SE (§6)", () => {
    const { call } = setup()
    const update = fromA(call, "UPDATE", 2, [
      ["Session-Expires", "30"],
      ["Supported", "timer"],
    ])
    const [, actions] = stepCall(call, { _tag: "FromA", message: update })
    const [refusal] = sentOn(actions, "SendA") as SipResponse[]
    expect(refusal?.status).toBe(422)
    expect(refusal?.headerValues("Min-SE")).toEqual(["90"])
  })
})

describe("takeover: the stored call carries its session timers", () => {
  it("round-trips through the record and re-arms both legs", () => {
    const { call } = answered(inviteWith(["Session-Expires: 90;refresher=uac", "Supported: timer"]), [
      ["Session-Expires", "120;refresher=uac"],
      ["Allow", "UPDATE"],
    ])
    const stored = decodeCall(
      encodeCall(
        "cc1",
        {
          edge: InstanceId("edge1"),
          listener: ListenerId("udp:0.0.0.0:5060"),
          transport: "udp",
          local: "192.0.2.10:5060",
          remote: "172.16.1.10:5060",
          connection: undefined,
          receivedAt: undefined,
          takeover: false,
        },
        call,
      ),
    )
    if (typeof stored === "string") throw new Error(stored)
    expect(stored.call.sessionTimer.a).toMatchObject({ interval: 90, refresher: "peer" })
    expect(stored.call.sessionTimer.b).toMatchObject({ interval: 120, refresher: "suite", update: true })
    expect(stored.call.sessionTimer.bSdp?.body.equals(call.bInvite.body)).toBe(true)
    expect(timersOf(resumeSessionTimers(stored.call))).toEqual([
      ["SessionA", 60_000],
      ["SessionB", 60_000],
    ])
    // The survivor refreshes B by UPDATE when its timer fires.
    const [, actions] = fire(stored.call, "SessionB")
    expect((sentOn(actions, "SendB")[0] as SipRequest).method).toBe("UPDATE")
  })
})
