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

const INVITE_WITH_SDP = `INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
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
`

/** A 200 to the last request received (BYE, PRACK ...), in its transaction. */
const OK_TO_LAST = `SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
`

/** The ACK a SIPp caller sends for the final response it received (the suite's To-tag). */
const ACK_FOR_FINAL = (via: string) => `ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
${via}
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
`

/** A caller that expects its INVITE to be refused with `status`, and ACKs it. */
export const uacExpect = (status: number): string =>
  write(
    `uac-expect-${status}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-expect-${status}">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP}]]></send>
  <recv response="100" optional="true"/>
  <recv response="${status}"/>
  <send><![CDATA[
${ACK_FOR_FINAL("Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]")}]]></send>
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

/** A callee that redirects every INVITE (302) to `contact` and waits for the ACK. */
export const uasRedirect = (contact: string): string =>
  write(
    `uas-redirect-${contact.replace(/[^a-z0-9]/gi, "_")}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-redirect">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 302 Moved Temporarily
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <${contact}>
Content-Length: 0
]]></send>
  <recv request="ACK"/>
</scenario>
`,
  )

/** A caller that hangs up while it rings: CANCEL, then expects 200 for the CANCEL and 487 for the INVITE. */
export const uacCancel = (): string =>
  write(
    "uac-cancel-expect-487.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-cancel-expect-487">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180"/>
  <send><![CDATA[
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
${ACK_FOR_FINAL("[last_Via:]")}]]></send>
</scenario>
`,
  )

/** A callee that rings, then receives the CANCEL: 200 for it, 487 for the INVITE, and the ACK. */
export const uasRingCancelled = (): string =>
  write(
    "uas-ring-expect-cancel.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-ring-expect-cancel">
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Length: 0
]]></send>
  <recv request="CANCEL"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: 1 INVITE
Content-Length: 0
]]></send>
  <recv request="ACK"/>
</scenario>
`,
  )

/** A callee that answers and then hangs up itself (BYE to the suite). */
export const uasAnswerThenBye = (): string =>
  write(
    "uas-answer-then-bye.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-answer-then-bye">
  <recv request="INVITE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="caller"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
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
  <recv request="ACK"/>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:callee@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$caller]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`,
  )

/** A caller that answers the callee's BYE. */
export const uacExpectBye = (): string =>
  write(
    "uac-expect-bye.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-expect-bye">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP}]]></send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[
${ACK_FOR_FINAL("Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]")}]]></send>
  <recv request="BYE"/>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
</scenario>
`,
  )

/**
 * A callee that answers only an INVITE whose Request-URI user is `user` (number rules applied), then waits
 * for the caller's BYE. Any other Request-URI fails the call in SIPp's statistics.
 */
export const uasExpectUser = (user: string): string =>
  write(
    `uas-expect-user-${user}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-expect-user">
  <recv request="INVITE">
    <action>
      <ereg regexp="^INVITE sip:${user.replace("+", "\\+")}@" search_in="msg" check_it="true" assign_to="ruri"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
X-Matched: [$ruri]
Content-Length: 0
]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
</scenario>
`,
  )

/** A caller offering 100rel: it PRACKs the reliable 183 (with its RSeq), then completes the call and hangs up. */
export const uacPrack = (): string =>
  write(
    "uac-prack.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-prack">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP.replace("Max-Forwards: 70", "Max-Forwards: 70\nSupported: 100rel")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="183" rrs="true">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="RSeq:" assign_to="rseq"/>
    </action>
  </recv>
  <send retrans="500"><![CDATA[
PRACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 PRACK
RAck: [$rseq] 1 INVITE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" crlf="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`,
  )

