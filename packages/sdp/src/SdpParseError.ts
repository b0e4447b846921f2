/**
 * The one error of the SDP parser. It names the line (1-based; 0 for the description as a whole, e.g. too
 * large) and the defect, so it can become the text of a 400 or a 488 Warning without further work.
 */
import { Data } from "effect"

export class SdpParseError extends Data.TaggedError("SdpParseError")<{
  readonly line: number
  readonly defect: string
}> {
  override get message(): string {
    return this.line === 0 ? `SDP: ${this.defect}` : `SDP line ${this.line}: ${this.defect}`
  }
}
