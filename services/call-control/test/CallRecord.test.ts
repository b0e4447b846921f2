/** The stored call (KV `calls`): every phase round-trips, setup state included, and damage is named. */
import { encodeSipEnvelopeHeaders, InstanceId, ListenerId } from "@b2bua/contracts"
import {
  buildRequest,
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { type Call, decodeCall, encodeCall, encodeSessionTimers, startCall, stepCall } from "../src/index.js"
import type { Deadlines } from "../src/Takeover.js"
import { guideInviteText, testIdentity, testTarget, wire } from "./fixtures.js"

const invite = (with100rel = false) =>
  parseMessageOrThrow(
    Buffer.from(
      with100rel ? guideInviteText.replace("\r\nCSeq:", "\r\nSupported: 100rel\r\nCSeq:") : guideInviteText,
      "latin1",
    ),
  ) as SipRequest

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

const dest = testTarget
const start = (with100rel = false): Call =>
  startCall(invite(with100rel), testIdentity, [dest, { ...dest, host: "198.51.100.21", transport: "tcp" }])[0]

const fromB = (call: Call, status: number, headers: ReadonlyArray<readonly [string, string]> = []) =>
  stepCall(call, {
    _tag: "FromB",
    message: wire(
      createResponse(call.bInvite, status, {
        toTag: "callee1",
        headers: [["Contact", "<sip:callee@198.51.100.20:5080>"], ...headers],
      }),
    ),
  })[0]

const cancelFromA = (call: Call) =>
  stepCall(call, {
    _tag: "FromA",
    message: wire(
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
    ),
  })[0]

/** A call with its messages as wire bytes, so that two calls compare by what they would send. */
const comparable = (call: Call) => {
  const bytes = (m: SipRequest | SipResponse | undefined) =>
    m === undefined ? undefined : serializeMessage(m).toString("latin1")
  const { aInvite, bInvite, aFinal, aProvisional, bOwnPrack, reliable, sessionTimer, ...rest } = call
  return {
    ...rest,
    // Session timers are stored in their plain form (SDPs as bytes): SessionTimer.test.ts.
    sessionTimer: encodeSessionTimers(sessionTimer),
    aInvite: bytes(aInvite),
    bInvite: bytes(bInvite),
    aFinal: bytes(aFinal),
    aProvisional: bytes(aProvisional),
    bOwnPrack: bytes(bOwnPrack),
    reliable:
      reliable === undefined
        ? undefined
        : { ...reliable, sender: { ...reliable.sender, response: bytes(reliable.sender.response) } },
  }
}

const roundTrip = (call: Call, deadlines: Deadlines = {}) => {
  const decoded = decodeCall(encodeCall("cc1", meta, call, undefined, deadlines))
  if (typeof decoded === "string") throw new Error(decoded)
  return decoded
}

const phases: ReadonlyArray<readonly [string, () => Call]> = [
  ["Calling: the B-leg INVITE sent, nothing heard", () => start()],
  ["Calling: B's 100 Trying heard", () => fromB(start(), 100)],
  ["Early: B's 180 relayed", () => fromB(start(), 180)],
  [
    "Early: B's reliable 183 relayed reliably, awaiting A's PRACK (RFC 3262 §3)",
    () =>
      fromB(start(true), 183, [
        ["Require", "100rel"],
        ["RSeq", "7"],
      ]),
  ],
  [
    "Early: B's reliable 183 PRACKed by the suite itself (A without 100rel)",
    () =>
      fromB(start(false), 183, [
        ["Require", "100rel"],
        ["RSeq", "7"],
      ]),
  ],
  ["Answered: B's 200 relayed, A's ACK not yet in", () => fromB(fromB(start(), 180), 200)],
  ["Ending: A's CANCEL while ringing (487 to A, CANCEL on B)", () => cancelFromA(fromB(start(), 180))],
]

describe("stored calls (takeover)", () => {
  for (const [name, make] of phases) {
    it(`round-trips a call in ${name}`, () => {
      const call = make()
      const deadlines = { A: 1_700_000_000_500, B: 1_700_000_032_000, C: 1_700_000_181_000 }
      const decoded = roundTrip(call, deadlines)
      expect(decoded.owner).toBe("cc1")
      expect(decoded.deadlines).toEqual(deadlines)
      expect(encodeSipEnvelopeHeaders(decoded.aMeta)).toEqual(encodeSipEnvelopeHeaders(meta))
      // What a takeover leaves out (a pending re-INVITE, BYEs, relays) is empty in these phases anyway.
      expect(comparable(decoded.call)).toEqual(comparable(call))
    })
  }

  it("keeps the B-leg INVITE's branch, which B's responses and the CANCEL carry (RFC 3261 §9.1)", () => {
    const early = fromB(start(), 180)
    const restored = roundTrip(early).call
    expect(restored.bInvite.topVia.params).toContainEqual([
      "branch",
      early.bInvite.topVia.params.find(([n]) => n === "branch")![1],
    ])
    expect(restored.phase).toBe("Early")
    expect(restored.bRemoteTag).toBe("callee1")
    expect(restored.reliable).toBeUndefined()
  })

  it("restores the reliable provisional's sender so A's PRACK still matches it", () => {
    const call = fromB(start(true), 183, [
      ["Require", "100rel"],
      ["RSeq", "7"],
    ])
    expect(call.reliable).toBeDefined()
    const restored = roundTrip(call).call
    expect(restored.reliable?.sender.rack).toEqual(call.reliable?.sender.rack)
    expect(restored.reliable?.sender.state).toBe("Sending")
    expect(restored.reliable?.bRSeq).toBe(7)
  })

  it("names what is wrong with a damaged record", () => {
    expect(decodeCall(new TextEncoder().encode("{"))).toBe("stored call is not JSON")
    expect(decodeCall(new TextEncoder().encode('{"v":1,"owner":"Bad Owner"}'))).toBe(
      "stored call: bad version or owner",
    )
    const good = JSON.parse(new TextDecoder().decode(encodeCall("cc1", meta, start())))
    expect(decodeCall(new TextEncoder().encode(JSON.stringify({ ...good, deadlines: { Z: 1 } })))).toBe(
      "stored call: deadlines",
    )
    expect(
      decodeCall(
        new TextEncoder().encode(JSON.stringify({ ...good, call: { ...good.call, reliable: { bRSeq: 1 } } })),
      ),
    ).toBe("stored call: unreadable messages")
  })

  it("reads a record written before setup state was stored (no deadlines, no PRACK fields)", () => {
    const good = JSON.parse(new TextDecoder().decode(encodeCall("cc1", meta, start())))
    const { deadlines: _d, ...older } = good
    const { reliable: _r, bOwnPrack: _p, ...olderCall } = good.call
    const decoded = decodeCall(new TextEncoder().encode(JSON.stringify({ ...older, call: olderCall })))
    if (typeof decoded === "string") throw new Error(decoded)
    expect(decoded.deadlines).toEqual({})
    expect(decoded.call.reliable).toBeUndefined()
  })
})
