/**
 * SIPp scenarios for media end to end (late offer, RTP through the relay, hold/resume), named by what
 * they expect. Each checks with `ereg check_it` that the SDP it receives names only the relay (its port
 * pattern: SIPp's own media ports never match it); a failed check fails SIPp's call.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "b2bua-media-scenarios-"))

const write = (name: string, xml: string): string => {
  const path = join(dir, name)
  writeFileSync(path, xml)
  return path
}

/**
 * One second of G.711 µ-law audio (a square wave) as a WAVE file (format 7), for SIPp's `rtp_stream`:
 * 50 packets of 160 octets with payload type 0 (RFC 3551 §4.5.14).
 */
export const ulawWave = (seconds = 1): string => {
  const data = Buffer.alloc(8000 * seconds)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(i / 20) % 2 === 0 ? 0x55 : 0xd5
  const fmt = Buffer.alloc(16)
  fmt.writeUInt16LE(7, 0) // WAVE_FORMAT_MULAW
  fmt.writeUInt16LE(1, 2)
  fmt.writeUInt32LE(8000, 4)
  fmt.writeUInt32LE(8000, 8)
  fmt.writeUInt16LE(1, 12)
  fmt.writeUInt16LE(8, 14)
  const header = Buffer.alloc(12)
  header.write("RIFF", 0, "latin1")
  header.writeUInt32LE(4 + 8 + fmt.length + 8 + data.length, 4)
  header.write("WAVE", 8, "latin1")
  const chunk = (id: string, body: Buffer) => {
    const h = Buffer.alloc(8)
    h.write(id, 0, "latin1")
    h.writeUInt32LE(body.length, 4)
    return Buffer.concat([h, body])
  }
  const path = join(dir, `ulaw-${seconds}s.wav`)
  writeFileSync(path, Buffer.concat([header, chunk("fmt ", fmt), chunk("data", data)]))
  return path
}

const FROM = "From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
const TO_PEER = "To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]"

/** The reference guide's offer: PCMU, G.729 and telephone-event, at `port` (a SIPp keyword). */
const guideOffer = (port: string, direction = "sendrecv") => `v=0
o=user1 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio ${port} RTP/AVP 0 18 101
a=rtpmap:0 PCMU/8000
a=rtpmap:18 G729/8000
a=fmtp:18 annexb=no
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=ptime:20
a=${direction}
`

/** The callee's answer: PCMU only, at `port`. */
const pcmuAnswer = (port: string, direction = "sendrecv", version = 1) => `v=0
o=user2 1 ${version} IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio ${port} RTP/AVP 0
a=rtpmap:0 PCMU/8000
a=${direction}
`

const invite = (cseq: number, body: string | undefined, url = "sip:[service]@[remote_ip]:[remote_port]") => `
INVITE ${url} SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
${FROM}
${cseq === 1 ? "To: <sip:[service]@[remote_ip]:[remote_port]>" : TO_PEER}
Call-ID: [call_id]
CSeq: ${cseq} INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
${body === undefined ? "Content-Length: 0\n" : `Content-Type: application/sdp\nContent-Length: [len]\n\n${body}`}`

const ack = (cseq: number, body?: string) => `
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
${FROM}
${TO_PEER}
Call-ID: [call_id]
CSeq: ${cseq} ACK
Max-Forwards: 70
${body === undefined ? "Content-Length: 0\n" : `Content-Type: application/sdp\nContent-Length: [len]\n\n${body}`}`

const bye = (cseq: number) => `
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
${FROM}
${TO_PEER}
Call-ID: [call_id]
CSeq: ${cseq} BYE
Max-Forwards: 70
Content-Length: 0
`

/** A 200 to the request just received, with `body` as SDP when given. */
const okToLast = (body?: string, tag = false) => `
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]${tag ? ";tag=[pid]SIPpTag01[call_number]" : ""}
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
${body === undefined ? "Content-Length: 0\n" : `Content-Type: application/sdp\nContent-Length: [len]\n\n${body}`}`

/** Checks on a received SDP: the relay's address and a port of the relay's range, and `extra` lines. */
const anchored = (host: string, portPattern: string, name: string, extra: ReadonlyArray<string> = []) =>
  [
    `<ereg regexp="c=IN IP4 ${host.replace(/\./g, "\\.")}" search_in="body" check_it="true" assign_to="${name}c"/>`,
    `<ereg regexp="m=audio ${portPattern} RTP/AVP" search_in="body" check_it="true" assign_to="${name}m"/>`,
    ...extra.map(
      (re, i) => `<ereg regexp="${re}" search_in="body" check_it="true" assign_to="${name}x${i}"/>`,
    ),
  ].join("\n      ")

/** A scenario file; its check variables are referenced once (SIPp refuses variables never used). */
const scenario = (name: string, steps: string) => {
  const variables = [...steps.matchAll(/assign_to="(\w+)"/g)].map((m) => m[1])
  return write(
    `${name}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="${name}">
${steps}
  <Reference variables="${variables.join(",")}"/>
</scenario>
`,
  )
}

