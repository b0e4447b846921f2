import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type CreateSession,
  decodeCreateReply,
  decodeCreateSession,
  decodeDeleteReply,
  decodeDeleteSession,
  decodeRelayAnnounce,
  decodeRelayEvent,
  decodeRenewLease,
  decodeRenewReply,
  decodeUpdateReply,
  decodeUpdateSession,
  encodeRelayPayload,
  InstanceId,
  isIpLiteral,
  type RelayAnnounce,
  RelayContractError,
  type RelayEvent,
  type RelayReply,
  relaySubjects,
  type SessionCreated,
  type SessionDeleted,
  type UpdateSession,
} from "../src/index.js"

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))

const create: CreateSession = {
  v: 1,
  sessionId: "call-1.a",
  owner: InstanceId("cc1"),
  leaseMs: 60_000,
  legs: {
    a: { remote: { host: "192.0.2.10", port: 4000 }, strict: true, telephoneEventPt: 101 },
    b: { rtcpMux: true, telephoneEventPt: 96, clockRate: 8000, direction: "sendrecv" },
  },
  ptMap: [{ a: 101, b: 96 }],
  mediaTimeoutMs: 30_000,
  media: "rtp",
}

const fieldOf = (x: unknown): string => {
  expect(x).toBeInstanceOf(RelayContractError)
  return x instanceof RelayContractError ? x.field : "<not an error>"
}

describe("relay subjects", () => {
  it("builds versioned subjects per relay and per owner", () => {
    const r = InstanceId("relay1")
    expect(relaySubjects.create(r)).toBe("b2b.v1.relay.relay1.session.create")
    expect(relaySubjects.update(r)).toBe("b2b.v1.relay.relay1.session.update")
    expect(relaySubjects.delete(r)).toBe("b2b.v1.relay.relay1.session.delete")
    expect(relaySubjects.renew(r)).toBe("b2b.v1.relay.relay1.session.renew")
    expect(relaySubjects.announce()).toBe("b2b.v1.relay.announce")
    expect(relaySubjects.events(InstanceId("cc7"))).toBe("b2b.v1.relay.events.cc7")
  })
})

describe("create", () => {
  it("round-trips a full request", () => {
    const decoded = decodeCreateSession(encodeRelayPayload(create))
    expect(decoded).toEqual(create)
  })

  it("accepts legs without a remote (address learned by latching)", () => {
    const decoded = decodeCreateSession(
      json({ v: 1, sessionId: "s", owner: "cc1", leaseMs: 5000, legs: { a: {}, b: {} } }),
    )
    expect(decoded).not.toBeInstanceOf(RelayContractError)
  })

  it.each([
    [{ ...create, v: 2 }, "v"],
    [{ ...create, sessionId: "a b" }, "sessionId"],
    [{ ...create, owner: "CC" }, "owner"],
    [{ ...create, leaseMs: 10 }, "leaseMs"],
    [{ ...create, legs: { a: {} } }, "legs.b"],
    [{ ...create, legs: { a: { remote: { host: "example.com", port: 1 } }, b: {} } }, "legs.a.remote.host"],
    [{ ...create, legs: { a: {}, b: { remote: { host: "10.0.0.1", port: 70000 } } } }, "legs.b.remote.port"],
    [{ ...create, legs: { a: { strict: "yes" }, b: {} } }, "legs.a.strict"],
    [{ ...create, legs: { a: { telephoneEventPt: 128 }, b: {} } }, "legs.a.telephoneEventPt"],
    [{ ...create, legs: { a: { direction: "hold" }, b: {} } }, "legs.a.direction"],
    [
      {
        ...create,
        ptMap: [
          { a: 0, b: 0 },
          { a: 0, b: 8 },
        ],
      },
      "ptMap.1.a",
    ],
    [{ ...create, ptMap: [{ a: 1 }] }, "ptMap.0.b"],
    [{ ...create, media: "video" }, "media"],
    [{ ...create, mediaTimeoutMs: 1.5 }, "mediaTimeoutMs"],
  ])("names the invalid field %#", (payload, field) => {
    expect(fieldOf(decodeCreateSession(json(payload)))).toBe(field)
  })

  it("refuses bytes that are not JSON or not UTF-8", () => {
    expect(fieldOf(decodeCreateSession(new TextEncoder().encode("{")))).toBe("")
    expect(fieldOf(decodeCreateSession(new Uint8Array([0xff, 0xfe])))).toBe("")
    expect(fieldOf(decodeCreateSession(json([1, 2])))).toBe("")
  })

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const r = decodeCreateSession(json(value))
        expect(r instanceof RelayContractError || r.v === 1).toBe(true)
      }),
    )
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = decodeUpdateSession(bytes)
        expect(r instanceof RelayContractError || r.v === 1).toBe(true)
      }),
    )
  })
})

