import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  expectedPackets,
  jitterMs,
  jitterUnits,
  lostPackets,
  newReceiverState,
  type ReceiverState,
  receivePacket,
} from "../src/index.js"

/** Feeds [seq, ts, arrival] triples of one SSRC. */
const feed = (packets: ReadonlyArray<readonly [number, number, number]>, ssrc = 7): ReceiverState => {
  const s = newReceiverState()
  for (const [seq, ts, arrival] of packets) receivePacket(s, seq, ssrc, ts, arrival)
  return s
}

/** 20 ms G.711 packets (160 timestamp units) arriving exactly on time plus `delay(i)`. */
const stream = (n: number, firstSeq = 0, delay: (i: number) => number = () => 0) =>
  Array.from({ length: n }, (_, i) => [(firstSeq + i) & 0xffff, i * 160, 1000 + i * 160 + delay(i)] as const)

describe("RFC 3550 §A.1/§A.3 sequence and loss", () => {
  it("a new source is on probation: the first packet is not counted, the second starts the count", () => {
    const s = feed(stream(1))
    expect(s.received).toBe(0)
    expect(expectedPackets(s)).toBe(0)
    const t = feed(stream(2))
    expect(t.received).toBe(1)
    expect(expectedPackets(t)).toBe(1)
  })

  it("counts gaps as lost", () => {
    const s = feed(stream(100).filter(([seq]) => seq % 10 !== 5))
    // probation consumed seq 0; seqs 1..99 expected, 10 of them (5, 15, ..., 95) missing
    expect(expectedPackets(s)).toBe(99)
    expect(lostPackets(expectedPackets(s), s.received)).toBe(10)
  })

  it("extends the sequence number across the 16-bit wrap (cycles)", () => {
    const s = feed(stream(200, 65_500))
    expect(s.cycles).toBe(65_536)
    expect(expectedPackets(s)).toBe(199)
    expect(lostPackets(expectedPackets(s), s.received)).toBe(0)
  })

  it("duplicates make the loss negative, reordering within MAX_MISORDER is not loss", () => {
    const base = stream(10)
    const dup = feed([...base, base[9]!, base[9]!])
    expect(lostPackets(expectedPackets(dup), dup.received)).toBe(-2)
    const swapped = [...base]
    ;[swapped[4], swapped[5]] = [swapped[5]!, swapped[4]!]
    const r = feed(swapped)
    expect(lostPackets(expectedPackets(r), r.received)).toBe(0)
  })

  it("a very large jump is ignored once, and accepted as a restart when the next packet follows it", () => {
    const s = feed([...stream(10), [40_000, 1600, 2600], [40_001, 1760, 2760]])
    expect(s.baseSeq).toBe(40_001) // init_seq(seq) on the packet equal to bad_seq
    expect(s.received).toBe(1)
    const once = feed([...stream(10), [40_000, 1600, 2600], [10, 1600, 2600]])
    expect(once.baseSeq).toBe(1)
    expect(lostPackets(expectedPackets(once), once.received)).toBe(0)
  })

  it("a new SSRC restarts the statistics", () => {
    const s = feed(stream(10))
    receivePacket(s, 500, 99, 0, 0)
    expect(s.ssrc).toBe(99)
    expect(s.received).toBe(0)
  })
})

describe("RFC 3550 §A.8 interarrival jitter", () => {
  it("is zero when packets arrive at their timestamp spacing", () => {
    expect(jitterUnits(feed(stream(50)))).toBe(0)
  })

  it("J += (|D| − J)/16: one late packet of d units gives d/16, then the return adds (d − d/16)/16", () => {
    const d = 320
    const s = feed(stream(4, 0, (i) => (i === 2 ? d : 0)))
    // packets 0 (probation) and 1 set transit; packet 2 is late by d; packet 3 is back on time.
    const j1 = Math.trunc(d - ((0 + 8) >> 4)) // integer form after packet 2: 320 (×16 scale)
    const j2 = j1 + d - ((j1 + 8) >> 4)
    expect(s.jitterQ4).toBe(j2)
    expect(jitterUnits(s)).toBeCloseTo(d / 16 + (d - d / 16) / 16, 0)
  })

  it("converges to |D| for a constant alternating transit difference", () => {
    const s = feed(stream(400, 0, (i) => (i % 2) * 80))
    expect(jitterUnits(s)).toBeGreaterThan(79)
    expect(jitterUnits(s)).toBeLessThanOrEqual(80)
    expect(jitterMs(jitterUnits(s), 8000)).toBeCloseTo(10, 0)
  })

  it("never yields NaN or a negative jitter for arbitrary input", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(0xffff), fc.nat(0xffffffff), fc.nat(0xffffffff)), { maxLength: 300 }),
        (packets) => {
          const s = feed(packets)
          expect(jitterUnits(s)).toBeGreaterThanOrEqual(0)
          expect(Number.isFinite(lostPackets(expectedPackets(s), s.received))).toBe(true)
        },
      ),
    )
  })
})
