/**
 * The callee of the `-lost 10` end-to-end test (lossy.e2e.test.ts), and why it is not SIPp's built-in uas.
 *
 * SIPp 3.6.1 recognises a retransmitted request only when exactly one send followed it: at each send it
 * copies `last_recv_hash` into `recv_retrans_hash` whenever `last_recv_index >= 0`, and the first send
 * has already zeroed `last_recv_hash`, so the built-in uas (INVITE, then 180, then 200) forgets its
 * INVITE at the 200. The suite's B-leg INVITE is retransmitted by Timer A (RFC 3261 §17.1.1.2) whenever
 * no response reached it within T1 — the 180 and the 200 both lost, or late on a loaded machine — and a
 * copy that reaches the uas after its 200 was an "unexpected message" aborting the call (seen in about
 * one run of six). Answering the copy from the scenario (an optional INVITE that jumps back to the 200)
 * races SIPp's own scheduling: an ACK that arrives before SIPp runs the jumped-to send aborts the call
 * as well (seen once in ten runs under load). So this callee answers 200 at once, the one send after the
 * INVITE: a retransmitted INVITE gets the 200 again from SIPp itself (§13.3.1.4), retransmitted until
 * the ACK; then it takes the BYE and answers it (a repeated BYE gets the 200 again). The 180 path is
 * covered by the other end-to-end tests; under loss the caller still sees the suite's 100 Trying and
 * its retransmissions.
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

export const uasAnswerAtOnce = (): string => {
  const path = join(dir, "uas-answer-at-once.xml")
  writeFileSync(
    path,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-answer-at-once">
  <recv request="INVITE" crlf="true"/>
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
