/** SIPp scenarios for the session-timer end-to-end tests (RFC 4028), named by what they expect. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const dir = mkdtempSync(join(tmpdir(), "b2bua-session-scenarios-"))

const write = (name: string, xml: string): string => {
  const path = join(dir, name)
  writeFileSync(path, xml)
  return path
}

const SDP = `v=0
o=user1 53655765 2353687637 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0
a=rtpmap:0 PCMU/8000
`

const invite = (sessionHeaders: string) => `INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: sip:sipp@[local_ip]:[local_port]
Max-Forwards: 70
${sessionHeaders}
Content-Type: application/sdp
Content-Length: [len]

${SDP}`

const OK_TO_LAST = `SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0
`

/** Checks that a header of the last message matches `regexp` (the call fails otherwise). */
const check = (header: string, regexp: string, name: string) =>
  `<ereg regexp="${regexp.replace(/"/g, "&quot;")}" search_in="hdr" header="${header}:" check_it="true" assign_to="${name}"/>`

/** A caller asking for a 60 s session interval: the suite (Min-SE 90) refuses with 422 and Min-SE (§6). */
export const uacExpect422 = (): string =>
  write(
    "uac-session-60-expect-422.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-session-60-expect-422">
  <send retrans="500"><![CDATA[
${invite("Supported: timer\nSession-Expires: 60")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="422">
    <action>${check("Min-SE", "^ *90", "minse")}</action>
  </recv>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
X-Checked: [$minse]
Content-Length: 0
]]></send>
</scenario>
`,
  )

/**
 * A caller that asks to be the refresher of a 90 s session (§9: the 2xx must say refresher=uac and
 * Require: timer), refreshes once with an UPDATE at once (answered by the suite itself, §9), and then
 * never again: it expects the suite's BYE with the Reason of an expired session (§10).
 */
export const uacRefreshOnceThenExpire = (): string =>
  write(
    "uac-refresh-once-expect-expiry.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-refresh-once-expect-expiry">
  <send retrans="500"><![CDATA[
${invite("Supported: timer\nSession-Expires: 90;refresher=uac")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true">
    <action>
      ${check("Session-Expires", "^ *90;refresher=uac", "se")}
      ${check("Require", "timer", "require")}
    </action>
  </recv>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
X-Checked: [$se] [$require]
Content-Length: 0
]]></send>
  <pause milliseconds="500"/>
  <send retrans="500"><![CDATA[
UPDATE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 UPDATE
Contact: sip:sipp@[local_ip]:[local_port]
Session-Expires: 90;refresher=uac
Supported: timer
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200">
    <action>${check("Session-Expires", "^ *90;refresher=uac", "se2")}</action>
  </recv>
  <Reference variables="se2"/>
  <recv request="BYE">
    <action>${check("Reason", 'cause=408;text="session expired"', "reason")}</action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <Reference variables="reason"/>
</scenario>
`,
  )

/**
 * A callee that gets the suite's own 90 s interval (§7.1), makes the suite the refresher (refresher=uac),
 * allows UPDATE, and expects the suite's refresh UPDATE at half the interval (§10), then — the caller's
 * session having expired — the suite's BYE with the Reason. Anything else (a relayed refresh from the
 * caller, a missing refresh) fails the call.
 */
export const uasExpectRefreshThenExpiry = (): string =>
  write(
    "uas-expect-refresh-then-expiry.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-expect-refresh-then-expiry">
  <recv request="INVITE">
    <action>
      ${check("Session-Expires", "^ *90", "se")}
      ${check("Supported", "timer", "supported")}
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
Allow: INVITE, ACK, BYE, CANCEL, UPDATE
Supported: timer
Require: timer
Session-Expires: 90;refresher=uac
X-Checked: [$se] [$supported]
Content-Type: application/sdp
Content-Length: [len]

${SDP}]]></send>
  <recv request="ACK"/>
  <recv request="UPDATE">
    <action>${check("Session-Expires", "^ *90;refresher=uac", "refresh")}</action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Supported: timer
Require: timer
Session-Expires: 90;refresher=uac
X-Checked: [$refresh]
Content-Length: 0
]]></send>
  <recv request="BYE">
    <action>${check("Reason", 'cause=408;text="session expired"', "reason")}</action>
  </recv>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
  <Reference variables="reason"/>
</scenario>
`,
  )

/**
 * A callee that makes the suite its refresher but does not allow UPDATE: it expects the suite's refresh
 * re-INVITE at half the interval (§10), offering the suite's SDP on this leg — the relay's address and
 * a port matching `portPattern`, as the media seam produced it — answers it, then gets the caller's BYE.
 */
export const uasExpectReinviteRefresh = (portPattern: string): string =>
  write(
    "uas-expect-reinvite-refresh.xml",
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uas-expect-reinvite-refresh">
  <recv request="INVITE">
    <action>${check("Session-Expires", "^ *90", "se")}</action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Allow: INVITE, ACK, BYE, CANCEL
Supported: timer
Require: timer
Session-Expires: 90;refresher=uac
X-Checked: [$se]
Content-Type: application/sdp
Content-Length: [len]

${SDP.replace("o=user1 53655765 2353687637", "o=user2 1 1")}]]></send>
  <recv request="ACK"/>
  <recv request="INVITE">
    <action>
      ${check("Session-Expires", "^ *90;refresher=uac", "refresh")}
      <ereg regexp="c=IN IP4 127\\.0\\.0\\.1" search_in="body" check_it="true" assign_to="c"/>
      <ereg regexp="m=audio ${portPattern} RTP/AVP" search_in="body" check_it="true" assign_to="m"/>
    </action>
  </recv>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:callee@[local_ip]:[local_port]>
Supported: timer
Require: timer
Session-Expires: 90;refresher=uac
X-Checked: [$refresh] [$c] [$m]
Content-Type: application/sdp
Content-Length: [len]

${SDP.replace("o=user1 53655765 2353687637", "o=user2 1 1")}]]></send>
  <recv request="ACK"/>
  <recv request="BYE"/>
  <send><![CDATA[
${OK_TO_LAST}]]></send>
</scenario>
`,
  )

/** A caller that refreshes its own leg (refresher=uac) in name only and hangs up after `pauseMs`. */
export const uacHangUpAfter = (pauseMs: number): string =>
  write(
    `uac-hang-up-after-${pauseMs}.xml`,
    `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="uac-hang-up-after">
  <send retrans="500"><![CDATA[
${invite("Supported: timer\nSession-Expires: 90;refresher=uac")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
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
  <pause milliseconds="${pauseMs}"/>
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
