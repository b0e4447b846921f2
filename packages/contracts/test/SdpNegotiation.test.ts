import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  decodeSdpNegotiateReply,
  decodeSdpNegotiateRequest,
  encodeSdpNegotiateReply,
  encodeSdpNegotiateRequest,
  initialMediaState,
  type MediaStateV1,
  type SdpNegotiateRequestV1,
  SdpNegotiationContractError,
  sdpQueueGroup,
  sdpSubjects,
  sdpWarningHeader,
} from "../src/index.js"

const offer =
  "v=0\r\no=IPS 24669 0 IN IP4 172.16.1.11\r\ns=IPS\r\nc=IN IP4 172.16.1.11\r\nt=0 0\r\nm=audio 10006 RTP/AVP 0 101\r\n"

const state: MediaStateV1 = {
  relay: {
    relayId: "r1",
    address: "127.0.0.1",
    sessionBase: "k3j2h1",
    leaseMs: 60_000,
    streams: [
      {
        index: 0,
        sessionId: "k3j2h1-0",
        media: "rtp",
        a: { host: "127.0.0.1", rtpPort: 30000, rtcpPort: 30001 },
        b: { host: "127.0.0.1", rtpPort: 30002, rtcpPort: 30003 },
      },
    ],
  },
  legs: { a: { remote: offer, sessionId: "1", version: "1" }, b: { local: offer } },
  ptMap: [{ stream: 0, a: 101, b: 96 }],
  bypass: false,
}

const request: SdpNegotiateRequestV1 = {
  v: 1,
  callId: "bb-500690ed-0-21@172.16.1.10",
  owner: "cc7",
  leg: "a",
  kind: "offer",
  sdp: offer,
  policy: { allow: ["PCMU", "telephone-event"], order: ["PCMU"], t38: true },
  media: initialMediaState,
}

const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v))
const fieldOf = (r: unknown) => (r instanceof SdpNegotiationContractError ? r.field : "decoded")

describe("SDP negotiation contract v1", () => {
  it("has its subject and queue group", () => {
    expect(sdpSubjects.negotiate()).toBe("b2b.v1.sdp.negotiate")
    expect(sdpQueueGroup).toBe("sdp")
  })

  it("round-trips requests and both reply forms", () => {
    expect(decodeSdpNegotiateRequest(encodeSdpNegotiateRequest(request))).toEqual(request)
    const withState = { ...request, kind: "answer" as const, leg: "b" as const, media: state }
    expect(decodeSdpNegotiateRequest(encodeSdpNegotiateRequest(withState))).toEqual(withState)
    const ok = { v: 1 as const, ok: { sdp: offer, media: state } }
    expect(decodeSdpNegotiateReply(encodeSdpNegotiateReply(ok))).toEqual(ok)
    const refuse = {
      v: 1 as const,
      refuse: {
        status: 488 as const,
        reason: "no common codec",
        warning: { code: 305, text: "Incompatible media format" },
      },
    }
    expect(decodeSdpNegotiateReply(encodeSdpNegotiateReply(refuse))).toEqual(refuse)
  })

  it("names the defective field", () => {
    expect(fieldOf(decodeSdpNegotiateRequest(bytes({ ...request, leg: "c" })))).toBe("leg")
    expect(fieldOf(decodeSdpNegotiateRequest(bytes({ ...request, owner: "CC.7" })))).toBe("owner")
    expect(fieldOf(decodeSdpNegotiateRequest(bytes({ ...request, sdp: "x".repeat(70_000) })))).toBe("sdp")
    const badLeg = { ...request, media: { ...state, legs: { a: { local: 7 }, b: {} } } }
    expect(fieldOf(decodeSdpNegotiateRequest(bytes(badLeg)))).toBe("media.legs.a.local")
    const badPt = { ...request, media: { ...state, ptMap: [{ stream: 0, a: 128, b: 96 }] } }
    expect(fieldOf(decodeSdpNegotiateRequest(bytes(badPt)))).toBe("media.ptMap.0.a")
    const badPort = {
      ...request,
      media: {
        ...state,
        relay: {
          ...state.relay,
          streams: [{ ...state.relay!.streams[0], a: { host: "h", rtpPort: 0, rtcpPort: 1 } }],
        },
      },
    }
    expect(fieldOf(decodeSdpNegotiateRequest(bytes(badPort)))).toBe("media.relay.streams.0.a.rtpPort")
    expect(fieldOf(decodeSdpNegotiateReply(bytes({ v: 1, refuse: { status: 500, reason: "x" } })))).toBe(
      "refuse.status",
    )
    const future = decodeSdpNegotiateRequest(bytes({ ...request, v: 2 }))
    expect(future instanceof SdpNegotiationContractError && future.message).toBe(
      "SDP negotiation payload v: unsupported version 2",
    )
    expect(fieldOf(decodeSdpNegotiateRequest(new Uint8Array([0xff, 0x00])))).toBe("")
  })

  it("formats the Warning header of a 488", () => {
    expect(sdpWarningHeader({ code: 305, text: "Incompatible media format" }, "b2b.example.net")).toBe(
      '305 b2b.example.net "Incompatible media format"',
    )
  })

  it("never throws on arbitrary JSON", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const r = decodeSdpNegotiateRequest(bytes(v))
        expect(r instanceof SdpNegotiationContractError || r.v === 1).toBe(true)
        const q = decodeSdpNegotiateReply(bytes(v))
        expect(q instanceof SdpNegotiationContractError || q.v === 1).toBe(true)
      }),
      { numRuns: 500 },
    )
  })
})
