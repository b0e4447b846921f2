/**
 * The pure subscription machine (RFC 6665 through the B2BUA), message by message, on the reference
 * guide's SUBSCRIBE/200/NOTIFY/200 traces (packages/sip golden files 05–08).
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import {
  buildRequest,
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import {
  checkSubscribe,
  FINAL_NOTIFY_WAIT_MS,
  type Subscription,
  type SubscriptionAction,
  type SubscriptionStep,
  startSubscription,
  stepSubscription,
} from "../src/Subscription.js"
import { testIdentity, testTarget, wire } from "./fixtures.js"

const golden = (name: string): string =>
  readFileSync(
    fileURLToPath(new URL(`../../../packages/sip/test/golden/guide/${name}`, import.meta.url)),
    "latin1",
  )

const parse = <M extends SipRequest | SipResponse>(text: string): M =>
  parseMessageOrThrow(Buffer.from(text, "latin1")) as M

/** The guide's SUBSCRIBE from the terminal (05): the subscriber, A. */
const guideSubscribe = (): SipRequest => parse(golden("05-subscribe.sip"))

const NOTIFIER_TAG = "1c0b501142111-0"
const NOTIFIER_CONTACT = "<sip:2010@198.51.100.20:5080>"
const T0 = 1_000_000

/** The guide's 200 to the SUBSCRIBE (06) as the notifier B sends it for the suite's B-leg SUBSCRIBE. */
const notifierOk = (request: SipRequest, expires = "3627"): SipResponse => {
  const g = parse<SipResponse>(golden("06-subscribe-200.sip"))
  return wire(
    createResponse(request, g.status, {
      ...(request.toTag === undefined ? { toTag: NOTIFIER_TAG } : {}),
      headers: [
        ["Contact", NOTIFIER_CONTACT],
        ["Expires", expires],
      ],
    }),
  )
}

/** The guide's NOTIFY (07) as B sends it in the B-leg dialog: its headers and body, the dialog's ids. */
const notifierNotify = (s: Subscription, seq: number, state = "active"): SipRequest => {
  const g = parse<SipRequest>(golden("07-notify.sip"))
  return wire(
    buildRequest({
      method: "NOTIFY",
      uri: "sip:b2bua@192.0.2.10:5060",
      headers: [
        ["Via", `SIP/2.0/UDP 198.51.100.20:5080;branch=z9hG4bK5236586a${seq}`],
        ["Max-Forwards", "70"],
        ["From", `<sip:2010@198.51.100.20:5080>;tag=${NOTIFIER_TAG}`],
        ["To", `${s.bSubscribe.headerValues("From")[0]!}`],
        ["Call-ID", s.bCallId],
        ["CSeq", `${seq} NOTIFY`],
        ["Event", g.header("Event")!],
        ["Subscription-State", state],
        ["Contact", NOTIFIER_CONTACT],
      ],
      body: g.body,
      contentType: g.contentType!,
    }),
  )
}

const sent = (actions: ReadonlyArray<SubscriptionAction>, tag: "SendA" | "SendB") =>
  actions.flatMap((a) => (a._tag === tag ? [wire(a.message)] : []))
const onlyRequest = (actions: ReadonlyArray<SubscriptionAction>, tag: "SendA" | "SendB") => {
  const [m, ...rest] = sent(actions, tag)
  expect(rest).toHaveLength(0)
  expect(m?.kind).toBe("request")
  return m as SipRequest
}
const onlyResponse = (actions: ReadonlyArray<SubscriptionAction>, tag: "SendA" | "SendB") => {
  const [m, ...rest] = sent(actions, tag)
  expect(rest).toHaveLength(0)
  expect(m?.kind).toBe("response")
  return m as SipResponse
}
const timers = (actions: ReadonlyArray<SubscriptionAction>) =>
  actions.flatMap((a) => (a._tag === "StartTimer" ? [[a.timer, a.delayMs] as const] : []))
const ended = (actions: ReadonlyArray<SubscriptionAction>) => actions.some((a) => a._tag === "Ended")

const fromA = (s: Subscription, message: SipRequest | SipResponse, at = T0): SubscriptionStep =>
  stepSubscription(s, { _tag: "FromA", message: wire(message), at })
const fromB = (s: Subscription, message: SipRequest | SipResponse, at = T0): SubscriptionStep =>
  stepSubscription(s, { _tag: "FromB", message: wire(message), at })

