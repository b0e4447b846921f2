/** Anchoring: the far end sees only the relay's address and ports (c=, m=, a=rtcp). */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { anchorMedia, parseSdpOrThrow, serializeSdp } from "../src/index.js"

const golden = fileURLToPath(new URL("./golden/", import.meta.url))
const relay = { netType: "IN", addrType: "IP4", address: "203.0.113.7" }

describe("anchorMedia", () => {
  it("rewrites session and media c=, ports and a=rtcp; leaves rejected streams alone", () => {
    const sdp = parseSdpOrThrow(readFileSync(`${golden}full-session.sdp`))
    const out = serializeSdp(
      anchorMedia(sdp, {
        connection: relay,
        streams: [{ port: 30000, rtcpPort: 30001 }, { port: 30002 }, { port: 1 }],
      }),
    )
    expect(out).toContain("\r\nc=IN IP4 203.0.113.7\r\nb=AS:128\r\n")
    expect(out).toContain("m=audio 30000 RTP/AVP 0 8 97\r\n")
    expect(out).toContain("a=rtcp:30001 IN IP4 203.0.113.7\r\n")
    expect(out).toContain("m=video 30002 RTP/AVP 31 32\r\nc=IN IP4 203.0.113.7\r\n")
    expect(out).toContain("m=audio 0 RTP/AVP 0\r\n")
    expect(out).not.toMatch(/198\.51\.100\.2/)
  })

  it("adds c= to each active stream when the session has none, after i=", () => {
    const sdp = parseSdpOrThrow(
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 4000/2 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 192.0.2.1\r\nm=image 5000 udptl t38\r\nc=IN IP4 192.0.2.1\r\na=rtcp:9\r\n",
    )
    const out = serializeSdp(
      anchorMedia(sdp, { connection: relay, streams: [{ port: 30010 }, { port: 30012 }] }),
    )
    expect(out).toBe(
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=audio 30010 RTP/AVP 0\r\ni=voice\r\nc=IN IP4 203.0.113.7\r\n" +
        "m=image 30012 udptl t38\r\nc=IN IP4 203.0.113.7\r\na=rtcp:30013\r\n",
    )
  })

  it("replaces legacy hold's 0.0.0.0 too (the direction carries the hold)", () => {
    const sdp = parseSdpOrThrow(readFileSync(`${golden}legacy-hold.sdp`))
    const out = serializeSdp(anchorMedia(sdp, { connection: relay, streams: [{ port: 30020 }] }))
    expect(out).not.toContain("0.0.0.0")
  })

  it("drops ICE candidates and credentials: they name the far end's addresses (RFC 8839 §5)", () => {
    const sdp = parseSdpOrThrow(
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\na=ice-lite\r\nm=audio 4000 RTP/AVP 0\r\n" +
        "a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\na=candidate:1 1 UDP 2130706431 192.0.2.1 4000 typ host\r\na=ptime:20\r\n",
    )
    expect(serializeSdp(anchorMedia(sdp, { connection: relay, streams: [{ port: 30030 }] }))).toBe(
      "v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nc=IN IP4 203.0.113.7\r\nt=0 0\r\nm=audio 30030 RTP/AVP 0\r\na=ptime:20\r\n",
    )
  })
})
