/**
 * SDP parse/serialize: the reference guide's offer and answer and a few real-world shapes as golden
 * files (byte-exact round trip, typed values), errors that name the line, and properties over arbitrary
 * input (only the tagged error, never a throw; parse ∘ serialize ∘ parse = parse).
 */
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  hasRtcpMux,
  mediaAttributes,
  mediaConnection,
  mediaDirection,
  origin,
  parseSdp,
  parseSdpOrThrow,
  ptimeOf,
  rtcpOf,
  SdpParseError,
  type SessionDescription,
  serializeSdp,
  serializeSdpBytes,
} from "../src/index.js"

const guideDir = fileURLToPath(new URL("../../sip/test/golden/guide/", import.meta.url))
const goldenDir = fileURLToPath(new URL("./golden/", import.meta.url))

/** The body of a SIP golden message: what follows the first empty line. */
const sipBody = (file: string): Buffer => {
  const bytes = readFileSync(guideDir + file)
  return bytes.subarray(bytes.indexOf("\r\n\r\n") + 4)
}

const errorOf = (text: string): SdpParseError => {
  const r = parseSdp(text.replace(/\n/g, "\r\n"))
  if (r.ok) throw new Error("expected a parse error")
  return r.error
}

const rtpmaps = (sdp: SessionDescription, index: number) =>
  mediaAttributes(sdp.media[index]!).flatMap((a) =>
    a.kind === "rtpmap" ? [`${a.payloadType} ${a.encoding}/${a.clockRate}`] : [],
  )

describe("the reference guide's SDP", () => {
  it("parses the INVITE's offer (guide §6.2) and writes it back byte-exact", () => {
    const body = sipBody("09-invite.sip")
    const sdp = parseSdpOrThrow(body)
    expect(Buffer.from(serializeSdpBytes(sdp)).equals(body)).toBe(true)
    expect(origin(sdp)).toEqual({
      username: "IPS",
      sessionId: "24669",
      sessionVersion: "0",
      netType: "IN",
      addrType: "IP4",
      address: "172.16.1.11",
    })
    const audio = sdp.media[0]!
    expect([audio.media, audio.port, audio.proto, audio.formats]).toEqual([
      "audio",
      10006,
      "RTP/AVP",
      ["0", "18", "101"],
    ])
    expect(rtpmaps(sdp, 0)).toEqual(["0 PCMU/8000", "18 G729/8000", "101 telephone-event/8000"])
    expect(mediaConnection(sdp, audio)?.address).toBe("172.16.1.11")
    expect(ptimeOf(audio)).toBe(20)
    expect(mediaDirection(sdp, audio)).toBe("sendrecv")
  })

  it("parses the 200 OK's answer (guide §6.5) and writes it back byte-exact", () => {
    const body = sipBody("12-invite-200.sip")
    const sdp = parseSdpOrThrow(body)
    expect(Buffer.from(serializeSdpBytes(sdp)).equals(body)).toBe(true)
    expect(sdp.media[0]!.port).toBe(10008)
    expect(rtpmaps(sdp, 0)).toEqual(["0 PCMU/8000", "101 telephone-event/8000"])
  })

  it("accepts bare LF line ends and writes CRLF", () => {
    const lf = sipBody("12-invite-200.sip").toString("utf8").replace(/\r\n/g, "\n")
    expect(serializeSdp(parseSdpOrThrow(lf))).toBe(sipBody("12-invite-200.sip").toString("utf8"))
  })
})

