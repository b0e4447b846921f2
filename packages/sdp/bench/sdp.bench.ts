/**
 * SDP benchmark: descriptions/s on one core for @b2bua/sdp and sdp-transform (the most used JavaScript
 * SDP parser on npm), measured in the same run, on the reference guide's offer and two larger golden
 * descriptions. "parse" is text → object; "round trip" is text → object → text. The B2BUA's full offer
 * path (parse, policy and payload types, anchoring, o= stamp, serialize) is reported beside them: it has
 * no counterpart in sdp-transform, so its baseline is our own parse of the same text.
 *
 * Run: npm run bench -w @b2bua/sdp (builds, then pins to one core with taskset when available).
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import {
  anchorMedia,
  DEFAULT_CODEC_POLICY,
  forwardOffer,
  NoCommonMedia,
  parseSdpOrThrow,
  serializeSdp,
  stampOrigin,
} from "@b2bua/sdp"
import { parse as transformParse, write as transformWrite } from "sdp-transform"

const sipBody = (path: string): string => {
  const text = readFileSync(fileURLToPath(new URL(path, import.meta.url)), "utf8")
  return text.slice(text.indexOf("\r\n\r\n") + 4)
}
const golden = (name: string): string =>
  readFileSync(fileURLToPath(new URL(`../test/golden/${name}`, import.meta.url)), "utf8")

const inputs: ReadonlyArray<readonly [string, string]> = [
  ["guide INVITE offer (249 B)", sipBody("../../sip/test/golden/guide/09-invite.sip")],
  ["full-session.sdp (3 m=)", golden("full-session.sdp")],
  ["stereo-opus.sdp (WebRTC-like)", golden("stereo-opus.sdp")],
]

/** Runs `f` for `ms` after a warm-up of the same length; returns calls per second. */
const measure = (f: () => unknown, ms = 1500): number => {
  let sink = 0
  const loop = (duration: number): number => {
    const end = performance.now() + duration
    let n = 0
    while (performance.now() < end) {
      for (let i = 0; i < 100; i++) if (f() !== undefined) sink++
      n += 100
    }
    return n
  }
  loop(ms)
  const start = performance.now()
  const n = loop(ms)
  const rate = n / ((performance.now() - start) / 1000)
  if (sink < 0) console.log(sink)
  return rate
}

const relay = { netType: "IN", addrType: "IP4", address: "203.0.113.7" }
const identity = { username: "-", sessionId: "4242", netType: "IN", addrType: "IP4", address: "203.0.113.7" }
const b2buaOffer = (text: string): string => {
  const offer = parseSdpOrThrow(text)
  const f = forwardOffer({ offer, policy: DEFAULT_CODEC_POLICY, targetHistory: [] })
  if (f instanceof NoCommonMedia) return ""
  const anchored = anchorMedia(f.sdp, {
    connection: relay,
    streams: f.sdp.media.map((_, i) => ({ port: 30000 + 2 * i })),
  })
  return serializeSdp(stampOrigin(anchored, identity, undefined))
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(11)
console.log(`node ${process.version}, one core; figures are descriptions per second\n`)
for (const [label, text] of inputs) {
  if (serializeSdp(parseSdpOrThrow(text)) !== text) throw new Error(`${label}: round trip is not byte-exact`)
  const ours = measure(() => parseSdpOrThrow(text))
  const theirs = measure(() => transformParse(text))
  const oursRt = measure(() => serializeSdp(parseSdpOrThrow(text)))
  const theirsRt = measure(() => transformWrite(transformParse(text)))
  const offer = measure(() => b2buaOffer(text))
  console.log(label)
  console.log(
    `  parse        @b2bua/sdp ${fmt(ours)}   sdp-transform 3.0.0 ${fmt(theirs)}   ratio ${(ours / theirs).toFixed(2)}x`,
  )
  console.log(
    `  round trip   @b2bua/sdp ${fmt(oursRt)}   sdp-transform 3.0.0 ${fmt(theirsRt)}   ratio ${(oursRt / theirsRt).toFixed(2)}x`,
  )
  console.log(`  B2BUA offer  @b2bua/sdp ${fmt(offer)}   (${(offer / ours).toFixed(2)}x of a parse alone)\n`)
}