/** A callee sending a reliable 183 with SDP (early media), waiting for the PRACK, then answering. */
export const uasReliable183 = (): string =>
  write(
    "uas-reliable-183.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-reliable-183">
  <recv request="INVITE">
    <action>
      <ereg regexp=".*" search_in="hdr" header="Via:" assign_to="via"/>
      <ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="invite_cseq"/>
    </action>
  </recv>
  <send retrans="500"><![CDATA[
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

v=0
o=user2 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="PRACK">
    <action>
      <ereg regexp="4711 [0-9]+ INVITE" search_in="hdr" header="RAck:" check_it="true" assign_to="rack"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
X-RAck: [$rack]
Content-Length: 0
]]></send>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
Via: [$via]
[last_From:]
[last_To:]
[last_Call-ID:]
CSeq: [$invite_cseq]
Contact: <sip:callee@[local_ip]:[local_port]>
Content-Length: 0
]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
</scenario>
`,
  )

/**
 * A caller offering PCMU, G.729 and telephone-event (like the reference guide's INVITE) that checks the
 * answer names `host` and a port matching `portPattern` (the relay's), then hangs up.
 */
export const uacExpectAnchored = (host: string, portPattern: string): string =>
  write(
    "uac-expect-anchored.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-expect-anchored">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP.replace("m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000", "m=audio [media_port] RTP/AVP 0 18 101\na=rtpmap:0 PCMU/8000\na=rtpmap:18 G729/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-15")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="c=IN IP4 ${host.replace(/\./g, "\\.")}" search_in="body" check_it="true" assign_to="c"/>
      <ereg regexp="m=audio ${portPattern} RTP/AVP" search_in="body" check_it="true" assign_to="m"/>
    </action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
X-Checked: [$c] [$m]
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`,
  )

/** A callee that checks the offer it gets names only the relay (`portPattern`) and answers PCMU. */
export const uasExpectAnchored = (portPattern: string): string =>
  write(
    "uas-expect-anchored.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-expect-anchored">
  <recv request="INVITE">
    <action>
      <ereg regexp="m=audio ${portPattern} RTP/AVP" search_in="body" check_it="true" assign_to="m"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
X-Checked: [$m]
Content-Type: application/sdp
Content-Length: [len]

v=0
o=user2 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
</scenario>
`,
  )

/** A caller that is challenged (407), ACKs it, retries with credentials (-au/-ap), completes and hangs up. */
export const uacDigest = (): string =>
  write(
    "uac-digest.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-digest">
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP}]]></send>
  <recv response="100" optional="true"/>
  <recv response="407" auth="true"/>
  <send><![CDATA[
${ACK_FOR_FINAL("Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]")}]]></send>
  <send retrans="500"><![CDATA[
${INVITE_WITH_SDP.replace("CSeq: 1 INVITE", "CSeq: 2 INVITE\n[authentication]")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
  <pause milliseconds="200"/>
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 3 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
`,
  )

/** An OPTIONS ping (RFC 3261 §11) that expects `status`, and a reason phrase containing `reason` if given. */
export const optionsExpect = (status: number, reason?: string): string =>
  write(
    `options-expect-${status}-${reason ?? ""}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="options-expect-${status}">
  <send retrans="500"><![CDATA[
OPTIONS sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:ping@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="${status}">${
    reason === undefined
      ? ""
      : `
    <action>
      <ereg regexp="SIP/2.0 ${status} [^\r\n]*${reason}" search_in="msg" check_it="true" assign_to="reason"/>
    </action>`
  }
  </recv>${reason === undefined ? "" : `\n  <Reference variables="reason"/>`}
</scenario>
`,
  )

/** An in-dialog SUBSCRIBE from the SIPp subscriber (refresh or unsubscribe), to the suite's Contact. */
const SUBSCRIBE_IN_DIALOG = (seq: number, expires: number) => `SUBSCRIBE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: ${seq} SUBSCRIBE
Contact: <sip:sipp@[local_ip]:[local_port]>
Event: X-NECSIPEXT2CTRL;id=7
Expires: ${expires}
Max-Forwards: 70
Content-Length: 0
`

/**
 * A subscriber (RFC 6665, the guide's event package): SUBSCRIBE → 200, the first NOTIFY answered, a
 * refresh → 200 with Expires, then an unsubscribe (Expires: 0) → 200 and the final NOTIFY (terminated)
 * answered. Each response from the suite must carry the Expires the notifier chose. The refresh waits
 * `refreshAfterMs` after the first NOTIFY (time for a test to kill the subscription's owner).
 */