describe("golden descriptions", () => {
  const files = readdirSync(goldenDir).filter((f) => f.endsWith(".sdp"))
  it("has the golden files", () => expect(files.length).toBe(4))
  for (const file of files) {
    it(`${file} round-trips byte-exact`, () => {
      const bytes = readFileSync(goldenDir + file)
      expect(Buffer.from(serializeSdpBytes(parseSdpOrThrow(bytes))).equals(bytes)).toBe(true)
    })
  }

  it("types every line of a full session", () => {
    const sdp = parseSdpOrThrow(readFileSync(`${goldenDir}full-session.sdp`))
    expect(sdp.session.map((l) => l.type)).toEqual([
      "v",
      "o",
      "s",
      "i",
      "u",
      "e",
      "p",
      "c",
      "b",
      "t",
      "r",
      "z",
      "k",
      "a",
      "unknown",
      "a",
    ])
    expect(sdp.session.find((l) => l.type === "unknown")).toEqual({
      type: "unknown",
      letter: "x",
      text: "an unknown line type kept in place",
    })
    expect(sdp.media).toHaveLength(3)
    const [audio, video, disabled] = sdp.media
    expect(rtcpOf(audio!)).toEqual({
      kind: "rtcp",
      port: 49171,
      connection: { netType: "IN", addrType: "IP4", address: "198.51.100.1" },
    })
    expect(mediaAttributes(audio!).find((a) => a.kind === "maxptime")).toEqual({ kind: "maxptime", ms: 60 })
    expect(mediaDirection(sdp, audio!)).toBe("sendrecv")
    // No direction in the media section: the session's recvonly applies (RFC 8866 §6.7).
    expect(mediaDirection(sdp, video!)).toBe("sendonly")
    expect(mediaConnection(sdp, video!)?.address).toBe("198.51.100.2")
    expect(hasRtcpMux(video!)).toBe(true)
    expect(disabled!.port).toBe(0)
    expect(mediaAttributes(disabled!)[0]).toEqual({
      kind: "other",
      name: "extmap",
      value: "1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
    })
  })

  it("reads T.38 and multi-channel rtpmaps", () => {
    const t38 = parseSdpOrThrow(readFileSync(`${goldenDir}t38-reinvite.sdp`))
    expect([t38.media[0]!.media, t38.media[0]!.proto, t38.media[0]!.formats]).toEqual([
      "image",
      "udptl",
      ["t38"],
    ])
    const opus = parseSdpOrThrow(readFileSync(`${goldenDir}stereo-opus.sdp`))
    expect(mediaAttributes(opus.media[0]!)[1]).toEqual({
      kind: "rtpmap",
      payloadType: 111,
      encoding: "opus",
      clockRate: 48000,
      channels: 2,
    })
    // RFC 8866 §5.3 recommends "s= " (one space) when there is no name: kept as written.
    expect(opus.session.find((l) => l.type === "s")).toEqual({ type: "s", text: " " })
  })
})