const cdata = (text: string) => `<![CDATA[${text}]]>`

/**
 * Late offer, caller side: an INVITE without SDP; the 200 must carry an offer anchored on the relay;
 * the ACK carries the answer (PCMU); then BYE.
 */
export const uacLateOffer = (host: string, portPattern: string): string =>
  scenario(
    "uac-late-offer",
    `  <send retrans="500">${cdata(invite(1, undefined))}</send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      ${anchored(host, portPattern, "ok", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <send>${cdata(ack(1, pcmuAnswer("[media_port]")))}</send>
  <pause milliseconds="300"/>
  <send retrans="500">${cdata(bye(2))}</send>
  <recv response="200"/>`,
  )

/**
 * Late offer, callee side: the INVITE must come without SDP; the 200 (retransmitted until the ACK)
 * carries the guide's offer; the ACK must carry the answer, anchored on the relay.
 */
export const uasLateOffer = (host: string, portPattern: string): string =>
  scenario(
    "uas-late-offer",
    `  <recv request="INVITE">
    <action>
      <ereg regexp="Content-Length: 0" search_in="msg" check_it="true" assign_to="empty"/>
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(guideOffer("[media_port]"), true))}</send>
  <recv request="ACK">
    <action>
      ${anchored(host, portPattern, "ack", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <recv request="BYE"/>
  <send>${cdata(okToLast())}</send>`,
  )

/**
 * A caller offering the guide's codecs that checks the answer is anchored. `streams`: it sends µ-law
 * RTP from its rtp_stream port (advertised in its offer) for `wave`; otherwise it advertises its echo
 * port (`-rtp_echo`) and echoes what reaches it. Then BYE.
 */
export const uacMedia = (host: string, portPattern: string, wave: string | undefined): string =>
  scenario(
    wave === undefined ? "uac-media-echo" : "uac-media-stream",
    `  <send retrans="500">${cdata(invite(1, guideOffer(wave === undefined ? "[media_port]" : "[rtpstream_audio_port]")))}</send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      ${anchored(host, portPattern, "ok")}
    </action>
  </recv>
  <send>${cdata(ack(1))}</send>
  ${wave === undefined ? "" : `<nop><action><exec rtp_stream="${wave},1,0"/></action></nop>`}
  <pause milliseconds="2000"/>
  <send retrans="500">${cdata(bye(2))}</send>
  <recv response="200"/>`,
  )

/** The callee side of `uacMedia`: answers PCMU; streams `wave` from its rtp_stream port, or echoes. */
export const uasMedia = (host: string, portPattern: string, wave: string | undefined): string =>
  scenario(
    wave === undefined ? "uas-media-echo" : "uas-media-stream",
    `  <recv request="INVITE">
    <action>
      ${anchored(host, portPattern, "inv")}
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(pcmuAnswer(wave === undefined ? "[media_port]" : "[rtpstream_audio_port]"), true))}</send>
  <recv request="ACK"/>
  ${wave === undefined ? "" : `<nop><action><exec rtp_stream="${wave},1,0"/></action></nop>`}
  <recv request="BYE"/>
  <send>${cdata(okToLast())}</send>`,
  )

/**
 * Hold and resume from the caller (RFC 3264 §8.4): after the call is up, a re-INVITE with a=sendonly
 * (the answer must be anchored and a=recvonly), RTP from the caller while held, then a re-INVITE with
 * a=sendrecv (answer a=sendrecv) and RTP again; each re-INVITE's 200 is ACKed; then BYE.
 */
export const uacHoldResume = (host: string, portPattern: string, wave: string): string =>
  scenario(
    "uac-hold-resume",
    `  <send retrans="500">${cdata(invite(1, guideOffer("[rtpstream_audio_port]")))}</send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      ${anchored(host, portPattern, "ok")}
    </action>
  </recv>
  <send>${cdata(ack(1))}</send>
  <pause milliseconds="200"/>
  <send retrans="500">${cdata(invite(2, guideOffer("[rtpstream_audio_port]", "sendonly").replace("2353687637", "2353687638"), "[next_url]"))}</send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      ${anchored(host, portPattern, "hold", ["a=recvonly"])}
    </action>
  </recv>
  <send>${cdata(ack(2))}</send>
  <nop><action><exec rtp_stream="${wave},1,0"/></action></nop>
  <pause milliseconds="1500"/>
  <send retrans="500">${cdata(invite(3, guideOffer("[rtpstream_audio_port]").replace("2353687637", "2353687639"), "[next_url]"))}</send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      ${anchored(host, portPattern, "resume", ["a=sendrecv"])}
    </action>
  </recv>
  <send>${cdata(ack(3))}</send>
  <nop><action><exec rtp_stream="${wave},1,0"/></action></nop>
  <pause milliseconds="1500"/>
  <send retrans="500">${cdata(bye(4))}</send>
  <recv response="200"/>`,
  )

