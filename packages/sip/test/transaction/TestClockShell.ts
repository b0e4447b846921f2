/**
 * A test-only shell for the pure transaction machines: it performs their effects under Effect's
 * TestClock — StartTimer forks a fiber that sleeps and then feeds TimerFired back in, CancelTimer
 * interrupts it — and records every effect with the virtual time at which it happened.
 */
import { Clock, Effect, Fiber } from "effect"
import type { TimerName, TransactionEffect } from "../../src/index.js"

export interface Recorded<M> {
  readonly at: number
  readonly effect: TransactionEffect<M>
}

export interface Shell<E, M> {
  readonly dispatch: (event: E) => Effect.Effect<void>
  readonly log: ReadonlyArray<Recorded<M>>
  readonly state: () => string
  readonly liveTimers: () => ReadonlyArray<TimerName>
}

export const makeShell = <S extends { readonly state: string }, E, M>(
  initial: S,
  step: (s: S, e: E) => readonly [S, ReadonlyArray<TransactionEffect<M>>],
  timerEvent: (timer: TimerName) => E,
): Effect.Effect<Shell<E, M>> =>
  Effect.sync(() => {
    let current = initial
    const log: Recorded<M>[] = []
    const timers = new Map<TimerName, Fiber.Fiber<void>>()

    const perform = (effect: TransactionEffect<M>, now: number): Effect.Effect<void> =>
      Effect.gen(function* () {
        log.push({ at: now, effect })
        if (effect._tag === "StartTimer") {
          const previous = timers.get(effect.timer)
          if (previous !== undefined) yield* Fiber.interrupt(previous)
          const fiber = yield* Effect.forkDetach(
            Effect.sleep(effect.delayMs).pipe(
              Effect.andThen(
                Effect.suspend(() => {
                  timers.delete(effect.timer)
                  return dispatch(timerEvent(effect.timer))
                }),
              ),
            ),
          )
          timers.set(effect.timer, fiber)
        } else if (effect._tag === "CancelTimer" || effect._tag === "Terminated") {
          const names = effect._tag === "CancelTimer" ? [effect.timer] : [...timers.keys()]
          for (const name of names) {
            const fiber = timers.get(name)
            timers.delete(name)
            if (fiber !== undefined) yield* Fiber.interrupt(fiber)
          }
        }
      })

    const dispatch = (event: E): Effect.Effect<void> =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const [next, effects] = step(current, event)
        current = next
        for (const effect of effects) yield* perform(effect, now)
      })

    return { dispatch, log, state: () => current.state, liveTimers: () => [...timers.keys()] }
  })

/** Times (virtual ms) at which the shell sent a message. */
export const sendTimes = <M>(log: ReadonlyArray<Recorded<M>>): number[] =>
  log.filter((r) => r.effect._tag === "Send").map((r) => r.at)

export const tagsOf = <M>(
  log: ReadonlyArray<Recorded<M>>,
  tag: TransactionEffect<M>["_tag"],
): Recorded<M>[] => log.filter((r) => r.effect._tag === tag)
