/**
 * The callee of the `-lost 10` end-to-end test (lossy.e2e.test.ts). SIPp 3.6.1's built-in `uas` cannot
 * absorb a retransmitted INVITE once it has answered: SIPp remembers which send answered a received
 * message only for the *first* send after it (call.cpp: the second send overwrites `recv_retrans_hash`
 * with 0 because `last_recv_index` is still set), and the built-in uas sends two (180, then 200). A
 * retransmitted INVITE that reaches it after the 200 — the suite's Timer A fires when B's 180 and 200
 * were both lost, or arrive later than T1 — is then an "unexpected message" that aborts the call. RFC 3261
 * §13.3.1.4 wants the UAS to answer it with the 2xx again: this scenario does so explicitly (an optional
 * INVITE jumps back to the 200), and is otherwise the built-in uas.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "b2bua-lossy-scenarios-"))

const RESPONSE_HEAD = `[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]`

export const uasAnswerRetransmittedInvite = (): string => {
  const path = join(dir, "uas-answer-retransmitted-invite.xml")
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-answer-retransmitted-invite">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
${RESPONSE_HEAD}
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
]]></send>
  <label id="answer"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
${RESPONSE_HEAD}
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
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
  <recv request="INVITE" optional="true" next="answer"/>
  <recv request="ACK" optional="true" rtd="true" crlf="true"/>
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
${RESPONSE_HEAD}
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0
]]></send>
  <timewait milliseconds="4000"/>
</scenario>
`,
  )
  return path
}
