/** What the relay is told about each leg, and how relays are ranked for a new call. Pure. */
import { InstanceId } from "@b2bua/contracts"
import { parseSdpOrThrow } from "@b2bua/sdp"
import { describe, expect, it } from "vitest"
import { legSpecOf, mediaKindOf, orientMapping, relayPtMap } from "../src/MediaPlan.js"
import { rankRelays } from "../src/RelayDirectory.js"

const sdp = (text: string) => parseSdpOrThrow(text.replace(/\n/g, "\r\n"))

describe("legSpecOf", () => {
  it("reads remote, RTCP, mux, direction, event type and clock rate of a stream", () => {
    const s = sdp(
      "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.7\nt=0 0\nm=audio 4000 RTP/AVP 9 96 101\na=rtpmap:96 telephone-event/48000\na=rtpmap:101 telephone-event/8000\na=rtcp:4005 IN IP4 192.0.2.8\na=rtcp-mux\na=recvonly\n",
    )
    expect(legSpecOf(s, 0)).toEqual({
      remote: { host: "192.0.2.7", port: 4000 },
      remoteRtcp: { host: "192.0.2.8", port: 4005 },
      rtcpMux: true,
      telephoneEventPt: 101,
      clockRate: 8000,
      direction: "recvonly",
    })
  })

  it("leaves the remote to latching for legacy hold and host names; T.38 is UDPTL without RTP fields", () => {
    const held = sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n")
    expect(legSpecOf(held, 0)).toMatchObject({ remote: undefined, direction: "sendonly" })
    const named = sdp(
      "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 media.example.net\nt=0 0\nm=image 5000 udptl t38\n",
    )
    expect(legSpecOf(named, 0)).toEqual({ remote: undefined, direction: "sendrecv" })
    expect(mediaKindOf(named, 0)).toBe("udptl")
  })
})

describe("payload-type maps", () => {
  it("orients by the offering leg and keeps only numbers that differ, once per side", () => {
    const codec = { encoding: "telephone-event", clockRate: 8000 }
    const entries = orientMapping(
      [
        { stream: 0, codec: { encoding: "PCMU", clockRate: 8000 }, offerer: 0, answerer: 0 },
        { stream: 0, codec, offerer: 96, answerer: 101 },
        { stream: 1, codec, offerer: 97, answerer: 100 },
      ],
      "b",
    )
    expect(entries[1]).toEqual({ stream: 0, a: 101, b: 96 })
    expect(relayPtMap(entries, 0)).toEqual([{ a: 101, b: 96 }])
    expect(relayPtMap([...entries, { stream: 0, a: 101, b: 98 }], 0)).toEqual([{ a: 101, b: 96 }])
  })
})

describe("rankRelays", () => {
  const announce = (id: string, load: number, sessions = 0, capacity = 100) => ({
    v: 1 as const,
    relayId: InstanceId(id),
    address: "127.0.0.1",
    sessions,
    capacity,
    load,
  })
  it("keeps fresh relays with room, least loaded first", () => {
    const ranked = rankRelays(
      [
        { announce: announce("busy", 0.7), at: 1000 },
        { announce: announce("idle", 0.1), at: 1000 },
        { announce: announce("stale", 0.0), at: 0 },
        { announce: announce("full", 0.2, 100, 100), at: 1000 },
        { announce: announce("saturated", 1), at: 1000 },
      ],
      3000,
      2500,
    )
    expect(ranked.map((r) => r.relayId)).toEqual(["idle", "busy", "saturated"])
  })
})