const start = (aReliable = false) =>
  startSubscription({ subscribe: guideSubscribe(), id: testIdentity, targets: [testTarget], aReliable })

/** Started, answered 200 by B and relayed to A. */
const active = (): Subscription => {
  const [s] = start()
  const [answered] = fromB(s, notifierOk(s.bSubscribe))
  expect(answered.phase).toBe("Active")
  return answered
}

/** A's in-dialog SUBSCRIBE (refresh or unsubscribe) after the suite's 200. */
const refreshFromA = (s: Subscription, seq: number, expires: string): SipRequest => {
  const a = s.aSubscribe
  return buildRequest({
    method: "SUBSCRIBE",
    uri: "sip:b2bua@192.0.2.10:5060",
    headers: [
      ["Via", `SIP/2.0/UDP 172.16.1.30:5060;branch=z9hG4bKrefresh${seq}`],
      ["Max-Forwards", "70"],
      ["Call-ID", a.callId],
      ["From", a.headerValues("From")[0]!],
      ["To", `${a.headerValues("To")[0]!};tag=${s.aTag}`],
      ["CSeq", `${seq} SUBSCRIBE`],
      ["Event", "X-NECSIPEXT2CTRL"],
      ["Expires", expires],
      ["Contact", "sip:2010@172.16.1.30:5060"],
    ],
  })
}