export const uacSubscriber = (refreshAfterMs = 300): string =>
  write(
    `uac-subscribe-refresh-unsubscribe-${refreshAfterMs}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-subscribe-refresh-unsubscribe">
  <send retrans="500"><![CDATA[
SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 SUBSCRIBE
Contact: <sip:sipp@[local_ip]:[local_port]>
Event: X-NECSIPEXT2CTRL;id=7
Expires: 3627
Accept: application/X-NECSIPEXT2MLv1
User-Agent: NEC-DPV-001-A-XX(NECSIPEXT2MLUA_v1)
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200" rrs="true">
    <action>
      <ereg regexp="^ *600 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="e1"/>
    </action>
  </recv>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *active" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="s1"/>
      <ereg regexp="^ *X-NECSIPEXT2CTRL;id=7 *$" search_in="hdr" header="Event:" check_it="true" assign_to="ev1"/>
      <ereg regexp="Event-Fkey=8:speaker" search_in="body" check_it="true" assign_to="b1"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <pause milliseconds="${refreshAfterMs}"/>
  <send retrans="500"><![CDATA[
${SUBSCRIBE_IN_DIALOG(2, 600)}]]></send>
  <recv response="200">
    <action>
      <ereg regexp="^ *300 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="e2"/>
    </action>
  </recv>
  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
${SUBSCRIBE_IN_DIALOG(3, 0)}]]></send>
  <recv response="200">
    <action>
      <ereg regexp="^ *0 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="e3"/>
    </action>
  </recv>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *terminated" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="s2"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <Reference variables="e1,s1,ev1,b1,e2,e3,s2"/>
</scenario>
`,
  )

/** A NOTIFY from the SIPp notifier in the B-leg dialog (its From-tag, the suite's tag in To). */
const NOTIFY_FROM_NOTIFIER = (seq: number, state: string, body: string) => `NOTIFY [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:notifier@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$subscriber]
Call-ID: [call_id]
CSeq: ${seq} NOTIFY
Contact: <sip:notifier@[local_ip]:[local_port]>
Event: X-NECSIPEXT2CTRL;id=7
Subscription-State: ${state}
Max-Forwards: 70
Content-Type: application/X-NECSIPEXT2MLv1
Content-Length: [len]

${body}`

/** A 200 to the last SUBSCRIBE received, with the notifier's tag, Contact and the Expires it grants. */
const OK_TO_SUBSCRIBE = (expires: number, tag: boolean) => `SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]${tag ? ";tag=[pid]SIPpTag01[call_number]" : ""}
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:notifier@[local_ip]:[local_port]>
Expires: ${expires}
Content-Length: 0
`

/**
 * A notifier facing the suite: it grants 600 s (then 300 s on refresh) and checks that the Event (with
 * its id), Expires and Accept arrived; after the initial 200 it sends the guide's NOTIFY (speaker key),
 * answers the refresh and the unsubscribe, and ends the subscription with NOTIFY terminated.
 */
export const uasNotifier = (): string =>
  write(
    "uas-notifier.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-notifier">
  <recv request="SUBSCRIBE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="subscriber"/>
      <ereg regexp="^ *X-NECSIPEXT2CTRL;id=7 *$" search_in="hdr" header="Event:" check_it="true" assign_to="ev"/>
      <ereg regexp="^ *3627 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="ex"/>
      <ereg regexp="^ *application/X-NECSIPEXT2MLv1 *$" search_in="hdr" header="Accept:" check_it="true" assign_to="acc"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_SUBSCRIBE(600, true)}]]></send>
  <pause milliseconds="100"/>
  <send retrans="500"><![CDATA[
${NOTIFY_FROM_NOTIFIER(1, "active;expires=600", "Event-Fkey=8:speaker")}]]></send>
  <recv response="200"/>
  <recv request="SUBSCRIBE">
    <action>
      <ereg regexp="^ *600 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="ex2"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_SUBSCRIBE(300, false)}]]></send>
  <recv request="SUBSCRIBE">
    <action>
      <ereg regexp="^ *0 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="ex3"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_SUBSCRIBE(0, false)}]]></send>
  <send retrans="500"><![CDATA[
${NOTIFY_FROM_NOTIFIER(2, "terminated;reason=timeout", "")}]]></send>
  <recv response="200"/>
  <Reference variables="ev,ex,acc,ex2,ex3"/>
