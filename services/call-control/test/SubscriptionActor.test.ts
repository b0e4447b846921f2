/**
 * The subscription actor shell with Effect's TestClock and a recording transport: the machine's
 * retransmission and expiry timers run as fibers, messages reach the actor by the suite's identifiers,
 * and the claim is released when the subscription ends.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { InstanceId, ListenerId, type SipEnvelopeMeta } from "@b2bua/contracts"
import {
  createResponse,
  parseMessageOrThrow,
  type SipMessage,
  type SipRequest,
  serializeMessage,
} from "@b2bua/sip"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import type { HostPort } from "../src/CallState.js"
import { makeSubscriptions } from "../src/SubscriptionActor.js"
import { testIdentity, testTarget, wire } from "./fixtures.js"

const guideSubscribe = (): SipRequest =>
  parseMessageOrThrow(
    readFileSync(
      fileURLToPath(new URL("../../../packages/sip/test/golden/guide/05-subscribe.sip", import.meta.url)),
    ),
  ) as SipRequest

const meta: SipEnvelopeMeta = {
  edge: InstanceId("edge1"),
  listener: ListenerId("udp:0.0.0.0:5060"),
  transport: "udp",
  local: "192.0.2.10:5060",
  remote: "172.16.1.30:5060",
}

interface Sent {
  readonly message: SipMessage
  readonly remote: HostPort
}

/** Lets the actor fibers run what the clock released (bounded: never a busy wait without end). */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 50; i++) yield* Effect.yieldNow
})

const run = <A>(body: (sent: Sent[], released: SipRequest[]) => Effect.Effect<A>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const sent: Sent[] = []
      const released: SipRequest[] = []
      return yield* body(sent, released)
    }).pipe(Effect.provide(TestClock.layer())),
  )

describe("subscription actor (TestClock, recording transport)", () => {
  it("retransmits with Timer E, relays 200 and NOTIFY, expires, and releases the claim at the end", async () => {
    const outcome = await run((sent, released) =>
      Effect.gen(function* () {
        const subs = yield* makeSubscriptions({
          owner: testIdentity.owner,
          localOf: () => testIdentity.local,
          send: (_meta, message, remote) =>
            Effect.sync(() => void sent.push({ message: wire(message), remote })),
          releaseClaim: (s) => Effect.sync(() => void released.push(s)),
        })
        yield* subs.start({ subscribe: guideSubscribe(), meta, targets: [testTarget] })
        yield* settle
        const bSubscribe = sent[0]!.message as SipRequest
        expect(sent[0]!.remote).toEqual({ host: "198.51.100.20", port: 5080 })
        // RFC 3261 §17.1.2.2: no answer within T1 → the same request again.
        yield* TestClock.adjust(500)
        yield* settle
        expect(sent).toHaveLength(2)
        expect(serializeMessage(sent[1]!.message)).toEqual(serializeMessage(bSubscribe))
        // B's 200 (found by the B-leg Call-ID) reaches A at the address its SUBSCRIBE came from.
        const ok = createResponse(bSubscribe, 200, {
          toTag: "notifier1",
          headers: [
            ["Contact", "<sip:2010@198.51.100.20:5080>"],
            ["Expires", "60"],
          ],
        })
        expect(yield* subs.dispatch(meta, wire(ok))).toBe(true)
        yield* settle
        expect(sent[2]!.remote).toEqual({ host: "172.16.1.30", port: 5060 })
        expect(sent[2]!.message.kind === "response" && sent[2]!.message.status).toBe(200)
        // No more retransmissions once answered.
        yield* TestClock.adjust(4000)
        yield* settle
        expect(sent).toHaveLength(3)
        // The subscription lapses after B's 60 s: NOTIFY terminated;reason=timeout to A's Contact.
        yield* TestClock.adjust(56_000)
        yield* settle
        expect(sent).toHaveLength(4)
        const notify = sent[3]!.message as SipRequest
        expect(notify.method).toBe("NOTIFY")
        expect(notify.header("Subscription-State")).toBe("terminated;reason=timeout")
        expect(sent[3]!.remote).toEqual({ host: "172.16.1.30", port: 5060 })
        expect(released).toHaveLength(0)
        expect(yield* subs.dispatch(meta, wire(createResponse(notify, 200)))).toBe(true)
        yield* settle
        expect(subs.active()).toBe(0)
        expect(released.map((r) => r.callId)).toEqual([guideSubscribe().callId])
        // Lingering: a retransmitted SUBSCRIBE still gets its 200; afterwards the subscription is gone.
        yield* subs.dispatch(meta, guideSubscribe())
        yield* settle
        expect(sent).toHaveLength(5)
        yield* TestClock.adjust(32_000)
        yield* settle
        return {
          afterLinger: yield* subs.dispatch(meta, guideSubscribe()),
          isNew: subs.isNew(guideSubscribe()),
        }
      }),
    )
    expect(outcome).toEqual({ afterLinger: false, isNew: true })
  })

  it("an ended subscription is replaced by a new SUBSCRIBE with the same identifiers (a retry after 423)", async () => {
    const isNew = await run((sent) =>
      Effect.gen(function* () {
        const subs = yield* makeSubscriptions({
          owner: testIdentity.owner,
          localOf: () => testIdentity.local,
          send: (_meta, message, remote) =>
            Effect.sync(() => void sent.push({ message: wire(message), remote })),
          releaseClaim: () => Effect.void,
        })
        yield* subs.start({ subscribe: guideSubscribe(), meta, targets: [testTarget] })
        const tooBrief = createResponse(sent[0]!.message as SipRequest, 423, {
          toTag: "n1",
          headers: [["Min-Expires", "7200"]],
        })
        yield* subs.dispatch(meta, wire(tooBrief))
        yield* settle
        const retry = parseMessageOrThrow(
          Buffer.from(
            serializeMessage(guideSubscribe()).toString("latin1").replace("633878892", "633878893"),
          ),
        ) as SipRequest
        return [subs.isNew(guideSubscribe()), subs.isNew(retry)]
      }),
    )
    expect(isNew).toEqual([false, true])
  })
})