describe("errors name the line and the defect", () => {
  const base = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n"
  const cases: ReadonlyArray<[string, string, number, string]> = [
    ["empty", "", 1, "empty description: expected v=0"],
    ["not v= first", "o=- 1 1 IN IP4 192.0.2.1\n", 1, "the first line must be v=0 (RFC 8866 §5)"],
    ["version", "v=1\n", 1, 'v=: unsupported version "1"'],
    ["no type", `${base}hello\n`, 6, "expected <type>=<value>"],
    ["blank line inside", `${base}\nm=audio 1 RTP/AVP 0\n`, 6, "empty line"],
    ["bad port", `${base}m=audio 70000 RTP/AVP 0\n`, 6, "m=: port must be 0-65535"],
    [
      "bad rtpmap",
      `${base}m=audio 4000 RTP/AVP 0\na=rtpmap:128 X/8000\n`,
      7,
      "a=rtpmap: payload type must be 0-127",
    ],
    [
      "rtpmap rate",
      `${base}m=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU\n`,
      7,
      "a=rtpmap: clock rate must be a positive integer",
    ],
    ["fmtp", `${base}m=audio 4000 RTP/AVP 0\na=fmtp:101\n`, 7, "a=fmtp: expected <format> <parameters>"],
    [
      "ptime",
      `${base}m=audio 4000 RTP/AVP 0\na=ptime:0\n`,
      7,
      "a=ptime: expected a positive number of milliseconds",
    ],
    ["direction value", `${base}a=sendonly:yes\n`, 6, "a=sendonly: takes no value"],
    ["rtcp", `${base}m=audio 4000 RTP/AVP 0\na=rtcp:x\n`, 7, "a=rtcp: port must be 0-65535"],
    [
      "o= in media",
      `${base}m=audio 4000 RTP/AVP 0\no=- 1 1 IN IP4 192.0.2.1\n`,
      7,
      "o= is not allowed in a media description",
    ],
    ["second s=", `${base}s=again\n`, 6, "second s= line"],
    [
      "origin fields",
      "v=0\no=- 1 IN IP4 192.0.2.1\n",
      2,
      "o=: expected <username> <sess-id> <sess-version> <nettype> <addrtype> <address>",
    ],
    ["origin version", "v=0\no=- 1 x IN IP4 192.0.2.1\n", 2, "o=: sess-version must be digits"],
    [
      "connection",
      "v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4\n",
      4,
      "c=: expected <nettype> <addrtype> <connection-address>",
    ],
    ["bandwidth", `${base}b=AS:lots\n`, 6, "b=: expected <bwtype>:<bandwidth>"],
    ["time", `${base}t=now 0\n`, 6, "t=: expected <start-time> <stop-time> in decimal seconds"],
    [
      "no c=",
      "v=0\no=- 1 1 IN IP4 h\ns=-\nt=0 0\nm=audio 4000 RTP/AVP 0\n",
      5,
      "no c= line in this media description nor at session level",
    ],
    ["no o=", "v=0\ns=-\n", 0, "missing o= line (RFC 8866 §5.2)"],
    ["CR inside", `${base}a=x\ry\n`, 6, "bare CR inside the line"],
  ]
  for (const [name, text, line, defect] of cases) {
    it(name, () => {
      const e = errorOf(text)
      expect(e).toBeInstanceOf(SdpParseError)
      expect([e.line, e.defect]).toEqual([line, defect])
    })
  }

  it("names a line that is not UTF-8, and refuses oversized input", () => {
    const bytes = Buffer.concat([Buffer.from("v=0\r\ns=\xff", "latin1"), Buffer.from("\r\n")])
    const r = parseSdp(bytes)
    expect(!r.ok && [r.error.line, r.error.message]).toEqual([2, "SDP line 2: not valid UTF-8"])
    const big = parseSdp(`v=0\r\n${"a=x\r\n".repeat(20)}`, { maxBytes: 64 })
    expect(!big.ok && big.error.message).toBe("SDP: larger than 64 octets")
  })

  it("accepts a disabled stream without c= and keeps runs of spaces out of the output", () => {
    const sdp = parseSdpOrThrow("v=0\r\no=-  1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 31\r\n")
    expect(serializeSdp(sdp)).toBe("v=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\nm=video 0 RTP/AVP 31\r\n")
  })
})

// Arbitrary SDP-shaped text: mostly valid records, some broken, so both paths are exercised.
const sdpLike = fc
  .array(
    fc.oneof(
      {
        weight: 8,
        arbitrary: fc.constantFrom(
          "i=info",
          "c=IN IP4 192.0.2.1",
          "t=0 0",
          "b=AS:64",
          "m=audio 4000 RTP/AVP 0 101",
          "m=image 0 udptl t38",
          "a=rtpmap:0 PCMU/8000",
          "a=rtpmap:101 telephone-event/8000",
          "a=fmtp:101 0-15",
          "a=ptime:20",
          "a=sendonly",
          "a=rtcp:4001",
          "a=rtcp-mux",
          "x=unknown",
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.constantFrom(..."vosiuepcbtrzkamx"), fc.string({ maxLength: 30 }))
          .map(([t, v]) => `${t}=${v}`),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
    ),
    { maxLength: 25 },
  )
  .chain((lines) =>
    fc
      .constantFrom("\r\n", "\n")
      .map((eol) => ["v=0", "o=- 1 2 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", ...lines, ""].join(eol)),
  )

describe("properties", () => {
  it("random bytes give a result or the tagged error, never a throw", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseSdp(bytes)
        expect(r.ok || r.error instanceof SdpParseError).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it("SDP-shaped text never throws; parse ∘ serialize ∘ parse = parse", () => {
    let parsed = 0
    fc.assert(
      fc.property(sdpLike, (text) => {
        const r = parseSdp(text)
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(SdpParseError)
          return
        }
        parsed++
        const again = parseSdp(serializeSdp(r.sdp))
        expect(again.ok && again.sdp).toEqual(r.sdp)
        // Serialization is a fixed point after one pass.
        expect(serializeSdp(parseSdpOrThrow(serializeSdp(r.sdp)))).toBe(serializeSdp(r.sdp))
      }),
      { numRuns: 3000 },
    )
    // The generator must reach the success path, or the property says nothing.
    expect(parsed).toBeGreaterThan(100)
  })
})