</scenario>
`,
  )

/**
 * A subscriber whose first NOTIFY comes before the 200 to its SUBSCRIBE (RFC 6665 §4.1.2.4): it answers
 * the NOTIFY, then takes the 200, and unsubscribes at once (Expires: 0) until the terminated NOTIFY.
 * Its SUBSCRIBE is sent once: SIPp holds the next step of a retransmitted request until a response
 * arrives, so a NOTIFY first would never be answered (loopback UDP loses nothing here).
 */
export const uacSubscriberNotifyFirst = (): string =>
  write(
    "uac-subscribe-notify-first.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-subscribe-notify-first">
  <send><![CDATA[
SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 SUBSCRIBE
Contact: <sip:sipp@[local_ip]:[local_port]>
Event: X-NECSIPEXT2CTRL;id=7
Expires: 3627
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv request="NOTIFY" rrs="true">
    <action>
      <ereg regexp="^ *active" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="s1"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <recv response="200">
    <action>
      <ereg regexp="^ *600 *$" search_in="hdr" header="Expires:" check_it="true" assign_to="e1"/>
    </action>
  </recv>
  <send retrans="500"><![CDATA[
${SUBSCRIBE_IN_DIALOG(2, 0)}]]></send>
  <recv response="200"/>
  <recv request="NOTIFY">
    <action>
      <ereg regexp="^ *terminated" search_in="hdr" header="Subscription-State:" check_it="true" assign_to="s2"/>
    </action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <Reference variables="s1,e1,s2"/>
</scenario>
`,
  )

/** A notifier that sends its first NOTIFY before answering the SUBSCRIBE, then answers it 200. */
export const uasNotifierNotifyFirst = (): string =>
  write(
    "uas-notifier-notify-first.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-notifier-notify-first">
  <recv request="SUBSCRIBE" rrs="true">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="subscriber"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="notified"/>
      <ereg regexp=".*" search_in="hdr" header="Via:" assign_to="via"/>
      <ereg regexp=".*" search_in="hdr" header="CSeq:" assign_to="cseq"/>
    </action>
  </recv>
  <send retrans="500"><![CDATA[
${NOTIFY_FROM_NOTIFIER(1, "active;expires=600", "Event-Fkey=8:speaker")}]]></send>
  <recv response="200"/>
  <send><![CDATA[
SIP/2.0 200 OK
Via: [$via]
From: [$subscriber]
To: [$notified];tag=[pid]SIPpTag01[call_number]
Call-ID: [call_id]
CSeq: [$cseq]
Contact: <sip:notifier@[local_ip]:[local_port]>
Expires: 600
Content-Length: 0
]]></send>
  <recv request="SUBSCRIBE"/>
  <send><![CDATA[
${OK_TO_SUBSCRIBE(0, false)}]]></send>
  <send retrans="500"><![CDATA[
${NOTIFY_FROM_NOTIFIER(2, "terminated;reason=noresource", "")}]]></send>
  <recv response="200"/>
</scenario>
`,
  )

/** A subscriber whose SUBSCRIBE is refused with `status` (no ACK: a non-INVITE transaction). */
export const uacSubscribeExpect = (status: number): string =>
  write(
    `uac-subscribe-expect-${status}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-subscribe-expect-${status}">
  <send retrans="500"><![CDATA[
SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 SUBSCRIBE
Contact: <sip:sipp@[local_ip]:[local_port]>
Event: presence
Expires: 600
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="${status}"/>
</scenario>
`,
  )
