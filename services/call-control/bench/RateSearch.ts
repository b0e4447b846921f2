/**
 * The call-rate search of `npm run bench:cps`, pure: which rate to try next given the trials so far.
 * Not the runner: no processes, no clocks. A ladder multiplies the rate from `start` by `factor` while
 * trials pass; the first failure bounds the answer from above and the search bisects between the
 * highest passing and the lowest failing rate until they are within `precision` (relative) or
 * `minGap` (absolute) of each other, or `maxTrials` trials were run. A failure at `start` bisects down
 * towards `floor`.
 */

export interface RateSearchConfig {
  /** The first rate tried (calls per second). */
  readonly start: number
  /** The ladder's multiplier while trials pass (> 1). */
  readonly factor: number
  /** No rate above this is tried: a pass here ends the search. */
  readonly ceiling: number
  /** No rate below this is tried: a failure here ends the search with nothing passing. */
  readonly floor: number
  /** The search stops once the gap between pass and fail is at most this share of the passing rate. */
  readonly precision: number
  /** ... or at most this many calls per second. */
  readonly minGap: number
  /** Rates are rounded to a multiple of this (readable figures). */
  readonly granularity: number
  readonly maxTrials: number
}

export interface Trial {
  readonly rate: number
  readonly pass: boolean
}

export interface RateSearchState {
  readonly trials: ReadonlyArray<Trial>
  /** The highest rate that passed, if any. */
  readonly passed: number | undefined
  /** The lowest rate that failed above `passed`, if any. */
  readonly failed: number | undefined
}

export const initialSearch: RateSearchState = { trials: [], passed: undefined, failed: undefined }

export const recordTrial = (state: RateSearchState, trial: Trial): RateSearchState => ({
  trials: [...state.trials, trial],
  passed: trial.pass ? Math.max(state.passed ?? 0, trial.rate) : state.passed,
  failed: trial.pass ? state.failed : Math.min(state.failed ?? Number.POSITIVE_INFINITY, trial.rate),
})

const round = (config: RateSearchConfig, rate: number): number =>
  Math.max(config.granularity, Math.round(rate / config.granularity) * config.granularity)

/** The next rate to try, or undefined when the search is over (its answer is `state.passed`). */
export const nextRate = (config: RateSearchConfig, state: RateSearchState): number | undefined => {
  if (state.trials.length >= config.maxTrials) return undefined
  const { passed, failed } = state
  if (failed === undefined) {
    // Ladder: nothing failed yet.
    if (passed === undefined) return round(config, config.start)
    if (passed >= config.ceiling) return undefined
    return Math.min(config.ceiling, round(config, passed * config.factor))
  }
  if (passed === undefined) {
    // Even the lowest rate tried failed: halve towards the floor.
    if (failed <= config.floor) return undefined
    return Math.max(config.floor, round(config, failed / 2))
  }
  const gap = failed - passed
  if (gap <= Math.max(config.minGap, passed * config.precision)) return undefined
  const mid = round(config, (passed + failed) / 2)
  // Rounding can land on a bound when the gap is close to the granularity: then the search is done.
  return mid <= passed || mid >= failed ? undefined : mid
}

/** The p-th percentile (0 < p <= 100) of ascending values, nearest-rank; undefined when empty. */
export const percentile = (ascending: ReadonlyArray<number>, p: number): number | undefined => {
  if (ascending.length === 0) return undefined
  const rank = Math.ceil((p / 100) * ascending.length)
  return ascending[Math.min(ascending.length, Math.max(1, rank)) - 1]
}
