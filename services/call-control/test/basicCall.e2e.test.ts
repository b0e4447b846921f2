/**
 * End to end, all as separate processes: nats-server, sip-edge, call-control, and SIPp as caller and
 * callee. The reference guide's basic call — INVITE/100/180/200/ACK, then BYE/200 from the caller — goes
 * through the suite as two independent dialogs.
 */
import { createTestUserAgent, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
let sipPort = 0
let calleePort = 0
const callControlLogs = () => suite.callControls[0]!.logs()

beforeAll(async () => {
  suite = await startSuite()
  sipPort = suite.sipPort
  calleePort = suite.calleePort
})

afterAll(async () => {
  await suite?.stop()
})

describe("basic call through the suite (SIPp caller → edge → call-control → SIPp callee)", () => {
  it("completes INVITE/180/200/ACK and the caller's BYE on both legs", async () => {
    const callee = await startSippUas({ localPort: calleePort, calls: 5, timeoutSeconds: 30 })
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${sipPort}`,
      calls: 5,
      rate: 5,
      pauseMs: 200,
      timeoutSeconds: 30,
    })
    const answered = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(5)
    expect(answered.successfulCalls).toBe(5)
    expect(callControlLogs()).toContain("call ended")
  })
})

describe("rejections relayed through the suite", () => {
  for (const status of [486, 603, 404, 503]) {
    it(`the callee's ${status} reaches the caller, and both legs are ACKed`, async () => {
      const { uacExpect, uasReject } = await import("./scenarios.js")
      const callee = await startSippUas({
        scenario: uasReject(status),
        localPort: calleePort,
        calls: 2,
        timeoutSeconds: 20,
      })
      const caller = await runSipp({
        scenario: uacExpect(status),
        remote: `127.0.0.1:${sipPort}`,
        calls: 2,
        rate: 10,
        timeoutSeconds: 20,
      })
      const refused = await callee.result()
      expect(caller.failedCalls).toBe(0)
      expect(caller.successfulCalls).toBe(2)
      expect(refused.successfulCalls).toBe(2)
    })
  }
})

describe("requests the suite answers itself", () => {
  const request = (
    port: number,
    method: string,
    callId: string,
    extra = "",
  ) => `${method} sip:bob@127.0.0.1:${sipPort} SIP/2.0\r
Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${callId};rport\r
Max-Forwards: 70\r
From: <sip:alice@127.0.0.1>;tag=${callId}\r
To: <sip:bob@127.0.0.1>\r
Call-ID: ${callId}\r
CSeq: 1 ${method}\r
${extra}Content-Length: 0\r
\r
`

  it("OPTIONS gets 200 with Allow, Accept and Supported", async () => {
    const ua = await createTestUserAgent()
    await ua.send(request(ua.port, "OPTIONS", "opt1"), { host: "127.0.0.1", port: sipPort })
    const r = await ua.next((x) => x.message?.callId === "opt1")
    expect(r.message?.kind === "response" && r.message.status).toBe(200)
    expect(r.message?.header("Allow")).toContain("INVITE")
    expect(r.message?.header("Accept")).toBe("application/sdp")
    // RFC 3262 and RFC 4028: the suite does reliable provisionals and session timers on each leg.
    expect(r.message?.header("Supported")).toBe("100rel, timer")
    await ua.close()
  })

  it("an INVITE with Max-Forwards 0 gets 483 and no B-leg", async () => {
    const ua = await createTestUserAgent()
    await ua.send(
      request(ua.port, "INVITE", "mf0", "Contact: <sip:alice@127.0.0.1>\r\n").replace(
        "Max-Forwards: 70",
        "Max-Forwards: 0",
      ),
      {
        host: "127.0.0.1",
        port: sipPort,
      },
    )
    const r = await ua.next(
      (x) => x.message?.callId === "mf0" && x.message.kind === "response" && x.message.status >= 200,
    )
    expect(r.message?.kind === "response" && r.message.status).toBe(483)
    await ua.close()
  })

  it("a malformed INVITE gets 400 naming the defect, and the next call still completes", async () => {
    const ua = await createTestUserAgent()
    await ua.send(request(ua.port, "INVITE", "bad1").replace("CSeq: 1 INVITE", "CSeq: one INVITE"), {
      host: "127.0.0.1",
      port: sipPort,
    })
    const r = await ua.next((x) => x.bytes.toString("latin1").startsWith("SIP/2.0 400"))
    expect(r.bytes.toString("latin1")).toMatch(
      /^SIP\/2.0 400 Bad CSeq header: sequence number is not a number below 2\^31\r\n/,
    )
    await ua.close()
    const callee = await startSippUas({ localPort: calleePort, calls: 1, timeoutSeconds: 20 })
    const caller = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${sipPort}`,
      calls: 1,
      timeoutSeconds: 20,
    })
    await callee.result()
    expect(caller.successfulCalls).toBe(1)
  })
})

describe("ending calls from either side", () => {
  it("CANCEL while ringing: the caller gets 200 and 487, the callee is CANCELled and ACKed", async () => {
    const { uacCancel, uasRingCancelled } = await import("./scenarios.js")
    const callee = await startSippUas({
      scenario: uasRingCancelled(),
      localPort: calleePort,
      calls: 2,
      timeoutSeconds: 20,
    })
    const caller = await runSipp({
      scenario: uacCancel(),
      remote: `127.0.0.1:${sipPort}`,
      calls: 2,
      rate: 10,
      timeoutSeconds: 20,
    })
    const cancelled = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(2)
    expect(cancelled.successfulCalls).toBe(2)
  })

  it("the callee hangs up: its BYE is answered and a BYE reaches the caller", async () => {
    const { uacExpectBye, uasAnswerThenBye } = await import("./scenarios.js")
    const callee = await startSippUas({
      scenario: uasAnswerThenBye(),
      localPort: calleePort,
      calls: 2,
      timeoutSeconds: 20,
    })
    const caller = await runSipp({
      scenario: uacExpectBye(),
      remote: `127.0.0.1:${sipPort}`,
      calls: 2,
      rate: 10,
      timeoutSeconds: 20,
    })
    const hungUp = await callee.result()
    expect(caller.failedCalls).toBe(0)
    expect(caller.successfulCalls).toBe(2)
    expect(hungUp.successfulCalls).toBe(2)
  })
})
