/**
 * Calls survive an instance while they are still being set up: two call-control processes share ringing
 * calls; the one that owns most of them is SIGKILLed while the callee rings. What comes next for those
 * calls reaches the survivor through the edge's takeover path — the callee's 200 (routed by the top Via
 * branch, which names the dead instance), the caller's CANCEL (routed by the edge's memory of who took
 * the INVITE), the caller's retransmitted INVITE (the same) — and the survivor restores each call from
 * KV and completes it on both legs.
 */
import { createTestUserAgent, startSipp, startSippUas } from "@b2bua/testkit"
import { afterEach, describe, expect, it } from "vitest"
import { uasRingCancelled } from "./scenarios.js"
import { uacCancelAfter, uasRingThenAnswer } from "./setupScenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite | undefined

afterEach(async () => {
  await suite?.stop()
  suite = undefined
})

const CALLS = 4

/** Waits until every call has started somewhere, then SIGKILLs the instance that owns the most. */
const killBusiest = async (running: RunningSuite) => {
  const [one, two] = running.callControls
  const owned = (i: typeof one) => i!.logs().split("call started").length - 1
  for (let waited = 0; owned(one) + owned(two) < CALLS && waited < 5000; waited += 50)
    await new Promise((r) => setTimeout(r, 50))
  expect(owned(one) + owned(two)).toBe(CALLS)
  // Let the callee's 180s arrive: the calls ring (3 s) when the owner dies.
  await new Promise((r) => setTimeout(r, 500))
  const [victim, survivor] = owned(one) >= owned(two) ? [one!, two!] : [two!, one!]
  victim.child.kill("SIGKILL")
  return { survivor, victimCalls: owned(victim) }
}

describe("takeover of calls being set up", () => {
  it("the owner dies while the callee rings: the 200 is relayed by the survivor, ACKed, and BYE ends both legs", async () => {
    suite = await startSuite({ instances: ["ccsetupa", "ccsetupb"] })
    const callee = await startSippUas({
      scenario: uasRingThenAnswer(3000),
      localPort: suite.calleePort,
      calls: CALLS,
      timeoutSeconds: 40,
    })
    const caller = await startSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: CALLS,
      rate: 10,
      pauseMs: 1000,
      timeoutSeconds: 40,
    })
    const { survivor, victimCalls } = await killBusiest(suite)
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(CALLS)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(CALLS)
    // Each of the dead instance's calls was restored while being set up (ringing; or still Calling when
    // the kill came before the owner had handled the 180, which then reached the survivor).
    expect(survivor.logs().split("call taken over").length - 1).toBe(victimCalls)
    const takeovers = survivor
      .logs()
      .split("\n")
      .filter((line) => line.includes('"call taken over"'))
    expect(
      takeovers.every((line) => /"phase":"(Early|Calling)"/.test(line)),
      takeovers.join("\n"),
    ).toBe(true)
  }, 60_000)

  it("the owner dies while the callee rings, then the caller CANCELs: 487 on both legs through the survivor", async () => {
    suite = await startSuite({ instances: ["ccsetupc", "ccsetupd"] })
    const callee = await startSippUas({
      scenario: uasRingCancelled(),
      localPort: suite.calleePort,
      calls: CALLS,
      timeoutSeconds: 40,
    })
    const caller = await startSipp({
      scenario: uacCancelAfter(3000),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: CALLS,
      rate: 10,
      timeoutSeconds: 40,
    })
    const { survivor, victimCalls } = await killBusiest(suite)
    const placed = await caller.result()
    const answered = await callee.result()
    expect(placed.failedCalls).toBe(0)
    expect(placed.successfulCalls).toBe(CALLS)
    expect(answered.failedCalls).toBe(0)
    expect(answered.successfulCalls).toBe(CALLS)
    expect(survivor.logs().split("call taken over").length - 1).toBe(victimCalls)
  }, 60_000)

  it("the owner dies while the callee rings: the caller's retransmitted INVITE gets the 180 again from the survivor", async () => {
    suite = await startSuite({ instances: ["ccsetupe", "ccsetupf"] })
    const callee = await startSippUas({
      scenario: uasRingCancelled(),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 40,
    })
    const ua = await createTestUserAgent()
    const to = { host: "127.0.0.1", port: suite.sipPort }
    const sdp =
      "v=0\r\no=alice 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\n"
    const message = (method: string, extra = "") => {
      const body = method === "INVITE" ? sdp : ""
      return `${method} sip:bob@127.0.0.1:${suite!.sipPort} SIP/2.0\r
Via: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-retx1;rport\r
Max-Forwards: 70\r
From: <sip:alice@127.0.0.1>;tag=retx1\r
To: <sip:bob@127.0.0.1>${extra}\r
Call-ID: retx1\r
CSeq: 1 ${method}\r
Contact: <sip:alice@127.0.0.1:${ua.port}>\r
${body === "" ? "" : "Content-Type: application/sdp\r\n"}Content-Length: ${body.length}\r
\r
${body}`
    }
    try {
      await ua.send(message("INVITE"), to)
      const isStatus = (status: number) => (r: { message?: unknown }) =>
        typeof r.message === "object" &&
        r.message !== null &&
        "status" in r.message &&
        r.message.status === status
      const ringing = await ua.next(isStatus(180), 15_000)
      const [one, two] = suite.callControls
      const [victim, survivor] = one!.logs().includes('"callId":"retx1"') ? [one!, two!] : [two!, one!]
      victim.child.kill("SIGKILL")
      // The same INVITE again, retransmitted as a UAC does (Timer A, T1 doubling, RFC 3261 §17.1.1.2):
      // copies that reach the dead owner before NATS notices its closed connection time out at the edge
      // and are dropped; the next one reaches the survivor, which answers with the latest provisional.
      let again: Awaited<ReturnType<typeof ua.next>> | undefined
      for (let interval = 500; again === undefined && interval <= 8000; interval *= 2) {
        await ua.send(message("INVITE"), to)
        again = await ua.next(isStatus(180), interval).catch(() => undefined)
      }
      expect(again?.message?.kind === "response" && again.message.toTag).toBe(
        ringing.message?.kind === "response" ? ringing.message.toTag : "",
      )
      expect(survivor.logs()).toContain("call taken over")
      // Then the caller gives up: 200 for the CANCEL, 487 for the INVITE, which it ACKs.
      await ua.send(message("CANCEL"), to)
      const terminated = await ua.next(isStatus(487), 15_000)
      const toTag = terminated.message?.kind === "response" ? terminated.message.toTag : ""
      await ua.send(message("ACK", `;tag=${toTag}`), to)
      const answered = await callee.result()
      expect(answered.failedCalls).toBe(0)
      expect(answered.successfulCalls).toBe(1)
    } finally {
      await ua.close()
    }
  }, 60_000)
})
