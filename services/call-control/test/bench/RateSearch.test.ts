import { describe, expect, it } from "vitest"
import {
  initialSearch,
  nextRate,
  percentile,
  type RateSearchConfig,
  type RateSearchState,
  recordTrial,
} from "../../bench/RateSearch.js"

const config: RateSearchConfig = {
  start: 100,
  factor: 2,
  ceiling: 6400,
  floor: 10,
  precision: 0.05,
  minGap: 20,
  granularity: 10,
  maxTrials: 12,
}

/** Runs the search against a system that passes every rate up to `capacity`; returns the rates tried. */
const searchAgainst = (capacity: number, c: RateSearchConfig = config) => {
  let state: RateSearchState = initialSearch
  const tried: Array<number> = []
  for (let rate = nextRate(c, state); rate !== undefined; rate = nextRate(c, state)) {
    tried.push(rate)
    state = recordTrial(state, { rate, pass: rate <= capacity })
  }
  return { tried, passed: state.passed, failed: state.failed }
}

describe("nextRate", () => {
  it("climbs the ladder, then bisects to within 5 % of the capacity", () => {
    const { tried, passed, failed } = searchAgainst(650)
    expect(tried.slice(0, 5)).toEqual([100, 200, 400, 800, 600])
    expect(passed).toBeLessThanOrEqual(650)
    expect(failed).toBeGreaterThan(650)
    expect((failed ?? 0) - (passed ?? 0)).toBeLessThanOrEqual(Math.max(20, (passed ?? 0) * 0.05))
  })

  it("never tries a rate twice and never more than maxTrials", () => {
    for (const capacity of [0, 15, 99, 100, 333, 1234, 5000, 10_000]) {
      const { tried } = searchAgainst(capacity)
      expect(new Set(tried).size).toBe(tried.length)
      expect(tried.length).toBeLessThanOrEqual(config.maxTrials)
    }
  })

  it("stops at the ceiling when everything passes", () => {
    const { tried, passed, failed } = searchAgainst(1_000_000)
    expect(tried).toEqual([100, 200, 400, 800, 1600, 3200, 6400])
    expect(passed).toBe(6400)
    expect(failed).toBeUndefined()
  })

  it("halves down to the floor when even the start fails", () => {
    const { tried, passed } = searchAgainst(25)
    expect(tried).toEqual([100, 50, 30, 20])
    expect(passed).toBe(20)
    expect(searchAgainst(0).passed).toBeUndefined()
    expect(searchAgainst(0).tried.at(-1)).toBe(10)
  })

  it("rounds rates to the granularity", () => {
    for (const rate of searchAgainst(777).tried) expect(rate % 10).toBe(0)
  })

  it("obeys maxTrials", () => {
    expect(searchAgainst(777, { ...config, maxTrials: 3 }).tried).toEqual([100, 200, 400])
  })
})

describe("percentile (nearest rank)", () => {
  it("picks the value at rank ceil(p/100 * n)", () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect(percentile(values, 50)).toBe(50)
    expect(percentile(values, 99)).toBe(99)
    expect(percentile(values, 100)).toBe(100)
    expect(percentile([7], 99)).toBe(7)
    expect(percentile([1, 2, 3], 50)).toBe(2)
  })

  it("is undefined for no values", () => {
    expect(percentile([], 50)).toBeUndefined()
  })
})