/**
 * The callee side of `uacHoldResume`, echoing RTP (`-rtp_echo`): each re-INVITE must be anchored and
 * carry a=sendonly then a=sendrecv; it answers a=recvonly then a=sendrecv.
 */
export const uasHoldResume = (host: string, portPattern: string): string =>
  scenario(
    "uas-hold-resume",
    `  <recv request="INVITE">
    <action>
      ${anchored(host, portPattern, "inv")}
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(pcmuAnswer("[media_port]"), true))}</send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      ${anchored(host, portPattern, "hold", ["a=sendonly"])}
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(pcmuAnswer("[media_port]", "recvonly", 2)))}</send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      ${anchored(host, portPattern, "resume", ["a=sendrecv"])}
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(pcmuAnswer("[media_port]", "sendrecv", 3)))}</send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>${cdata(okToLast())}</send>`,
  )

/**
 * Late offer in a re-INVITE, caller side: a call with the guide's offer, then a re-INVITE without SDP;
 * its 200 must carry an offer anchored on the relay; the ACK answers it; then BYE.
 */
export const uacReinviteLateOffer = (host: string, portPattern: string): string =>
  scenario(
    "uac-reinvite-late-offer",
    `  <send retrans="500">${cdata(invite(1, guideOffer("[media_port]")))}</send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>${cdata(ack(1))}</send>
  <pause milliseconds="200"/>
  <send retrans="500">${cdata(invite(2, undefined, "[next_url]"))}</send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      ${anchored(host, portPattern, "ok", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <send>${cdata(ack(2, pcmuAnswer("[media_port]", "sendrecv", 2)))}</send>
  <pause milliseconds="200"/>
  <send retrans="500">${cdata(bye(3))}</send>
  <recv response="200"/>`,
  )

/** The callee side: the re-INVITE must come without SDP; its 200 offers; the ACK must bring the answer. */
export const uasReinviteLateOffer = (host: string, portPattern: string): string =>
  scenario(
    "uas-reinvite-late-offer",
    `  <recv request="INVITE"/>
  <send retrans="500">${cdata(okToLast(pcmuAnswer("[media_port]"), true))}</send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      <ereg regexp="Content-Length: 0" search_in="msg" check_it="true" assign_to="empty"/>
    </action>
  </recv>
  <send retrans="500">${cdata(okToLast(guideOffer("[media_port]").replace("2353687637", "2353687640")))}</send>
  <recv request="ACK">
    <action>
      ${anchored(host, portPattern, "ack", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <recv request="BYE"/>
  <send>${cdata(okToLast())}</send>`,
  )

/**
 * Offer in a reliable 183 (RFC 3262 §5), caller side: an INVITE without SDP offering 100rel; the 183's
 * offer must be anchored; the PRACK carries the answer; the 200 (SDP repeated or not) is ACKed without
 * a body; then BYE.
 */
export const uacEarlyOffer = (host: string, portPattern: string): string =>
  scenario(
    "uac-early-offer",
    `  <send retrans="500">${cdata(invite(1, undefined).replace("Max-Forwards: 70", "Max-Forwards: 70\nSupported: 100rel"))}</send>
  <recv response="100" optional="true"/>
  <recv response="183" rrs="true">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" assign_to="rseq"/>
      ${anchored(host, portPattern, "early", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <send retrans="500">${cdata(`
PRACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
${FROM}
${TO_PEER}
Call-ID: [call_id]
CSeq: 2 PRACK
RAck: [$rseq] 1 INVITE
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

${pcmuAnswer("[media_port]")}`)}</send>
  <recv response="200" crlf="true"/>
  <recv response="200" rrs="true"/>
  <send>${cdata(ack(1))}</send>
  <pause milliseconds="200"/>
  <send retrans="500">${cdata(bye(3))}</send>
  <recv response="200"/>`,
  )

/**
 * The callee side: the INVITE must come without SDP; a reliable 183 offers; the PRACK must carry the
 * anchored answer; the 200 repeats the offer (RFC 6337 §3.1 allows it); the ACK, then the BYE.
 */
export const uasEarlyOffer = (host: string, portPattern: string): string =>
  scenario(
    "uas-early-offer",
    `  <recv request="INVITE">
    <action>
      <ereg regexp="Content-Length: 0" search_in="msg" check_it="true" assign_to="empty"/>
      <ereg regexp=".*" search_in="hdr" header="Via:" assign_to="via"/>
      <ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="inviteCseq"/>
    </action>
  </recv>
  <send retrans="500">${cdata(`
SIP/2.0 183 Session Progress
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Require: 100rel
RSeq: 4711
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

${guideOffer("[media_port]")}`)}</send>
  <recv request="PRACK">
    <action>
      ${anchored(host, portPattern, "prack", ["a=rtpmap:0 PCMU/8000"])}
    </action>
  </recv>
  <send>${cdata(okToLast())}</send>
  <send retrans="500">${cdata(`
SIP/2.0 200 OK
Via: [$via]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: [$inviteCseq]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

${guideOffer("[media_port]")}`)}</send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send>${cdata(okToLast())}</send>`,
  )