describe("the initial SUBSCRIBE (RFC 6665 §4.1.2.1) on the guide's trace", () => {
  it("goes to B with the suite's own Call-ID, tags, branch and Contact; Event and Expires kept", () => {
    const [s, actions] = start()
    const b = onlyRequest(actions, "SendB")
    const a = guideSubscribe()
    expect(b.method).toBe("SUBSCRIBE")
    expect(b.uri).toBe("sip:2142622000@198.51.100.20:5080")
    expect(b.header("Event")).toBe("X-NECSIPEXT2CTRL")
    expect(b.header("Expires")).toBe("3627")
    expect(b.maxForwards).toBe(69)
    expect(b.cseq).toEqual({ seq: 1, method: "SUBSCRIBE" })
    // Topology hiding: nothing of A's Call-ID, tags, Via, Contact or User-Agent.
    const text = serializeMessage(b).toString("latin1")
    for (const hidden of [a.callId, a.fromTag!, "172.16.1.30", "z9hG4bK0a8a3e977", "NEC-DPV"])
      expect(text).not.toContain(hidden)
    expect(b.callId).toBe(s.bCallId)
    expect(b.fromTag).toBe(s.bFromTag)
    expect(b.topVia.params.find(([n]) => n === "branch")?.[1]).toMatch(/^z9hG4bKb2bccc1\./)
    expect(b.header("Contact")).toBe("<sip:b2bua@192.0.2.10:5060>")
    // RFC 3261 §17.1.2.2 over UDP: Timer E at T1, Timer F at 64*T1.
    expect(timers(actions)).toEqual([
      ["E1", 500],
      ["F1", 32_000],
    ])
  })

  it("keeps the Event id parameter and passes Accept and the body, of any type", () => {
    const text = golden("05-subscribe.sip")
      .replace("Event: X-NECSIPEXT2CTRL", "Event: dialog;id=42\r\nAccept: application/dialog-info+xml")
      .replace(
        "Content-Length: 0\r\n\r\n",
        "Content-Type: application/simple-filter+xml\r\nContent-Length: 5\r\n\r\n<f/>\n",
      )
    const subscribe = parse<SipRequest>(text)
    expect(checkSubscribe(subscribe, POLICY)).toBeUndefined()
    const [, actions] = startSubscription({
      subscribe,
      id: testIdentity,
      targets: [testTarget],
      aReliable: false,
    })
    const b = onlyRequest(actions, "SendB")
    expect(b.header("Event")).toBe("dialog;id=42")
    expect(b.header("Accept")).toBe("application/dialog-info+xml")
    expect(b.contentType).toBe("application/simple-filter+xml")
    expect(b.body.toString()).toBe("<f/>\n")
  })

  it("B's 200 reaches A with the suite's To-tag, Contact and B's Expires; the expiry timer starts", () => {
    const [s] = start()
    const [next, actions] = fromB(s, notifierOk(s.bSubscribe, "1800"))
    const ok = onlyResponse(actions, "SendA")
    const a = guideSubscribe()
    expect(ok.status).toBe(200)
    expect(ok.callId).toBe(a.callId)
    expect(ok.fromTag).toBe(a.fromTag)
    expect(ok.toTag).toBe(s.aTag)
    expect(ok.topVia.params.find(([n]) => n === "branch")?.[1]).toBe("z9hG4bK0a8a3e977")
    expect(ok.header("Expires")).toBe("1800")
    expect(ok.header("Contact")).toBe("<sip:b2bua@192.0.2.10:5060>")
    expect(serializeMessage(ok).toString("latin1")).not.toContain("198.51.100.20")
    expect(timers(actions)).toEqual([["Expires", 1_800_000]])
    expect(next.expiresAt).toBe(T0 + 1_800_000)
    expect(next.bRemoteTag).toBe(NOTIFIER_TAG)
    expect(next.bTarget).toBe("sip:2010@198.51.100.20:5080")
    expect(next.clients).toHaveLength(0)
  })

  it("a 202 is relayed as a 202", () => {
    const [s] = start()
    const accepted = createResponse(s.bSubscribe, 202, { toTag: NOTIFIER_TAG, headers: [["Expires", "60"]] })
    expect(onlyResponse(fromB(s, accepted)[1], "SendA").status).toBe(202)
  })

  it("a failure is relayed with its Allow-Events (489) or Min-Expires (423), and ends the subscription", () => {
    for (const [status, header, value] of [
      [489, "Allow-Events", "presence"],
      [423, "Min-Expires", "7200"],
    ] as const) {
      const [s] = start()
      const failure = createResponse(s.bSubscribe, status, {
        toTag: NOTIFIER_TAG,
        headers: [[header, value]],
      })
      const [next, actions] = fromB(s, failure)
      const toA = onlyResponse(actions, "SendA")
      expect(toA.status).toBe(status)
      expect(toA.header(header)).toBe(value)
      expect(toA.toTag).toBe(s.aTag)
      expect(next.phase).toBe("Ended")
      expect(ended(actions)).toBe(true)
    }
  })

  it("fails over to the next target on its trunk's codes, in the same B-leg dialog identifiers", () => {
    const second = { ...testTarget, host: "198.51.100.21", failoverCodes: [503] }
    const [s] = startSubscription({
      subscribe: guideSubscribe(),
      id: testIdentity,
      targets: [{ ...testTarget, failoverCodes: [503] }, second],
      aReliable: false,
    })
    const [next, actions] = fromB(s, createResponse(s.bSubscribe, 503, { toTag: "x" }))
    expect(sent(actions, "SendA")).toHaveLength(0)
    const retry = onlyRequest(actions, "SendB")
    expect(retry.uri).toBe("sip:2142622000@198.51.100.21:5080")
    expect(retry.cseq.seq).toBe(2)
    expect(retry.callId).toBe(s.bCallId)
    expect(next.phase).toBe("Subscribing")
  })

  it("the A-leg SUBSCRIBE is checked: Event required, Max-Forwards 0 gets 483, a bad Expires 400", () => {
    const noEvent = parse<SipRequest>(golden("05-subscribe.sip").replace("Event: X-NECSIPEXT2CTRL\r\n", ""))
    expect(checkSubscribe(noEvent, POLICY)).toMatchObject({
      status: 400,
      reason: "Bad Request: SUBSCRIBE without Event",
    })
    const hops = parse<SipRequest>(golden("05-subscribe.sip").replace("Max-Forwards: 70", "Max-Forwards: 0"))
    expect(checkSubscribe(hops, POLICY)?.status).toBe(483)
    const badExpires = parse<SipRequest>(golden("05-subscribe.sip").replace("Expires: 3627", "Expires: soon"))
    expect(checkSubscribe(badExpires, POLICY)).toMatchObject({ status: 400 })
    expect(checkSubscribe(guideSubscribe(), POLICY)).toBeUndefined()
  })
})

const POLICY = {
  allowedMethods: ["INVITE", "SUBSCRIBE", "NOTIFY"],
  supportedExtensions: [],
  acceptedContentTypes: ["application/sdp"],
  uriSchemes: ["sip", "sips", "tel"],
  forwards: true,
}

