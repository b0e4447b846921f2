/**
 * RFC 3264 offer/answer through the B2BUA: the guide's offer and answer, codec policy, payload-type
 * mapping between legs, T.38, hold, rejected streams, and properties over generated offers.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  answerOffer,
  type CodecPolicy,
  codecKey,
  DEFAULT_CODEC_POLICY,
  type ForwardedAnswer,
  type ForwardedOffer,
  formatsOf,
  forwardAnswer,
  forwardOffer,
  InvalidAnswer,
  mediaDirection,
  NoCommonMedia,
  parseSdpOrThrow,
  policyAllows,
  type SessionDescription,
  serializeSdp,
  warningHeaderValue,
} from "../src/index.js"

const guideDir = fileURLToPath(new URL("../../sip/test/golden/guide/", import.meta.url))
const goldenDir = fileURLToPath(new URL("./golden/", import.meta.url))
const sipBody = (file: string): string => {
  const text = readFileSync(guideDir + file, "utf8")
  return text.slice(text.indexOf("\r\n\r\n") + 4)
}
const sdp = (text: string): SessionDescription => parseSdpOrThrow(text.replace(/\r?\n/g, "\r\n"))
const guideOffer = parseSdpOrThrow(sipBody("09-invite.sip"))
const guideAnswer = parseSdpOrThrow(sipBody("12-invite-200.sip"))

const policy = (p: Partial<CodecPolicy>): CodecPolicy => ({ ...DEFAULT_CODEC_POLICY, ...p })

const offered = (input: Parameters<typeof forwardOffer>[0]): ForwardedOffer => {
  const r = forwardOffer(input)
  if (r instanceof NoCommonMedia) throw r
  return r
}
const answered = (input: Parameters<typeof forwardAnswer>[0]): ForwardedAnswer => {
  const r = forwardAnswer(input)
  if (r instanceof NoCommonMedia || r instanceof InvalidAnswer) throw r
  return r
}
const mLine = (s: SessionDescription, i = 0) => {
  const m = s.media[i]!
  return `${m.media} ${m.port} ${m.proto} ${m.formats.join(" ")}`
}
const aLines = (s: SessionDescription, i = 0) =>
  serializeSdp({ session: [], media: [s.media[i]!] })
    .split("\r\n")
    .filter((l) => l.startsWith("a="))

describe("forwarding the guide's offer and answer", () => {
  it("passes the offer unchanged under the default policy (already in preference order)", () => {
    const r = offered({ offer: guideOffer, policy: DEFAULT_CODEC_POLICY, targetHistory: [] })
    expect(serializeSdp(r.sdp)).toBe(sipBody("09-invite.sip"))
    expect(r.mapping.map((m) => [m.codec.encoding, m.offerer, m.answerer])).toEqual([
      ["PCMU", 0, 0],
      ["G729", 18, 18],
      ["telephone-event", 101, 101],
    ])
  })

  it("relays the 200's answer back with its ptime and the payload-type map", () => {
    const r = answered({ offer: guideOffer, forwarded: guideOffer, answer: guideAnswer })
    expect(mLine(r.sdp)).toBe("audio 10008 RTP/AVP 0 101")
    expect(aLines(r.sdp)).toEqual(["a=rtpmap:0 PCMU/8000", "a=ptime:20", "a=rtpmap:101 telephone-event/8000"])
    expect(r.mapping.map((m) => [m.codec.encoding, m.offerer, m.answerer])).toEqual([
      ["PCMU", 0, 0],
      ["telephone-event", 101, 101],
    ])
  })
})

describe("codec policy", () => {
  it("drops denied codecs with their rtpmap and fmtp, orders by preference", () => {
    const r = offered({
      offer: guideOffer,
      policy: policy({ deny: ["G729"], order: ["telephone-event", "PCMU"] }),
      targetHistory: [],
    })
    expect(mLine(r.sdp)).toBe("audio 10006 RTP/AVP 101 0")
    expect(aLines(r.sdp)).toEqual([
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-15",
      "a=ptime:20",
      "a=sendrecv",
    ])
  })

  it("passes unlisted codecs only when allowed", () => {
    const offer = sdp(
      "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=audio 4000 RTP/AVP 97 8\na=rtpmap:97 AMR/8000\n",
    )
    expect(mLine(offered({ offer, policy: DEFAULT_CODEC_POLICY, targetHistory: [] }).sdp)).toBe(
      "audio 4000 RTP/AVP 8 97",
    )
    expect(mLine(offered({ offer, policy: policy({ allow: ["PCMA"] }), targetHistory: [] }).sdp)).toBe(
      "audio 4000 RTP/AVP 8",
    )
    expect(
      policyAllows(policy({ allow: ["telephone-event/8000"] }), {
        encoding: "TELEPHONE-EVENT",
        clockRate: 8000,
      }),
    ).toBe(true)
    expect(
      policyAllows(policy({ allow: ["telephone-event/8000"] }), {
        encoding: "telephone-event",
        clockRate: 48000,
      }),
    ).toBe(false)
  })

  it("refuses with 305 when no codec is common, 304 when no media type is", () => {
    const none = forwardOffer({
      offer: guideOffer,
      policy: policy({ allow: ["PCMA", "telephone-event"] }),
      targetHistory: [],
    })
    expect(none).toBeInstanceOf(NoCommonMedia)
    expect(none instanceof NoCommonMedia && warningHeaderValue(none, "b2bua.example")).toBe(
      '305 b2bua.example "Incompatible media format"',
    )
    const video = sdp("v=0\no=- 1 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\nm=video 5000 RTP/AVP 31\n")
    const r = forwardOffer({ offer: video, policy: policy({ media: ["audio"] }), targetHistory: [] })
    expect(r instanceof NoCommonMedia && r.warning).toBe(304)
  })
})

describe("payload types between legs", () => {
  const offer101 = guideOffer
  // The callee's earlier answer bound telephone-event to 96 on its leg.
  const calleeHistory = sdp(
    "v=0\no=- 7 1 IN IP4 192.0.2.9\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 6000 RTP/AVP 0 96\na=rtpmap:96 telephone-event/8000\n",
  )

  it("keeps the number a leg already bound: 101 on one side, 96 on the other", () => {
    const r = offered({ offer: offer101, policy: DEFAULT_CODEC_POLICY, targetHistory: [calleeHistory] })
    expect(mLine(r.sdp)).toBe("audio 10006 RTP/AVP 0 18 96")
    expect(aLines(r.sdp)).toContain("a=rtpmap:96 telephone-event/8000")
    expect(aLines(r.sdp)).toContain("a=fmtp:96 0-15")
    const back = answered({ offer: offer101, forwarded: r.sdp, answer: calleeHistory })
    expect(mLine(back.sdp)).toBe("audio 6000 RTP/AVP 0 101")
    expect(back.mapping.find((m) => m.codec.encoding === "telephone-event")).toMatchObject({
      offerer: 101,
      answerer: 96,
    })
  })

  it("moves a codec off a number the other leg uses for something else", () => {
    const history = sdp(
      "v=0\no=- 7 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 6000 RTP/AVP 101 96\na=rtpmap:101 G7221/16000\na=rtpmap:96 AMR/8000\n",
    )
    const r = offered({ offer: offer101, policy: DEFAULT_CODEC_POLICY, targetHistory: [history] })
    expect(mLine(r.sdp)).toBe("audio 10006 RTP/AVP 0 18 97")
  })

  it("maps an answer that renumbered a dynamic type (RFC 3264 §6.1 SHOULD, not MUST)", () => {
    const answer = sdp(
      "v=0\no=- 7 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 6000 RTP/AVP 18 100\na=rtpmap:100 telephone-event/8000\na=ptime:30\n",
    )
    const r = answered({ offer: guideOffer, forwarded: guideOffer, answer })
    expect(mLine(r.sdp)).toBe("audio 6000 RTP/AVP 18 101")
    expect(aLines(r.sdp)).toEqual(["a=rtpmap:101 telephone-event/8000", "a=ptime:30"])
  })

  it("drops answered codecs that were never offered, rejects a stream left with none", () => {
    const answer = sdp("v=0\no=- 7 1 IN IP4 h\ns=-\nc=IN IP4 192.0.2.9\nt=0 0\nm=audio 6000 RTP/AVP 8\n")
    const r = forwardAnswer({ offer: guideOffer, forwarded: guideOffer, answer })
    expect(r instanceof NoCommonMedia && r.warning).toBe(305)
    const two = sdp(`${sipBody("09-invite.sip")}m=video 0 RTP/AVP 31\n`)
    const short = forwardAnswer({ offer: two, forwarded: two, answer: guideAnswer })
    expect(short).toBeInstanceOf(InvalidAnswer)
  })
})

describe("streams, T.38 and hold", () => {
  it("keeps rejected and refused streams in place, with port 0", () => {
    const offer = sdp(
      `${sipBody("09-invite.sip")}m=video 0 RTP/AVP 31\nm=application 9000 TCP/MRCPv2 1\n`.replace(
        /\r\n/g,
        "\n",
      ),
    )
    const r = offered({ offer, policy: policy({ media: ["audio"] }), targetHistory: [] })
    expect(r.sdp.media.map((m) => [m.media, m.port])).toEqual([
      ["audio", 10006],
      ["video", 0],
      ["application", 0],
    ])
    const answer = sdp(
      `${sipBody("12-invite-200.sip")}m=video 0 RTP/AVP 31\nm=application 0 TCP/MRCPv2 1\n`.replace(
        /\r\n/g,
        "\n",
      ),
    )
    const back = answered({ offer, forwarded: r.sdp, answer })
    expect(back.sdp.media.map((m) => mLine({ session: [], media: [m] }))).toEqual([
      "audio 10008 RTP/AVP 0 101",
      "video 0 RTP/AVP 31",
      "application 0 TCP/MRCPv2 1",
    ])
  })

  it("passes a T.38 re-offer through, or refuses it by policy", () => {
    const t38 = parseSdpOrThrow(readFileSync(`${goldenDir}t38-reinvite.sdp`))
    const r = offered({ offer: t38, policy: DEFAULT_CODEC_POLICY, targetHistory: [guideAnswer] })
    expect(serializeSdp(r.sdp)).toBe(serializeSdp(t38))
    const refused = forwardOffer({ offer: t38, policy: policy({ t38: false }), targetHistory: [] })
    expect(refused instanceof NoCommonMedia && refused.warning).toBe(305)
  })

  it("turns legacy hold (c=0.0.0.0) into a direction the other leg can see", () => {
    const hold = parseSdpOrThrow(readFileSync(`${goldenDir}legacy-hold.sdp`))
    const r = offered({ offer: hold, policy: DEFAULT_CODEC_POLICY, targetHistory: [] })
    expect(mediaDirection(r.sdp, r.sdp.media[0]!)).toBe("sendonly")
    expect(aLines(r.sdp).at(-1)).toBe("a=sendonly")
  })

  it("carries sendonly/recvonly/inactive both ways", () => {
    const sendonly = sdp(sipBody("09-invite.sip").replace("a=sendrecv", "a=sendonly"))
    const r = offered({ offer: sendonly, policy: DEFAULT_CODEC_POLICY, targetHistory: [] })
    expect(mediaDirection(r.sdp, r.sdp.media[0]!)).toBe("sendonly")
    const recvonly = sdp(`${sipBody("12-invite-200.sip")}a=recvonly\n`)
    const back = answered({ offer: sendonly, forwarded: r.sdp, answer: recvonly })
    expect(mediaDirection(back.sdp, back.sdp.media[0]!)).toBe("recvonly")
  })
})

describe("answering an offer", () => {
  const local = {
    origin: {
      username: "-",
      sessionId: "42",
      sessionVersion: "1",
      netType: "IN",
      addrType: "IP4",
      address: "192.0.2.50",
    },
    connection: { netType: "IN", addrType: "IP4", address: "192.0.2.50" },
    ports: [20000],
  }

  it("intersects with the policy, keeps offered numbers and ptime, answers the direction", () => {
    const a = answerOffer({
      offer: guideOffer,
      policy: policy({ allow: ["PCMU", "telephone-event"] }),
      ...local,
    })
    if (a instanceof NoCommonMedia) throw a
    expect(serializeSdp(a)).toBe(
      [
        "v=0",
        "o=- 42 1 IN IP4 192.0.2.50",
        "s=-",
        "c=IN IP4 192.0.2.50",
        "t=0 0",
        "m=audio 20000 RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
        "",
      ].join("\r\n"),
    )
    const held = answerOffer({
      offer: parseSdpOrThrow(readFileSync(`${goldenDir}legacy-hold.sdp`)),
      policy: DEFAULT_CODEC_POLICY,
      ...local,
    })
    expect(held instanceof NoCommonMedia || mediaDirection(held, held.media[0]!)).toBe("recvonly")
  })

  it("refuses when only telephone-event would remain", () => {
    const r = answerOffer({
      offer: guideOffer,
      policy: policy({ allow: ["PCMA", "telephone-event"] }),
      ...local,
    })
    expect(r instanceof NoCommonMedia && r.warning).toBe(305)
  })
})

// Generated offers: up to three streams drawn from real codecs, dynamic numbers chosen at random.
const POOL = [
  { name: "PCMU", pt: 0, map: "PCMU/8000" },
  { name: "PCMA", pt: 8, map: "PCMA/8000" },
  { name: "G722", pt: 9, map: "G722/8000" },
  { name: "G729", pt: 18, map: "G729/8000" },
  { name: "G726-32", pt: undefined, map: "G726-32/8000" },
  { name: "telephone-event", pt: undefined, map: "telephone-event/8000" },
  { name: "opus", pt: undefined, map: "opus/48000/2" },
  { name: "AMR", pt: undefined, map: "AMR/8000" },
] as const
const NAMES = POOL.map((c) => c.name)

const streamArb = fc.record({
  port: fc.oneof(fc.constant(0), fc.integer({ min: 1024, max: 65534 })),
  codecs: fc.subarray([...POOL], { minLength: 1 }),
  dynamic: fc.uniqueArray(fc.integer({ min: 96, max: 127 }), { minLength: 8, maxLength: 8 }),
  direction: fc.constantFrom("sendrecv", "sendonly", "recvonly", "inactive"),
  shuffle: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
})
const offerArb = fc.array(streamArb, { minLength: 1, maxLength: 3 }).map((streams) => {
  const lines = ["v=0", "o=- 1 1 IN IP4 192.0.2.1", "s=-", "c=IN IP4 192.0.2.1", "t=0 0"]
  for (const s of streams) {
    const codecs = s.codecs
      .map((c, i) => ({ ...c, pt: c.pt ?? s.dynamic[i]!, k: s.shuffle[i]! }))
      .sort((a, b) => a.k - b.k)
    lines.push(`m=audio ${s.port} RTP/AVP ${codecs.map((c) => c.pt).join(" ")}`)
    for (const c of codecs) lines.push(`a=rtpmap:${c.pt} ${c.map}`)
    lines.push("a=ptime:20", `a=${s.direction}`)
  }
  return parseSdpOrThrow(`${lines.join("\r\n")}\r\n`)
})
const policyArb = fc.record({
  allow: fc.oneof(fc.constant("all" as const), fc.subarray(NAMES)),
  deny: fc.subarray(NAMES, { maxLength: 2 }),
  order: fc.shuffledSubarray(NAMES),
  media: fc.constant(["audio"]),
  t38: fc.boolean(),
})
const historyArb = fc.option(offerArb, { nil: undefined })

describe("properties of the negotiation", () => {
  it("a forwarded offer keeps every stream in place, only allowed codecs, distinct numbers per stream", () => {
    fc.assert(
      fc.property(offerArb, policyArb, historyArb, (offer, p, history) => {
        const r = forwardOffer({ offer, policy: p, targetHistory: history === undefined ? [] : [history] })
        if (r instanceof NoCommonMedia) {
          expect(r.warning).toBe(305)
          return
        }
        expect(r.sdp.media).toHaveLength(offer.media.length)
        r.sdp.media.forEach((m, i) => {
          expect(m.media).toBe(offer.media[i]!.media)
          if (m.port === 0) return
          const fs = formatsOf(m)
          expect(fs.length).toBe(m.formats.length)
          expect(fs.every((f) => policyAllows(p, f.codec))).toBe(true)
          expect(new Set(m.formats).size).toBe(m.formats.length)
        })
        // The description survives its own serialization.
        expect(parseSdpOrThrow(serializeSdp(r.sdp))).toEqual(r.sdp)
      }),
      { numRuns: 500 },
    )
  })

  it("offer → forwarded → answered by a UA → answer back: the caller sees its own numbers for its own codecs", () => {
    let complete = 0
    let renumbered = 0
    fc.assert(
      fc.property(offerArb, policyArb, policyArb, historyArb, (offer, trunk, callee, history) => {
        const f = forwardOffer({
          offer,
          policy: trunk,
          targetHistory: history === undefined ? [] : [history],
        })
        if (f instanceof NoCommonMedia) return
        const ua = answerOffer({
          offer: f.sdp,
          policy: callee,
          origin: {
            username: "-",
            sessionId: "9",
            sessionVersion: "1",
            netType: "IN",
            addrType: "IP4",
            address: "h",
          },
          connection: { netType: "IN", addrType: "IP4", address: "192.0.2.99" },
          ports: f.sdp.media.map((_, i) => 30000 + 2 * i),
        })
        if (ua instanceof NoCommonMedia) return
        const back = forwardAnswer({ offer, forwarded: f.sdp, answer: ua })
        if (back instanceof InvalidAnswer) throw back
        if (back instanceof NoCommonMedia) return
        complete++
        if (back.mapping.some((e) => e.offerer !== e.answerer)) renumbered++
        expect(back.sdp.media).toHaveLength(offer.media.length)
        back.sdp.media.forEach((m, i) => {
          if (m.port === 0) return
          const mine = new Map(formatsOf(offer.media[i]!).map((x) => [x.payloadType, codecKey(x.codec)]))
          for (const x of formatsOf(m)) expect(mine.get(x.payloadType)).toBe(codecKey(x.codec))
          expect(policyAllows(trunk, formatsOf(m)[0]!.codec)).toBe(true)
        })
        for (const entry of back.mapping) {
          const there = formatsOf(ua.media[entry.stream]!).find((x) => x.payloadType === entry.answerer)
          expect(there && codecKey(there.codec)).toBe(codecKey(entry.codec))
        }
      }),
      { numRuns: 500 },
    )
    // Both the plain path and the renumbering path must have been exercised.
    expect(complete).toBeGreaterThan(50)
    expect(renumbered).toBeGreaterThan(5)
  })
})
