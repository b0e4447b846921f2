/**
 * Subscriptions survive an instance: two call-control processes; the one that owns an active
 * subscription is SIGKILLed; the subscriber's refresh reaches the other instance through the edge's
 * takeover path, which restores the subscription from KV `calls`, and the refresh, the unsubscribe and
 * the terminated NOTIFY complete on both legs.
 */
import { startSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, describe, expect, it } from "vitest"
import { uacSubscriber, uasNotifier } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite | undefined

afterAll(async () => {
  await suite?.stop()
})

describe("subscription takeover", () => {
  it("a refresh after the owner's SIGKILL is relayed by the other instance, and the subscription ends cleanly", async () => {
    suite = await startSuite({ instances: ["ccsubone", "ccsubtwo"] })
    const instances = suite.callControls
    const notifier = await startSippUas({
      scenario: uasNotifier(),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 30,
    })
    const subscriber = await startSipp({
      scenario: uacSubscriber(3000),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 30,
    })
    // The first NOTIFY is answered within a few hundred ms; the refresh comes 3 s after it.
    const deadline = Date.now() + 10_000
    const owner = () => instances.findIndex((i) => i.logs().includes("subscription started"))
    while (owner() < 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
    await new Promise((r) => setTimeout(r, 1000))
    const victim = instances[owner()]!
    const survivor = instances[1 - owner()]!
    victim.child.kill("SIGKILL")
    const subscribed = await subscriber.result()
    const notified = await notifier.result()
    expect(subscribed.failedCalls).toBe(0)
    expect(subscribed.successfulCalls).toBe(1)
    expect(notified.successfulCalls).toBe(1)
    expect(survivor.logs()).toContain("subscription taken over")
    // The last log line is written just after the last 200 left: wait for it (bounded).
    const until = Date.now() + 5000
    while (!survivor.logs().includes("subscription ended") && Date.now() < until)
      await new Promise((r) => setTimeout(r, 50))
    expect(survivor.logs()).toContain("subscription ended")
  })
})