describe("NOTIFY relayed into A's dialog (RFC 6665 §4.1.3, the guide's NOTIFY)", () => {
  it("B's NOTIFY reaches A in A's dialog with its Event, state and body; A's 200 goes back to B", () => {
    const s = active()
    const [waiting, actions] = fromB(s, notifierNotify(s, 335277958))
    const notify = onlyRequest(actions, "SendA")
    const a = guideSubscribe()
    expect(notify.method).toBe("NOTIFY")
    expect(notify.uri).toBe("sip:2010@172.16.1.30:5060")
    expect(notify.callId).toBe(a.callId)
    expect(notify.fromTag).toBe(s.aTag)
    expect(notify.toTag).toBe(a.fromTag)
    expect(notify.cseq).toEqual({ seq: 1, method: "NOTIFY" })
    expect(notify.header("Event")).toBe("X-NECSIPEXT2CTRL")
    expect(notify.header("Subscription-State")).toBe("active")
    expect(notify.contentType).toBe("application/X-NECSIPEXT2MLv1")
    expect(notify.body.toString("latin1")).toBe("Event-Fkey=8:speaker\r\n")
    expect(serializeMessage(notify).toString("latin1")).not.toMatch(/198\.51\.100\.20|z9hG4bK5236586a/)
    expect(timers(actions)).toEqual([
      ["E2", 500],
      ["F2", 32_000],
    ])
    // The guide's 200 to the NOTIFY (08), from A.
    const [after, answer] = fromA(
      waiting,
      createResponse(notify, 200, { headers: [["Contact", "<sip:2010@172.16.1.30:5060>"]] }),
    )
    const ok = onlyResponse(answer, "SendB")
    expect(ok.status).toBe(200)
    expect(ok.cseq).toEqual({ seq: 335277958, method: "NOTIFY" })
    expect(ok.callId).toBe(s.bCallId)
    expect(ok.header("Contact")).toBeUndefined()
    expect(answer).toContainEqual(
      expect.objectContaining({ _tag: "SendB", to: { host: "198.51.100.20", port: 5080 } }),
    )
    expect(answer).toContainEqual({ _tag: "CancelTimer", timer: "E2" })
    expect(after.phase).toBe("Active")
    expect(after.clients).toHaveLength(0)
  })

  it("a NOTIFY before the SUBSCRIBE's 200 creates the dialogs (§4.1.2.4); the 200 follows to A", () => {
    const [s] = start()
    const [notified, actions] = fromB(s, notifierNotify(s, 7))
    const notify = onlyRequest(actions, "SendA")
    expect(notify.fromTag).toBe(s.aTag)
    expect(notified.bRemoteTag).toBe(NOTIFIER_TAG)
    expect(notified.phase).toBe("Subscribing")
    const [answered, okActions] = fromA(notified, createResponse(notify, 200))
    expect(onlyResponse(okActions, "SendB").status).toBe(200)
    // B's 200 to the SUBSCRIBE carries the same tag the NOTIFY did.
    const [activeNow, relayed] = fromB(answered, notifierOk(s.bSubscribe))
    expect(onlyResponse(relayed, "SendA").toTag).toBe(s.aTag)
    expect(activeNow.phase).toBe("Active")
  })

  it("a NOTIFY's expires parameter reschedules the expiry; one without Subscription-State gets 400", () => {
    const s = active()
    const [next, actions] = fromB(s, notifierNotify(s, 5, "active;expires=120"), T0 + 10)
    expect(timers(actions)).toContainEqual(["Expires", 120_000])
    expect(next.expiresAt).toBe(T0 + 10 + 120_000)
    const bare = notifierNotify(s, 6)
    bare.removeHeader("Subscription-State")
    const [, refused] = fromB(next, bare)
    expect(onlyResponse(refused, "SendB")).toMatchObject({ status: 400 })
  })

  it("a NOTIFY from another fork (another From-tag) gets 481 and does not reach A", () => {
    const s = active()
    const forked = parse<SipRequest>(
      serializeMessage(notifierNotify(s, 9))
        .toString("latin1")
        .replace(`tag=${NOTIFIER_TAG}`, "tag=otherfork"),
    )
    const [, actions] = fromB(s, forked)
    expect(onlyResponse(actions, "SendB").status).toBe(481)
    expect(sent(actions, "SendA")).toHaveLength(0)
  })

  it("a 481 from A to a NOTIFY is relayed to B and ends the subscription (RFC 6665 §4.2.2)", () => {
    const s = active()
    const [waiting, actions] = fromB(s, notifierNotify(s, 10))
    const [done, answer] = fromA(waiting, createResponse(onlyRequest(actions, "SendA"), 481))
    expect(onlyResponse(answer, "SendB").status).toBe(481)
    expect(done.phase).toBe("Ended")
    expect(ended(answer)).toBe(true)
  })
})

