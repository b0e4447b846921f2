import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { makePortAllocator } from "../src/index.js"

describe("port allocation", () => {
  it("hands out even RTP ports with RTCP on the next port, inside the range", () => {
    const ports = makePortAllocator({ min: 30001, max: 30010 }, 0)
    const got: Array<number> = []
    for (let p = ports.allocate(0); p !== undefined; p = ports.allocate(0)) got.push(p)
    // 30001 is odd: the first pair is 30002/30003; 30010 cannot be used (30011 is out of range).
    expect(got).toEqual([30002, 30004, 30006, 30008])
    expect(ports.capacity).toBe(4)
  })

  it("keeps a released pair out of use for the quarantine time, then returns it (oldest first)", () => {
    const ports = makePortAllocator({ min: 30000, max: 30003 }, 5000)
    const a = ports.allocate(0)
    const b = ports.allocate(0)
    expect([a, b]).toEqual([30000, 30002])
    expect(ports.allocate(0)).toBeUndefined()
    ports.release(30002, 1000)
    ports.release(30000, 2000)
    expect(ports.allocate(5999)).toBeUndefined()
    expect(ports.allocate(6000)).toBe(30002)
    expect(ports.allocate(6500)).toBeUndefined()
    expect(ports.allocate(7000)).toBe(30000)
  })

  it("ignores a release of a port that is not in use (no double free)", () => {
    const ports = makePortAllocator({ min: 30000, max: 30003 }, 0)
    const a = ports.allocate(0)
    ports.release(a ?? 0, 0)
    ports.release(a ?? 0, 0)
    expect(ports.free(0)).toBe(2)
  })

  it("never hands out a pair twice while it is in use (any sequence of operations)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), fc.nat(20), fc.nat(3000)), { maxLength: 200 }),
        fc.nat(2000),
        (ops, quarantine) => {
          const ports = makePortAllocator({ min: 40000, max: 40019 }, quarantine)
          const used = new Set<number>()
          let now = 0
          for (const [alloc, pick, dt] of ops) {
            now += dt
            if (alloc) {
              const p = ports.allocate(now)
              if (p !== undefined) {
                expect(used.has(p)).toBe(false)
                expect(p % 2).toBe(0)
                used.add(p)
              } else {
                expect(used.size + ports.free(now)).toBeLessThanOrEqual(ports.capacity)
              }
            } else if (used.size > 0) {
              const p = [...used][pick % used.size] ?? 0
              used.delete(p)
              ports.release(p, now)
            }
          }
        },
      ),
    )
  })
})
