/**
 * Why an offer or an answer cannot be relayed. Call control turns `NoCommonMedia` into 488 Not Acceptable
 * Here with a Warning header (RFC 3261 §21.4.26, §20.43): 304 when no offered media type is acceptable,
 * 305 when the media types are but none of their formats is.
 */
import { Data } from "effect"

/** RFC 3261 §20.43 warning texts of the codes this module uses. */
export const WARNING_TEXT = {
  304: "Media type not available",
  305: "Incompatible media format",
} as const

export class NoCommonMedia extends Data.TaggedError("NoCommonMedia")<{
  readonly warning: 304 | 305
  readonly reason: string
}> {
  override get message(): string {
    return `no common media: ${this.reason}`
  }
}

/** The answer does not fit the offer it answers (RFC 3264 §6: one m= line per offered m= line). */
export class InvalidAnswer extends Data.TaggedError("InvalidAnswer")<{ readonly reason: string }> {
  override get message(): string {
    return `invalid SDP answer: ${this.reason}`
  }
}

export type NegotiationFailure = NoCommonMedia | InvalidAnswer

/** The value of a Warning header (RFC 3261 §20.43): `<code> <agent> "<text>"`. */
export const warningHeaderValue = (failure: NoCommonMedia, agent: string): string =>
  `${failure.warning} ${agent} "${WARNING_TEXT[failure.warning]}"`
