import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { encodeSipEnvelopeHeaders, InstanceId, ListenerId } from "@b2bua/contracts"
import {
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import {
  type BTarget,
  decodeCall,
  encodeCall,
  encodeSessionTimers,
  startCall,
  stepCall,
} from "../src/index.js"

const invite = parseMessageOrThrow(
  readFileSync(
    fileURLToPath(new URL("../../../packages/sip/test/golden/guide/09-invite.sip", import.meta.url)),
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

const dest: BTarget = {
  trunk: "out",
  host: "198.51.100.20",
  port: 5080,
  transport: "udp",
  called: "2142622000",
  caller: "2142621000",
  failoverCodes: [503],
  noAnswerMs: 8000,
  drop: ["diversion"],
}

describe("stored calls (takeover)", () => {
  it("round-trips an answered call", () => {
    const [c0] = startCall(
      invite,
      {
        owner: { kind: "callControl", instance: InstanceId("cc1") },
        random: "abc123",
        local: { host: "192.0.2.10", port: 5060 },
      },
      [dest, { ...dest, host: "198.51.100.21", transport: "tcp" }],
    )
    const ok = parseMessageOrThrow(
      serializeMessage(
        createResponse(c0.bInvite, 200, {
          toTag: "callee1",
          headers: [["Contact", "<sip:callee@198.51.100.20>"]],
        }),
      ),
    ) as SipResponse
    const [answered] = stepCall(c0, { _tag: "FromB", message: ok })
    const decoded = decodeCall(encodeCall("cc1", meta, answered))
    if (typeof decoded === "string") throw new Error(decoded)
    expect(decoded.owner).toBe("cc1")
    expect(encodeSipEnvelopeHeaders(decoded.aMeta)).toEqual(encodeSipEnvelopeHeaders(meta))
    const { aInvite, bInvite, aFinal, sessionTimer, ...rest } = decoded.call
    const { aInvite: a0, bInvite: b0, aFinal: f0, sessionTimer: t0, ...rest0 } = answered
    expect(rest).toEqual(rest0)
    // Session timers are stored in their plain form (SDPs as bytes): SessionTimer.test.ts.
    expect(encodeSessionTimers(sessionTimer)).toEqual(encodeSessionTimers(t0))
    expect(serializeMessage(aInvite).equals(serializeMessage(a0))).toBe(true)
    expect(serializeMessage(bInvite).equals(serializeMessage(b0))).toBe(true)
    expect(aFinal && serializeMessage(aFinal).equals(serializeMessage(f0!))).toBe(true)
  })

  it("names what is wrong with a damaged record", () => {
    expect(decodeCall(new TextEncoder().encode("{"))).toBe("stored call is not JSON")
    expect(decodeCall(new TextEncoder().encode('{"v":1,"owner":"Bad Owner"}'))).toBe(
      "stored call: bad version or owner",
    )
  })
})
