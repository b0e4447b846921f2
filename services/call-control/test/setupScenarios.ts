/**
 * SIPp scenarios for calls that are still being set up when their owner dies (setupTakeover.e2e.test.ts):
 * a callee that rings for a while before it answers, a caller that cancels after a while. Named by what
 * they do and expect; written out per run.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "b2bua-setup-scenarios-"))

const write = (name: string, xml: string): string => {
  const path = join(dir, name)
  writeFileSync(path, xml)
  return path
}

const RESPONSE_HEAD = `[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]`

/**
 * A callee that rings `ringMs` (180, then silence) before it answers 200 with SDP (retransmitted until the
 * ACK, RFC 3261 §13.3.1.4), then answers the caller's BYE. The INVITE's Via is kept for the 200, which
 * therefore carries the branch of the instance that sent the INVITE.
 */
export const uasRingThenAnswer = (ringMs: number): string =>
  write(
    `uas-ring-${ringMs}-then-answer.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-ring-then-answer">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
${RESPONSE_HEAD}
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Length: 0
]]></send>
  <pause milliseconds="${ringMs}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
${RESPONSE_HEAD}
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=callee 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
${RESPONSE_HEAD}
Content-Length: 0
]]></send>
  <timewait milliseconds="2000"/>
</scenario>
`,
  )

/**
 * A caller that hangs up `afterMs` after the 180: CANCEL with the INVITE's Via (RFC 3261 §9.1), then
 * expects 200 for the CANCEL and 487 for the INVITE, which it ACKs.
 */
export const uacCancelAfter = (afterMs: number): string =>
  write(
    `uac-cancel-after-${afterMs}-expect-487.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-cancel-after-ringing">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user1 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <pause milliseconds="${afterMs}"/>
  <send retrans="500"><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 CANCEL
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
  <recv response="487"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
</scenario>
`,
  )
