/**
 * Shares this instance's trunk load with the other call-control instances and feeds theirs into its
 * TrunkLimits, so a trunk's limits hold for the cluster (TrunkLimits.ts says how exactly). Reports go out
 * every REPORT_MS while this instance has calls on limited trunks, and once more when it has none left, so
 * the others stop counting them at once rather than after the report goes stale.
 */
import { Bus } from "@b2bua/bus"
import { decodeTrunkLoad, encodeTrunkLoad, type InstanceId, Subjects } from "@b2bua/contracts"
import { Effect, Schedule, type Scope } from "effect"
import type { TrunkLimits } from "./TrunkLimits.js"

/** Twice a second: the overshoot a burst over several instances can cause is what arrives in this time. */
export const REPORT_MS = 500

export const shareTrunkLoad = (
  instance: InstanceId,
  limits: TrunkLimits,
): Effect.Effect<void, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* bus
      .subscribe(
        Subjects.callControlTrunkLoad(),
        (m) =>
          Effect.sync(() => {
            const load = decodeTrunkLoad(m.data)
            if (load !== undefined && load.instance !== instance) limits.observe(load, Date.now())
          }),
        { trace: false },
      )
      .pipe(Effect.orDie)
    let reported = false
    const publish = Effect.suspend(() => {
      const trunks = limits.report(Date.now())
      if (trunks.length === 0 && !reported) return Effect.void
      reported = trunks.length > 0
      return bus
        .publish(Subjects.callControlTrunkLoad(), encodeTrunkLoad({ v: 1, instance, trunks }))
        .pipe(Effect.ignore)
    })
    yield* Effect.forkScoped(publish.pipe(Effect.repeat(Schedule.spaced(REPORT_MS))))
  })
