/**
 * Takeover of a call being set up, in the pure parts: which steps rewrite the record, the timers' stored
 * deadlines and how a new owner re-arms them, and a restored ringing call completed by the survivor.
 */
import { InstanceId, ListenerId } from "@b2bua/contracts"
import { buildRequest, createResponse, type SipRequest } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, type CallAction, decodeCall, encodeCall, startCall, stepCall } from "../src/index.js"
import { noteDeadlines, recordChanged, resumeTimers } from "../src/Takeover.js"
import { guideInvite, sentOn, testIdentity, testTarget, wire } from "./fixtures.js"

const meta = {
  edge: InstanceId("edge1"),
  listener: ListenerId("udp:0.0.0.0:5060"),
  transport: "udp" as const,
  local: "0.0.0.0:5060",
  remote: "172.16.1.10:5060",
  connection: undefined,
  receivedAt: undefined,
  takeover: false,
}

const survivor = { kind: "callControl" as const, instance: InstanceId("cc2") }
const branchOf = (m: SipRequest) => m.topVia.params.find(([n]) => n === "branch")?.[1]

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

/** The ringing call as a survivor restores it: decoded from its record, new branches naming cc2. */
const restored = (call: Call): Call => {
  const stored = decodeCall(encodeCall("cc1", meta, call))
  if (typeof stored === "string") throw new Error(stored)
  return { ...stored.call, id: { ...stored.call.id, owner: survivor } }
}

const ringing = (): Call => fromB(startCall(guideInvite(), testIdentity, [testTarget])[0], 180)[0]

describe("what rewrites the record", () => {
  it("a provisional that makes the call Early, the 2xx, a CANCEL; not a repeated 100 or a retransmission", () => {
    const [c0] = startCall(guideInvite(), testIdentity, [testTarget])
    const [c1] = fromB(c0, 100)
    expect(recordChanged(c0, c1)).toBe(false)
    const [c2] = fromB(c1, 180)
    expect(recordChanged(c1, c2)).toBe(true)
    const [c3] = fromB(c2, 200)
    expect(recordChanged(c2, c3)).toBe(true)
    // Timer A fired: only the retransmission interval changed.
    const [a1] = stepCall(c0, { _tag: "TimerFired", timer: "A" })
    expect(recordChanged(c0, a1)).toBe(false)
  })
})

describe("timer deadlines", () => {
  it("each started timer fires its delay after now; a restart replaces the deadline", () => {
    const [, actions] = startCall(guideInvite(), testIdentity, [testTarget])
    const d = noteDeadlines({}, actions, 1000)
    expect(d).toEqual({ A: 1500, B: 33_000, C: 182_000 })
    expect(noteDeadlines(d, [{ _tag: "StartTimer", timer: "A", delayMs: 1000 }], 1500)).toEqual({
      ...d,
      A: 2500,
    })
  })

  it("a new owner arms every timer at its deadline, at once when it passed while nobody owned the call", () => {
    expect(resumeTimers({ A: 1500, B: 33_000, C: 182_000 }, 10_000)).toEqual([
      { _tag: "StartTimer", timer: "A", delayMs: 0 },
      { _tag: "StartTimer", timer: "B", delayMs: 23_000 },
      { _tag: "StartTimer", timer: "C", delayMs: 172_000 },
    ])
    expect(resumeTimers({}, 10_000)).toEqual([])
  })

  it("the re-armed timers do what the machine says for the restored phase", () => {
    // Calling, nothing heard: Timer A retransmits the stored B-leg INVITE (with the dead owner's branch).
    const [calling] = startCall(guideInvite(), testIdentity, [testTarget])
    const [, onA] = stepCall(restored(calling), { _tag: "TimerFired", timer: "A" })
    expect(sentOn(onA, "SendB").map((m) => m.kind === "request" && branchOf(m))).toEqual([
      branchOf(calling.bInvite),
    ])
    // Early: Timer A and B no longer apply; Timer C still ends a call that rings too long (408 + CANCEL).
    const early = restored(ringing())
    expect(stepCall(early, { _tag: "TimerFired", timer: "A" })[1]).toEqual([])
    expect(stepCall(early, { _tag: "TimerFired", timer: "B" })[1]).toEqual([])
    const [, onC] = stepCall(early, { _tag: "TimerFired", timer: "C" })
    expect(sentOn(onC, "SendA").map((m) => m.kind === "response" && m.status)).toEqual([408])
    expect(sentOn(onC, "SendB").map((m) => m.kind === "request" && m.method)).toEqual(["CANCEL"])
  })
})

