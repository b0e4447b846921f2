/** Failover across the route's targets, in the pure Call machine. */
import { InstanceId } from "@b2bua/contracts"
import { createResponse, parseMessageOrThrow, type SipResponse, serializeMessage } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type BTarget, type Call, type CallAction, startCall, stepCall } from "../src/index.js"
import { guideInvite } from "./fixtures.js"

const invite = guideInvite

const first: BTarget = {
  trunk: "carrier-a",
  host: "198.51.100.20",
  port: 5080,
  transport: "udp",
  called: "2142622000",
  caller: "+12142621000",
  failoverCodes: [408, 503],
  noAnswerMs: 4000,
  drop: ["p-asserted-identity"],
}
const second: BTarget = {
  ...first,
  trunk: "carrier-b",
  host: "203.0.113.5",
  port: 5060,
  transport: "tcp",
  called: "0012142622000",
}
const id = {
  owner: { kind: "callControl" as const, instance: InstanceId("cc1") },
  random: "f00f00",
  local: { host: "192.0.2.10", port: 5060 },
}

const reply = (call: Call, status: number, body = ""): SipResponse =>
  parseMessageOrThrow(
    serializeMessage(
      createResponse(call.bInvite, status, {
        toTag: `gw${status}`,
        ...(body === "" ? {} : { body: Buffer.from(body), contentType: "application/sdp" }),
      }),
    ),
  ) as SipResponse

const sends = (actions: ReadonlyArray<CallAction>) =>
  actions.flatMap((a) => (a._tag === "SendA" || a._tag === "SendB" ? [a] : []))

describe("failover", () => {
  it("a 503 from the first gateway: ACK it there, INVITE the next (new branch, CSeq+1, its numbers and transport)", () => {
    const [c0, start] = startCall(invite(), id, [first, second])
    expect(start).toContainEqual({ _tag: "Attempt", trunk: "carrier-a" })
    expect(start).toContainEqual({ _tag: "StartTimer", timer: "B", delayMs: 4000 })
    expect(c0.bInvite.uri).toBe("sip:2142622000@198.51.100.20:5080")
    expect(c0.bInvite.headerValues("From")[0]).toMatch(/^<sip:\+12142621000@192\.0\.2\.10>/)
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: reply(c0, 503) })
    const [ack, inviteB] = sends(actions)
    expect(ack?._tag === "SendB" && ack.message.kind === "request" && ack.message.method).toBe("ACK")
    expect(ack?._tag === "SendB" && ack.to).toEqual({ host: "198.51.100.20", port: 5080 })
    expect(actions).toContainEqual({ _tag: "Attempt", trunk: "carrier-b" })
    // The last target gets the full Timer B.
    expect(actions).toContainEqual({ _tag: "StartTimer", timer: "B", delayMs: 32_000 })
    expect(inviteB?._tag === "SendB" && [inviteB.to, inviteB.transport]).toEqual([
      { host: "203.0.113.5", port: 5060 },
      "tcp",
    ])
    const b = c1.bInvite
    expect(b.uri).toBe("sip:0012142622000@203.0.113.5:5060;transport=tcp")
    expect(b.cseq.seq).toBe(2)
    expect(b.callId).toBe(c0.bInvite.callId)
    expect(b.headerValues("Via")[0]).not.toBe(c0.bInvite.headerValues("Via")[0])
    expect(b.topVia?.transport).toBe("TCP")
    expect(b.headerValues("P-Asserted-Identity")).toEqual([])
    expect(c1.phase).toBe("Calling")
    expect(c1.aFinal).toBeUndefined()
    // The second gateway answers: the call proceeds as usual; a late 503 retransmission of the first is ignored.
    const [c2] = stepCall(c1, { _tag: "FromB", message: reply(c1, 180) })
    expect(stepCall(c2, { _tag: "FromB", message: reply(c0, 503) })[1]).toEqual([])
  })

  it("the last target's failure is relayed to A", () => {
    const [c0] = startCall(invite(), id, [first])
    const [c1, actions] = stepCall(c0, { _tag: "FromB", message: reply(c0, 503) })
    expect(c1.phase).toBe("Ended")
    const toA = sends(actions).find((a) => a._tag === "SendA")
    expect(toA?.message.kind === "response" && toA.message.status).toBe(503)
  })

  it("codes outside the trunk's list end the call (a 486 is the callee's answer, not the gateway's failure)", () => {
    const [c0] = startCall(invite(), id, [first, second])
    const [c1] = stepCall(c0, { _tag: "FromB", message: reply(c0, 486) })
    expect(c1.phase).toBe("Ended")
    expect(c1.aFinal?.status).toBe(486)
  })

  it("a silent gateway: Timer B moves on to the next", () => {
    const [c0] = startCall(invite(), id, [first, second])
    const [c1, actions] = stepCall(c0, { _tag: "TimerFired", timer: "B" })
    expect(actions).toContainEqual({ _tag: "Attempt", trunk: "carrier-b" })
    expect(c1.dest.trunk).toBe("carrier-b")
  })

  it("never after early media: a 183 with SDP relayed, then 503, ends the call with 503", () => {
    const [c0] = startCall(invite(), id, [first, second])
    const [c1] = stepCall(c0, { _tag: "FromB", message: reply(c0, 183, "v=0\r\n") })
    expect(c1.earlyMedia).toBe(true)
    const [c2, actions] = stepCall(c1, { _tag: "FromB", message: reply(c1, 503) })
    expect(c2.phase).toBe("Ended")
    expect(actions.some((a) => a._tag === "Attempt")).toBe(false)
    // A 180 without a body is no early media: failover still happens.
    const [d1] = stepCall(c0, { _tag: "FromB", message: reply(c0, 180) })
    const [d2] = stepCall(d1, { _tag: "FromB", message: reply(d1, 503) })
    expect(d2.dest.trunk).toBe("carrier-b")
  })
})