describe("refresh and unsubscribe from A (RFC 6665 §4.1.2.2, §4.1.2.3)", () => {
  it("a refresh goes to B in B's dialog with the B-leg's own CSeq; B's Expires comes back to A", () => {
    const s = active()
    const [waiting, actions] = fromA(s, refreshFromA(s, 633878893, "600"), T0 + 5000)
    const b = onlyRequest(actions, "SendB")
    expect(b.method).toBe("SUBSCRIBE")
    expect(b.uri).toBe("sip:2010@198.51.100.20:5080")
    expect(b.callId).toBe(s.bCallId)
    expect(b.toTag).toBe(NOTIFIER_TAG)
    expect(b.fromTag).toBe(s.bFromTag)
    expect(b.cseq).toEqual({ seq: 2, method: "SUBSCRIBE" })
    expect(b.header("Expires")).toBe("600")
    expect(b.header("Event")).toBe("X-NECSIPEXT2CTRL")
    const [refreshed, answer] = fromB(waiting, notifierOk(b, "600"), T0 + 5000)
    const ok = onlyResponse(answer, "SendA")
    expect(ok.status).toBe(200)
    expect(ok.cseq.seq).toBe(633878893)
    expect(ok.header("Expires")).toBe("600")
    expect(timers(answer)).toEqual([["Expires", 600_000]])
    expect(refreshed.expiresAt).toBe(T0 + 5000 + 600_000)
  })

  it("unsubscribe (Expires: 0), then B's terminated NOTIFY ends both dialogs after A's answer", () => {
    const s = active()
    const [waiting, actions] = fromA(s, refreshFromA(s, 633878893, "0"))
    const b = onlyRequest(actions, "SendB")
    expect(b.header("Expires")).toBe("0")
    const [unsubscribed, answer] = fromB(waiting, notifierOk(b, "0"))
    expect(onlyResponse(answer, "SendA").header("Expires")).toBe("0")
    // The final NOTIFY is awaited a transaction's lifetime, not forever.
    expect(timers(answer)).toEqual([["Expires", FINAL_NOTIFY_WAIT_MS]])
    const [terminating, notifyActions] = fromB(
      unsubscribed,
      notifierNotify(s, 11, "terminated;reason=timeout"),
    )
    const notify = onlyRequest(notifyActions, "SendA")
    expect(notify.header("Subscription-State")).toBe("terminated;reason=timeout")
    expect(notifyActions).toContainEqual({ _tag: "CancelTimer", timer: "Expires" })
    expect(terminating.phase).toBe("Terminating")
    const [done, last] = fromA(terminating, createResponse(notify, 200))
    expect(onlyResponse(last, "SendB").status).toBe(200)
    expect(done.phase).toBe("Ended")
    expect(ended(last)).toBe(true)
  })

  it("a refresh answered 481 is relayed and ends the subscription", () => {
    const s = active()
    const [waiting, actions] = fromA(s, refreshFromA(s, 633878893, "600"))
    const [done, answer] = fromB(waiting, createResponse(onlyRequest(actions, "SendB"), 481))
    expect(onlyResponse(answer, "SendA").status).toBe(481)
    expect(done.phase).toBe("Ended")
  })

  it("a refresh with an old CSeq gets 500 (RFC 3261 §12.2.2); other methods in the dialog 405", () => {
    const s = active()
    expect(onlyResponse(fromA(s, refreshFromA(s, 633878892 - 1, "600"))[1], "SendA").status).toBe(500)
    const bye = parse<SipRequest>(
      serializeMessage(refreshFromA(s, 633878899, "600"))
        .toString("latin1")
        .replaceAll("SUBSCRIBE", "BYE"),
    )
    const refused = onlyResponse(fromA(s, bye)[1], "SendA")
    expect(refused.status).toBe(405)
    expect(refused.header("Allow")).toBe("SUBSCRIBE")
  })
})