describe("a ringing call restored by a survivor", () => {
  it("B's 200 (to the dead owner's branch) is ACKed on B and relayed to A; A's ACK and BYE end both legs", () => {
    const before = ringing()
    const call = restored(before)
    const [answered, actions] = fromB(call, 200)
    expect(answered.phase).toBe("Answered")
    const [ack] = sentOn(actions, "SendB")
    expect(ack?.kind === "request" && ack.method).toBe("ACK")
    // The ACK of a 2xx is a new transaction (RFC 3261 §13.2.2.4): its branch names the new owner.
    expect(ack?.kind === "request" && branchOf(ack)).toMatch(/^z9hG4bKb2bccc2\./)
    const [ok] = sentOn(actions, "SendA")
    expect(ok?.kind === "response" && [ok.status, ok.toTag]).toEqual([200, before.aTag])
    expect(actions).toContainEqual<CallAction>({ _tag: "StartTimer", timer: "R", delayMs: 500 })
    const bye = wire(
      buildRequest({
        method: "BYE",
        uri: "sip:b2bua@192.0.2.10:5060",
        headers: [
          ["Via", "SIP/2.0/UDP 172.16.1.10:5060;branch=z9hG4bK-bye1"],
          ["From", call.aInvite.headerValues("From")[0]!],
          ["To", `<sip:2142622000@Telcosipserver.com>;tag=${call.aTag}`],
          ["Call-ID", call.aInvite.callId],
          ["CSeq", "2 BYE"],
        ],
      }),
    )
    const [ending, byeActions] = stepCall(answered, { _tag: "FromA", message: bye })
    expect(ending.phase).toBe("Ending")
    const [byeB] = sentOn(byeActions, "SendB")
    expect(byeB?.kind === "request" && [byeB.method, byeB.callId, byeB.toTag]).toEqual([
      "BYE",
      before.bCallId,
      "callee1",
    ])
  })

  it("A's CANCEL: 200 and 487 to A, and the CANCEL on B reuses the stored INVITE's branch (RFC 3261 §9.1)", () => {
    const before = ringing()
    const call = restored(before)
    const cancel = wire(
      buildRequest({
        method: "CANCEL",
        uri: call.aInvite.uri,
        headers: [
          ["Via", call.aInvite.headerValues("Via")[0]!],
          ["From", call.aInvite.headerValues("From")[0]!],
          ["To", call.aInvite.headerValues("To")[0]!],
          ["Call-ID", call.aInvite.callId],
          ["CSeq", `${call.aInvite.cseq.seq} CANCEL`],
        ],
      }),
    )
    const [ending, actions] = stepCall(call, { _tag: "FromA", message: cancel })
    expect(ending.phase).toBe("Ending")
    expect(sentOn(actions, "SendA").map((m) => m.kind === "response" && m.status)).toEqual([200, 487])
    const [cancelB] = sentOn(actions, "SendB")
    expect(cancelB?.kind === "request" && [cancelB.method, branchOf(cancelB)]).toEqual([
      "CANCEL",
      branchOf(before.bInvite),
    ])
    // B's 487 closes the B-leg: ACKed, the call ends.
    const [ended, onFinal] = fromB(ending, 487)
    expect(ended.phase).toBe("Ended")
    expect(sentOn(onFinal, "SendB").map((m) => m.kind === "request" && m.method)).toEqual(["ACK"])
  })
})
