/**
 * The native plane's RFC 3550 code (run through the addon's replay hook) against the TypeScript
 * reference in @b2bua/rtp: the same loss and jitter for any packet sequence.
 */
import { expectedPackets, jitterUnits, newReceiverState, receivePacket } from "@b2bua/rtp"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { loadAddon } from "../src/index.js"

const addon = loadAddon()

const replay = (packets: ReadonlyArray<readonly [number, number, number, number]>) =>
  addon.statsReplay(new Float64Array(packets.flat()))

describe("native RFC 3550 statistics", () => {
  it("match the RFC 3550 §A.8 example arithmetic: one late packet of 320 units", () => {
    const packets = [0, 1, 2, 3].map((i) => [i, i * 160, 1000 + i * 160 + (i === 2 ? 320 : 0), 7] as const)
    const out = replay(packets)
    // after packet 2: J = 320/16 = 20; after packet 3: 20 + (320 − 20)/16 = 38.75 (integer form: 620/16)
    expect(out[2 * 3 + 2]).toBe(20)
    expect(out[3 * 3 + 2]).toBe(38.75)
    expect(out[3 * 3]).toBe(3) // expected (first packet on probation)
    expect(out[3 * 3 + 1]).toBe(3) // received
  })

  it("agree with the TypeScript reference on any sequence (loss, wrap, reorder, SSRC change)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 0xffff }),
            fc.nat(0xffffffff),
            fc.nat(0xffffffff),
            fc.constantFrom(1, 2),
          ),
          { maxLength: 200 },
        ),
        fc.integer({ min: 0, max: 0xffff }),
        (noise, start) => {
          // Mostly a real stream (so the source validates), with arbitrary packets mixed in.
          const packets: Array<readonly [number, number, number, number]> = []
          for (let i = 0; i < noise.length; i++) {
            packets.push([(start + i) & 0xffff, i * 160, i * 160 + 500, 1])
            const n = noise[i]
            if (n !== undefined && i % 3 === 0) packets.push(n)
          }
          const out = replay(packets)
          const ref = newReceiverState()
          packets.forEach(([seq, ts, arrival, ssrc], i) => {
            receivePacket(ref, seq, ssrc, ts, arrival)
            expect([out[i * 3], out[i * 3 + 1], out[i * 3 + 2]]).toEqual([
              expectedPackets(ref),
              ref.received,
              jitterUnits(ref),
            ])
          })
        },
      ),
      { numRuns: 200 },
    )
  })
})