describe("the subscription lapses without a refresh", () => {
  it("Expires fires: NOTIFY terminated;reason=timeout to A, and the subscription ends on its answer", () => {
    const s = active()
    const [terminating, actions] = stepSubscription(s, {
      _tag: "TimerFired",
      timer: "Expires",
      at: T0 + 3_627_000,
    })
    const notify = onlyRequest(actions, "SendA")
    expect(notify.header("Subscription-State")).toBe("terminated;reason=timeout")
    expect(notify.header("Event")).toBe("X-NECSIPEXT2CTRL")
    expect(terminating.phase).toBe("Terminating")
    const [done, last] = fromA(terminating, createResponse(notify, 200))
    expect(done.phase).toBe("Ended")
    expect(ended(last)).toBe(true)
    // B's own timeout NOTIFY arriving late gets 200; anything else 481.
    expect(
      onlyResponse(fromB(done, notifierNotify(s, 12, "terminated;reason=timeout"))[1], "SendB").status,
    ).toBe(200)
    expect(onlyResponse(fromB(done, notifierNotify(s, 13))[1], "SendB").status).toBe(481)
  })

  it("meanwhile a late refresh gets 481", () => {
    const s = active()
    const [terminating] = stepSubscription(s, { _tag: "TimerFired", timer: "Expires", at: T0 })
    expect(onlyResponse(fromA(terminating, refreshFromA(s, 633878893, "600"))[1], "SendA").status).toBe(481)
  })
})

describe("retransmissions (RFC 3261 §17.1.2.2, §17.2.2)", () => {
  it("Timer E resends the B-leg SUBSCRIBE, doubling to T2; Timer F ends in 408 to A", () => {
    const [s, actions] = start()
    const first = onlyRequest(actions, "SendB")
    const [again, resent] = stepSubscription(s, { _tag: "TimerFired", timer: "E1", at: T0 + 500 })
    expect(serializeMessage(onlyRequest(resent, "SendB"))).toEqual(serializeMessage(first))
    expect(timers(resent)).toEqual([["E1", 1000]])
    const [, thirdTime] = stepSubscription(again, { _tag: "TimerFired", timer: "E1", at: T0 + 1500 })
    expect(timers(thirdTime)).toEqual([["E1", 2000]])
    const [gone, timeout] = stepSubscription(again, { _tag: "TimerFired", timer: "F1", at: T0 + 32_000 })
    expect(onlyResponse(timeout, "SendA").status).toBe(408)
    expect(gone.phase).toBe("Ended")
  })

  it("over TCP there is no Timer E, only F", () => {
    const [, actions] = start(true)
    expect(timers(actions)).toEqual([
      ["E1", 500],
      ["F1", 32_000],
    ])
    const [, tcp] = startSubscription({
      subscribe: guideSubscribe(),
      id: testIdentity,
      targets: [{ ...testTarget, transport: "tcp" }],
      aReliable: true,
    })
    expect(timers(tcp)).toEqual([["F1", 32_000]])
  })

  it("A's retransmitted SUBSCRIBE is absorbed while B has not answered, then gets the 200 again", () => {
    const [s] = start()
    expect(fromA(s, guideSubscribe())[1]).toEqual([])
    const [answered, actions] = fromB(s, notifierOk(s.bSubscribe))
    const ok = onlyResponse(actions, "SendA")
    const again = onlyResponse(fromA(answered, guideSubscribe())[1], "SendA")
    expect(serializeMessage(again)).toEqual(serializeMessage(ok))
  })

  it("B's retransmitted NOTIFY is absorbed while A has not answered, then gets the 200 again", () => {
    const s = active()
    const notify = notifierNotify(s, 20)
    const [waiting, actions] = fromB(s, notify)
    expect(fromB(waiting, notify)[1]).toEqual([])
    const [answered, ok] = fromA(waiting, createResponse(onlyRequest(actions, "SendA"), 200))
    expect(onlyResponse(fromB(answered, notify)[1], "SendB")).toEqual(onlyResponse(ok, "SendB"))
  })

  it("a retransmitted 200 from B after its transaction completed changes nothing", () => {
    const s = active()
    expect(fromB(s, notifierOk(s.bSubscribe))).toEqual([s, []])
  })

  it("a NOTIFY to A that gets no answer: Timer F relays 408 to B and ends the subscription", () => {
    const s = active()
    const [waiting] = fromB(s, notifierNotify(s, 30))
    const [gone, actions] = stepSubscription(waiting, { _tag: "TimerFired", timer: "F2", at: T0 + 32_000 })
    expect(onlyResponse(actions, "SendB").status).toBe(408)
    expect(gone.phase).toBe("Ended")
  })
})
