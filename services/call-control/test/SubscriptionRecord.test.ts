/** The stored form of a subscription (KV `calls`, for takeover): what goes in comes back out. */
import { InstanceId, ListenerId, type SipEnvelopeMeta } from "@b2bua/contracts"
import { createResponse, parseMessageOrThrow, type SipRequest, serializeMessage } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import { startSubscription, stepSubscription } from "../src/Subscription.js"
import { decodeSubscription, encodeSubscription } from "../src/SubscriptionRecord.js"
import { testIdentity, testTarget, wire } from "./fixtures.js"

const subscribe = () =>
  parseMessageOrThrow(
    Buffer.from(
      "SUBSCRIBE sip:CYGNUS-IPS@172.16.1.20:5080 SIP/2.0\r\nVia: SIP/2.0/TCP 172.16.1.30:5060;branch=z9hG4bK0a8a3e977\r\nMax-Forwards: 70\r\nCall-ID: c8902c5f6921115@172.16.1.30\r\nFrom: <sip:2010@172.16.1.20>;tag=5ddc58f9427386a\r\nTo: <sip:CYGNUS-IPS@172.16.1.20:5080>\r\nCSeq: 633878892 SUBSCRIBE\r\nEvent: X-NECSIPEXT2CTRL;id=3\r\nExpires: 3627\r\nContact: sip:2010@172.16.1.30:5060\r\nContent-Length: 0\r\n\r\n",
    ),
  ) as SipRequest

const meta: SipEnvelopeMeta = {
  edge: InstanceId("edge1"),
  listener: ListenerId("tcp:0.0.0.0:5060"),
  transport: "tcp",
  local: "192.0.2.10:5060",
  remote: "172.16.1.30:40123",
  connection: undefined,
}

describe("subscription record", () => {
  it("round-trips an active subscription: dialogs, CSeqs, expiry, target and the A-leg envelope", () => {
    const [s0] = startSubscription({
      subscribe: subscribe(),
      id: testIdentity,
      targets: [{ ...testTarget, contactUri: "sip:2010@10.0.0.9:5062" }],
      aReliable: true,
    })
    const ok = createResponse(s0.bSubscribe, 200, {
      toTag: "n1",
      headers: [
        ["Contact", "<sip:2010@198.51.100.20:5080>"],
        ["Expires", "600"],
      ],
    })
    const [s1] = stepSubscription(s0, { _tag: "FromB", message: wire(ok), at: 5000 })
    const stored = decodeSubscription(encodeSubscription(InstanceId("cc1"), meta, s1))
    if (typeof stored === "string") throw new Error(stored)
    expect(stored.owner).toBe("cc1")
    expect(stored.aMeta).toMatchObject({ edge: "edge1", transport: "tcp", remote: "172.16.1.30:40123" })
    const s = stored.subscription
    expect(s.phase).toBe("Active")
    expect(s.expiresAt).toBe(5000 + 600_000)
    expect(s.dest).toEqual({ ...testTarget, contactUri: "sip:2010@10.0.0.9:5062" })
    expect(serializeMessage(s.aSubscribe)).toEqual(serializeMessage(s1.aSubscribe))
    expect(serializeMessage(s.aFinal!)).toEqual(serializeMessage(s1.aFinal!))
    expect(serializeMessage(s.bSubscribe)).toEqual(serializeMessage(s1.bSubscribe))
    const { aSubscribe: _a, aFinal: _f, bSubscribe: _b, ...rest } = s
    const { aSubscribe: _a1, aFinal: _f1, bSubscribe: _b1, ...expected } = s1
    expect(rest).toEqual({ ...expected, nextTargets: [], servers: [] })
  })

  it("names what is wrong with a damaged record", () => {
    expect(decodeSubscription(new TextEncoder().encode("{"))).toBe("stored subscription is not JSON")
    expect(decodeSubscription(new TextEncoder().encode('{"v":1}'))).toBe(
      "stored subscription: unexpected shape",
    )
  })
})
