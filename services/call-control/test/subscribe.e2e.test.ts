/**
 * End to end, all as separate processes: nats-server, sip-edge, call-control, SIPp as the subscriber (A)
 * and SIPp as the notifier (B). A dialog-creating SUBSCRIBE (RFC 6665) is bridged like an INVITE: its
 * 200 with the notifier's Expires, the guide's NOTIFY relayed and answered, a refresh, an unsubscribe and
 * the terminated NOTIFY ending both dialogs — and nothing of A's Call-ID, Via, Contact or User-Agent
 * reaches B.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createTestUserAgent, freeUdpPort, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { uacSubscriber, uacSubscriberNotifyFirst, uasNotifier, uasNotifierNotifyFirst } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
const dir = mkdtempSync(join(tmpdir(), "b2bua-subscribe-"))

beforeAll(async () => {
  suite = await startSuite()
})

afterAll(async () => {
  await suite?.stop()
  rmSync(dir, { recursive: true, force: true })
})

const trace = (name: string) => ["-trace_msg", "-message_file", join(dir, name)]

describe("SUBSCRIBE/NOTIFY bridged through the suite (SIPp subscriber → edge → call-control → SIPp notifier)", () => {
  it("SUBSCRIBE → 200, NOTIFY relayed and answered, refresh, unsubscribe and terminated NOTIFY on both legs", async () => {
    const subscriberPort = await freeUdpPort()
    const notifier = await startSippUas({
      scenario: uasNotifier(),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 20,
      extraArgs: trace("b.log"),
    })
    const subscriber = await runSipp({
      scenario: uacSubscriber(),
      remote: `127.0.0.1:${suite.sipPort}`,
      localPort: subscriberPort,
      calls: 1,
      timeoutSeconds: 20,
      extraArgs: trace("a.log"),
    })
    const notified = await notifier.result()
    expect(subscriber.failedCalls).toBe(0)
    expect(subscriber.successfulCalls).toBe(1)
    expect(notified.failedCalls).toBe(0)
    expect(notified.successfulCalls).toBe(1)

    // Topology hiding: B never sees A's Call-ID, Via branch, address or User-Agent; A never sees B's.
    const aLog = readFileSync(join(dir, "a.log"), "latin1")
    const bLog = readFileSync(join(dir, "b.log"), "latin1")
    const aCallId = /Call-ID: *(\S+)/.exec(aLog)?.[1]
    const aBranch = /branch=([^;\s]+)/.exec(aLog)?.[1]
    expect(aCallId).toBeDefined()
    expect(aBranch).toBeDefined()
    expect(bLog).toContain("SUBSCRIBE sip:")
    expect(bLog).not.toContain(aCallId!)
    expect(bLog).not.toContain(aBranch!)
    expect(bLog).not.toContain(`:${subscriberPort}`)
    expect(bLog).not.toContain("NEC-DPV")
    expect(aLog).not.toContain(`:${suite.calleePort}`)
    // The guide's NOTIFY body crossed, and the subscription ended on both sides.
    expect(aLog).toContain("Event-Fkey=8:speaker")
    const logs = suite.callControls[0]!.logs
    expect(logs()).toContain("subscription started")
    // The log line is written just after the last 200 left: wait for it (bounded).
    const until = Date.now() + 5000
    while (!logs().includes("subscription ended") && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50))
    expect(logs()).toContain("subscription ended")
  })

  it("a NOTIFY before the SUBSCRIBE's 200 creates the dialogs; the 200 follows, then unsubscribe", async () => {
    const notifier = await startSippUas({
      scenario: uasNotifierNotifyFirst(),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 20,
    })
    const subscriber = await runSipp({
      scenario: uacSubscriberNotifyFirst(),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 20,
    })
    const notified = await notifier.result()
    expect(subscriber.failedCalls).toBe(0)
    expect(subscriber.successfulCalls).toBe(1)
    expect(notified.successfulCalls).toBe(1)
  })

  it("OPTIONS to the suite lists SUBSCRIBE and NOTIFY in Allow", async () => {
    const ua = await createTestUserAgent()
    await ua.send(
      `OPTIONS sip:127.0.0.1:${suite.sipPort} SIP/2.0\r
Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-optsub;rport\r
Max-Forwards: 70\r
From: <sip:ping@127.0.0.1>;tag=optsub\r
To: <sip:127.0.0.1>\r
Call-ID: optsub\r
CSeq: 1 OPTIONS\r
Content-Length: 0\r
\r
`,
      { host: "127.0.0.1", port: suite.sipPort },
    )
    const r = await ua.next((x) => x.message?.callId === "optsub")
    expect(r.message?.header("Allow")).toContain("SUBSCRIBE")
    expect(r.message?.header("Allow")).toContain("NOTIFY")
    await ua.close()
  })
})
