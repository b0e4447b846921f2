import { InstanceId } from "@b2bua/contracts"
import { describe, expect, it } from "vitest"
import {
  type LegCounters,
  mediaTimeout,
  mergeLegSpec,
  programFor,
  ptOutFor,
  remoteChanged,
  type Session,
  streamStatsOf,
} from "../src/index.js"

const session = (over: Partial<Session> = {}): Session => ({
  id: "s1",
  owner: InstanceId("cc1"),
  legs: {
    a: { slot: 0, port: 30000, spec: { telephoneEventPt: 101 } },
    b: { slot: 1, port: 30002, spec: { telephoneEventPt: 96, remote: { host: "127.0.0.1", port: 4000 } } },
  },
  ptMap: [],
  media: "rtp",
  mediaTimeoutMs: 30_000,
  leaseMs: 60_000,
  leaseExpiresAt: 60_000,
  mediaSince: 0,
  timeoutReported: false,
  ...over,
})

describe("payload-type rewrite", () => {
  it("maps telephone-event between legs that number it differently (RFC 4733 with dynamic PTs)", () => {
    const s = session()
    expect(ptOutFor(s, "a")[101]).toBe(96)
    expect(ptOutFor(s, "b")[96]).toBe(101)
    expect(ptOutFor(s, "a")[0]).toBe(0)
    expect(ptOutFor(s, "a")[8]).toBe(8)
  })

  it("applies the session's map in both directions and lets it override the telephone-event rule", () => {
    const s = session({
      ptMap: [
        { a: 97, b: 98 },
        { a: 101, b: 100 },
      ],
    })
    const ab = ptOutFor(s, "a")
    const ba = ptOutFor(s, "b")
    expect([ab[97], ab[101], ba[98], ba[100]]).toEqual([98, 100, 97, 101])
    // b's 96 is not named by the map: the telephone-event rule still maps it to a's 101.
    expect(ba[96]).toBe(101)
  })

  it("leaves every payload type alone when both legs agree", () => {
    const s = session({
      legs: {
        a: { slot: 0, port: 1, spec: { telephoneEventPt: 101 } },
        b: { slot: 1, port: 3, spec: { telephoneEventPt: 101 } },
      },
    })
    expect(Array.from(ptOutFor(s, "a"))).toEqual(Array.from({ length: 128 }, (_, i) => i))
  })
})

describe("leg programs", () => {
  it("point each leg at its peer with its own remote, flags and direction", () => {
    const s = session({
      legs: {
        a: { slot: 4, port: 1, spec: { strict: true, direction: "inactive", rtcpMux: true } },
        b: { slot: 9, port: 3, spec: { remote: { host: "10.0.0.2", port: 5000 }, clockRate: 16000 } },
      },
      media: "udptl",
    })
    expect(programFor(s, "a")).toMatchObject({
      peer: 9,
      strict: true,
      forward: false,
      rtcpMux: true,
      udptl: true,
      tePt: -1,
    })
    expect(programFor(s, "b")).toMatchObject({
      peer: 4,
      remote: { host: "10.0.0.2", port: 5000 },
      forward: true,
      clockRate: 16000,
    })
  })

  it("merges updates field by field and notices a new remote", () => {
    const base = { remote: { host: "10.0.0.1", port: 4000 }, strict: true }
    const held = mergeLegSpec(base, { direction: "sendonly" })
    expect(held).toMatchObject({
      remote: { host: "10.0.0.1", port: 4000 },
      strict: true,
      direction: "sendonly",
    })
    expect(remoteChanged(base, held)).toBe(false)
    expect(remoteChanged(base, mergeLegSpec(base, { remote: { host: "10.0.0.1", port: 4002 } }))).toBe(true)
  })
})

describe("media timeout", () => {
  it("fires after the configured silence from the legs expected to send", () => {
    const s = session()
    expect(mediaTimeout(s, null, null, 29_999)).toBeUndefined()
    expect(mediaTimeout(s, null, null, 30_000)).toBe(30_000)
    expect(mediaTimeout(s, 10_000, 5_000, 39_999)).toBeUndefined()
    expect(mediaTimeout(s, 10_000, 5_000, 40_000)).toBe(30_000)
  })

  it("ignores a leg on hold (recvonly/inactive) and never fires when no leg is to send", () => {
    const held = session({
      legs: {
        a: { slot: 0, port: 1, spec: { direction: "inactive" } },
        b: { slot: 1, port: 3, spec: { direction: "sendonly" } },
      },
    })
    expect(mediaTimeout(held, 100_000, 1_000, 100_000)).toBe(99_000)
    const both = session({
      legs: {
        a: { slot: 0, port: 1, spec: { direction: "inactive" } },
        b: { slot: 1, port: 3, spec: { direction: "recvonly" } },
      },
    })
    expect(mediaTimeout(both, null, null, 1_000_000)).toBeUndefined()
  })
})

describe("contract statistics from counters", () => {
  const counters: LegCounters = {
    slot: 0,
    packets: 100,
    bytes: 17_200,
    expected: 100,
    received: 95,
    jitterUnits: 80,
    lastPacketMs: 900,
    rtcpPackets: 2,
    dropped: 1,
    forwarded: 99,
    relatches: 0,
    latched: true,
    remotePort: 4000,
    farEndReports: 1,
    farEndFraction: 64,
    farEndLost: 3,
    farEndJitter: 160,
    ssrc: 1,
    clockRate: 8000,
  }

  it("computes loss, jitter in ms (RFC 3550 §6.4.1), wall-clock last packet, far end and MOS", () => {
    const st = streamStatsOf(counters, 1_000_000, 1000)
    expect(st).toMatchObject({
      packets: 100,
      bytes: 17_200,
      lost: 5,
      jitterMs: 10,
      lastPacketAt: 999_900,
      dropped: 1,
    })
    expect(st.farEnd).toEqual({ fractionLost: 0.25, lost: 3, jitterMs: 20 })
    expect(st.mos).toBeLessThan(streamStatsOf({ ...counters, received: 100, jitterUnits: 0 }, 0, 0).mos)
  })

  it("reports an idle stream as no packets and the best MOS", () => {
    const st = streamStatsOf(undefined, 0, 0)
    expect(st).toMatchObject({ packets: 0, lost: 0, lastPacketAt: null })
    expect(st.mos).toBeGreaterThan(4.3)
  })
})
