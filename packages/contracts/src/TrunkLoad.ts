/**
 * Trunk load shared between call-control instances on `Subjects.callControlTrunkLoad()`: every instance
 * publishes, twice a second, its calls in progress and the calls it started in the last second on each
 * trunk that has limits, so that every instance admits new calls against the whole cluster's count rather
 * than its own. JSON with a version field; a report that does not decode is ignored by the receiver.
 */
import { Result, Schema } from "effect"

const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

export const TrunkLoadV1 = Schema.Struct({
  v: Schema.Literal(1),
  /** The reporting instance (its token, `Ids.ts`). */
  instance: Schema.String.check(Schema.isPattern(/^[a-z0-9]{1,16}$/)),
  trunks: Schema.Array(
    Schema.Struct({
      name: Schema.String,
      /** Calls in progress through the trunk (either way) on the reporting instance. */
      active: Count,
      /** Calls the reporting instance started through the trunk in the second before the report. */
      lastSecond: Count,
    }),
  ),
})
export type TrunkLoadV1 = typeof TrunkLoadV1.Type

export const encodeTrunkLoad = (load: TrunkLoadV1): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(load))

export const decodeTrunkLoad = (data: Uint8Array): TrunkLoadV1 | undefined => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return undefined
  }
  const decoded = Schema.decodeUnknownResult(TrunkLoadV1)(value)
  return Result.isSuccess(decoded) ? decoded.success : undefined
}
