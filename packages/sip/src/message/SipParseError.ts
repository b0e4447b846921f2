/**
 * The one error the SIP parser produces. Its `reason` names the defect in words fit for the reason
 * phrase of a 400 response (RFC 3261 §21.4.1); `code` is the machine-readable classification used for
 * metrics and tests.
 */
export type SipParseErrorCode =
  | "Empty"
  | "TooLarge"
  | "TooManyHeaders"
  | "LineTooLong"
  | "BadStartLine"
  | "BadVersion"
  | "BadMethod"
  | "BadStatus"
  | "BadRequestUri"
  | "BadHeader"
  | "BadHeaderValue"
  | "MissingHeader"
  | "DuplicateHeader"
  | "BadContentLength"
  | "BodyTruncated"
  | "BadUri"

export class SipParseError extends Error {
  readonly _tag = "SipParseError" as const
  override readonly name = "SipParseError"

  constructor(
    readonly code: SipParseErrorCode,
    readonly reason: string,
  ) {
    super(reason)
  }
}

/** Builds the error a header value parser fails with, naming the header. */
export const badHeaderValue = (header: string, defect: string): SipParseError =>
  new SipParseError("BadHeaderValue", `Bad ${header} header: ${defect}`)