describe("update, delete, renew", () => {
  it("round-trips a partial update (new remote on b, hold, T.38)", () => {
    const update: UpdateSession = {
      v: 1,
      sessionId: "s1",
      legs: { b: { remote: { host: "2001:db8::5", port: 5004 }, direction: "sendonly" } },
      media: "udptl",
    }
    expect(decodeUpdateSession(encodeRelayPayload(update))).toEqual({
      ...update,
      legs: {
        b: {
          remote: { host: "2001:db8::5", port: 5004 },
          remoteRtcp: undefined,
          rtcpMux: undefined,
          strict: undefined,
          telephoneEventPt: undefined,
          clockRate: undefined,
          direction: "sendonly",
        },
      },
      ptMap: undefined,
      mediaTimeoutMs: undefined,
    })
  })

  it("decodes delete and renew and names their fields", () => {
    expect(decodeDeleteSession(json({ v: 1, sessionId: "s1" }))).toEqual({ v: 1, sessionId: "s1" })
    expect(fieldOf(decodeDeleteSession(json({ v: 1 })))).toBe("sessionId")
    expect(decodeRenewLease(json({ v: 1, sessionId: "s1", leaseMs: 30_000 }))).toEqual({
      v: 1,
      sessionId: "s1",
      leaseMs: 30_000,
    })
    expect(fieldOf(decodeRenewLease(json({ v: 1, sessionId: "s1", leaseMs: "1" })))).toBe("leaseMs")
  })
})

describe("replies", () => {
  const created: RelayReply<SessionCreated> = {
    v: 1,
    ok: {
      sessionId: "s1",
      legs: {
        a: { host: "127.0.0.1", rtpPort: 30000, rtcpPort: 30001 },
        b: { host: "127.0.0.1", rtpPort: 30002, rtcpPort: 30003 },
      },
    },
  }

  it("round-trips ok and error replies", () => {
    expect(decodeCreateReply(encodeRelayPayload(created))).toEqual(created)
    expect(decodeUpdateReply(encodeRelayPayload(created))).toEqual(created)
    const refused = { v: 1, error: { code: "capacity", reason: "1000 sessions" } } as const
    expect(decodeCreateReply(encodeRelayPayload(refused))).toEqual(refused)
    expect(fieldOf(decodeCreateReply(json({ v: 1, error: { code: "nope", reason: "" } })))).toBe("error.code")
    expect(fieldOf(decodeCreateReply(json({ v: 1, ok: { sessionId: "s1", legs: { a: {} } } })))).toBe(
      "ok.legs.a.host",
    )
    expect(decodeRenewReply(json({ v: 1, ok: { sessionId: "s1", leaseMs: 5000 } }))).toEqual({
      v: 1,
      ok: { sessionId: "s1", leaseMs: 5000 },
    })
  })

  it("round-trips delete stats with and without far-end reports", () => {
    const stream = {
      packets: 10,
      bytes: 1720,
      lost: -1,
      jitterMs: 0.5,
      lastPacketAt: 1,
      rtcpPackets: 0,
      dropped: 0,
      mos: 4.4,
    }
    const deleted: RelayReply<SessionDeleted> = {
      v: 1,
      ok: {
        sessionId: "s1",
        stats: {
          a: stream,
          b: { ...stream, lastPacketAt: null, farEnd: { fractionLost: 0.25, lost: 3, jitterMs: 2 } },
        },
      },
    }
    expect(decodeDeleteReply(encodeRelayPayload(deleted))).toEqual(deleted)
    const bad = { ...deleted, ok: { sessionId: "s1", stats: { a: { ...stream, mos: 9 }, b: stream } } }
    expect(fieldOf(decodeDeleteReply(json(bad)))).toBe("ok.stats.a.mos")
  })
})

describe("announce and events", () => {
  it("round-trips an announce", () => {
    const a: RelayAnnounce = {
      v: 1,
      relayId: InstanceId("relay1"),
      address: "127.0.0.1",
      sessions: 3,
      capacity: 1000,
      load: 0.003,
    }
    expect(decodeRelayAnnounce(encodeRelayPayload(a))).toEqual(a)
    expect(fieldOf(decodeRelayAnnounce(json({ ...a, load: 2 })))).toBe("load")
  })

  it("round-trips each event type and names bad fields", () => {
    const base = { v: 1, relayId: InstanceId("relay1"), sessionId: "s1" } as const
    const events: ReadonlyArray<RelayEvent> = [
      { ...base, type: "media-timeout", idleMs: 30_000 },
      { ...base, type: "dtmf", leg: "a", digit: "#", durationMs: 160, volume: 10 },
      { ...base, type: "lease-expired" },
    ]
    for (const e of events) expect(decodeRelayEvent(encodeRelayPayload(e))).toEqual(e)
    expect(fieldOf(decodeRelayEvent(json({ ...base, type: "dtmf", leg: "c" })))).toBe("leg")
    expect(fieldOf(decodeRelayEvent(json({ ...base, type: "dtmf", leg: "a", digit: "x" })))).toBe("digit")
    expect(fieldOf(decodeRelayEvent(json({ ...base, type: "boom" })))).toBe("type")
  })
})

describe("IP literals", () => {
  it("accepts IPv4 and IPv6 literals only", () => {
    expect(isIpLiteral("127.0.0.1")).toBe(true)
    expect(isIpLiteral("::1")).toBe(true)
    expect(isIpLiteral("256.0.0.1")).toBe(false)
    expect(isIpLiteral("host.example")).toBe(false)
    expect(isIpLiteral("")).toBe(false)
  })
})
