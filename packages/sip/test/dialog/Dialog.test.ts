import { describe, expect, it } from "vitest"
import {
  createReliableSender,
  createUacDialog,
  createUasDialog,
  initialRSeq,
  judgeReliableProvisional,
  MAX_RSEQ,
  nextLocalSeq,
  nextRSeq,
  onFinalResponse,
  onRemoteRequest,
  onTargetRefreshResponse,
  type RAckValue,
  requestTarget,
  stepReliableSender,
} from "../../src/index.js"

const uacFacts = {
  callId: "c1",
  localTag: "l1",
  remoteTag: "r1",
  localUri: "sip:alice@a.example",
  remoteUri: "sip:bob@b.example",
  cseq: 1,
  status: 180,
  contact: "sip:bob@192.0.2.4",
  requestUri: "sip:bob@b.example",
  recordRoute: ["<sip:p1.example;lr>", "<sip:p2.example;lr>"],
  secure: false,
}

describe("dialogs (RFC 3261 §12)", () => {
  it("§12.1.2 a 1xx with a To-tag creates an early UAC dialog with the route set reversed", () => {
    const d = createUacDialog(uacFacts)
    expect(d.state).toBe("Early")
    expect(d.routeSet).toEqual(["<sip:p2.example;lr>", "<sip:p1.example;lr>"])
    expect(d.remoteTarget).toBe("sip:bob@192.0.2.4")
    expect(d.localSeq).toBe(1)
  })

  it("§12.1.1 the UAS keeps the route set in order and records the remote CSeq", () => {
    const d = createUasDialog({ ...uacFacts, contact: "sip:alice@192.0.2.1", status: 200 })
    expect(d.state).toBe("Confirmed")
    expect(d.routeSet).toEqual(uacFacts.recordRoute)
    expect(d.remoteSeq).toBe(1)
    expect(nextLocalSeq(d)[1]).toBe(1)
  })

  it("§13.2.2.4 a 2xx confirms an early dialog and updates its target; a final non-2xx terminates it", () => {
    const d = createUacDialog(uacFacts)
    expect(onFinalResponse(d, 200, "sip:bob@192.0.2.5")).toMatchObject({
      state: "Confirmed",
      remoteTarget: "sip:bob@192.0.2.5",
    })
    expect(onFinalResponse(d, 486).state).toBe("Terminated")
  })

  it("§12.2.2 a request with a lower CSeq is refused with 500; a re-INVITE refreshes the target", () => {
    const d = createUasDialog({ ...uacFacts, cseq: 10, contact: "sip:alice@192.0.2.1", status: 200 })
    expect(onRemoteRequest(d, { method: "BYE", cseq: 9 })).toEqual({
      _tag: "Reject",
      status: 500,
      reason: "CSeq out of order",
    })
    const refreshed = onRemoteRequest(d, { method: "INVITE", cseq: 11, contact: "sip:alice@198.51.100.1" })
    expect(refreshed._tag === "Accept" && refreshed.dialog.remoteTarget).toBe("sip:alice@198.51.100.1")
    expect(refreshed._tag === "Accept" && refreshed.dialog.remoteSeq).toBe(11)
    const info = onRemoteRequest(d, { method: "INFO", cseq: 12, contact: "sip:x@y" })
    expect(info._tag === "Accept" && info.dialog.remoteTarget).toBe("sip:alice@192.0.2.1")
  })

  it("§12.2.1.2 the 2xx to our re-INVITE or UPDATE refreshes the target, INFO does not", () => {
    const d = createUacDialog({ ...uacFacts, status: 200 })
    expect(onTargetRefreshResponse(d, "UPDATE", 200, "sip:new@h").remoteTarget).toBe("sip:new@h")
    expect(onTargetRefreshResponse(d, "INFO", 200, "sip:new@h").remoteTarget).toBe("sip:bob@192.0.2.4")
  })

  it("§12.2.1.1 loose routing keeps the remote target as Request-URI", () => {
    const d = createUacDialog({ ...uacFacts, status: 200 })
    expect(requestTarget(d)).toEqual({
      requestUri: "sip:bob@192.0.2.4",
      routes: ["<sip:p2.example;lr>", "<sip:p1.example;lr>"],
    })
  })

  it("§12.2.1.1 strict routing puts the first route in the Request-URI and the target last", () => {
    const d = createUacDialog({
      ...uacFacts,
      status: 200,
      recordRoute: ["<sip:p1.example;lr>", "<sip:strict.example>"],
    })
    expect(requestTarget(d)).toEqual({
      requestUri: "sip:strict.example",
      routes: ["<sip:p1.example;lr>", "<sip:bob@192.0.2.4>"],
    })
  })

  it("§12.2.1.1 with an empty route set the Request-URI is the remote target", () => {
    expect(requestTarget(createUacDialog({ ...uacFacts, recordRoute: [] }))).toEqual({
      requestUri: "sip:bob@192.0.2.4",
      routes: [],
    })
  })
})

describe("reliable provisional responses (RFC 3262)", () => {
  it("§3 RSeq starts in range and wraps", () => {
    expect(initialRSeq(0)).toBe(1)
    expect(initialRSeq(0.999999)).toBeLessThan(MAX_RSEQ)
    expect(nextRSeq(MAX_RSEQ)).toBe(1)
  })

  it("§4 the UAC accepts in order, recognises retransmissions and drops out-of-order ones", () => {
    expect(judgeReliableProvisional(undefined, 77)).toBe("New")
    expect(judgeReliableProvisional(77, 78)).toBe("New")
    expect(judgeReliableProvisional(78, 78)).toBe("Retransmission")
    expect(judgeReliableProvisional(78, 80)).toBe("OutOfOrder")
  })

  it("§3 the UAS retransmits with T1 doubling until the matching PRACK", () => {
    const rack: RAckValue = { rseq: 5, cseq: 1, method: "INVITE" }
    let s = createReliableSender("183", rack, 500)
    const delays: number[] = []
    let effects = stepReliableSender(s, { _tag: "Start" })
    ;[s] = effects
    for (let i = 0; i < 3; i++) {
      effects = stepReliableSender(s, { _tag: "TimerFired" })
      ;[s] = effects
      for (const e of effects[1]) if (e._tag === "StartTimer") delays.push(e.delayMs)
    }
    expect(delays).toEqual([1000, 2000, 4000])
    expect(stepReliableSender(s, { _tag: "PrackReceived", rack: { ...rack, rseq: 4 } })[1]).toEqual([])
    const [acked, done] = stepReliableSender(s, { _tag: "PrackReceived", rack })
    expect(acked.state).toBe("Acknowledged")
    expect(done).toEqual([{ _tag: "CancelTimer" }, { _tag: "Acknowledged" }])
  })

  it("§3 the UAS gives up at 64*T1 without a PRACK", () => {
    let s = createReliableSender("183", { rseq: 1, cseq: 1, method: "INVITE" }, 500)
    let elapsed = 500
    let gaveUpAt = -1
    for (let i = 0; i < 20 && gaveUpAt < 0; i++) {
      const [next, effects] = stepReliableSender(s, { _tag: "TimerFired" })
      if (effects.some((e) => e._tag === "GiveUp")) gaveUpAt = elapsed
      for (const e of effects) if (e._tag === "StartTimer") elapsed += e.delayMs
      s = next
    }
    expect(gaveUpAt).toBe(32_000)
  })
})
