/** SIPp scenarios for the end-to-end tests, named by what they expect, written out per status code. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "b2bua-scenarios-"))

const write = (name: string, xml: string): string => {
  const path = join(dir, name)
  writeFileSync(path, xml)
  return path
}

/** A caller that expects its INVITE to be refused with `status`, and ACKs it. */
export const uacExpect = (status: number): string =>
  write(
    `uac-expect-${status}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-expect-${status}">
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
  <recv response="${status}"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
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

/** A callee that refuses every INVITE with `status` and waits for the ACK. */
export const uasReject = (status: number): string =>
  write(
    `uas-reject-${status}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-reject-${status}">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 ${status} Refused
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
  <recv request="ACK"/>
</scenario>
`,
  )
