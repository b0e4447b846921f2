/**
 * Hard limits on what the parser accepts, so hostile input cannot exhaust memory or time.
 * Why these defaults: a UDP datagram cannot exceed 65,535 octets; real SIP messages have 10–40 header
 * fields and lines under 1 KB, while RFC 4475's longreq test has a few lines of several KB.
 */
export interface ParseLimits {
  readonly maxMessageBytes: number
  readonly maxHeaderFields: number
  readonly maxLineBytes: number
  readonly maxBodyBytes: number
}

export const DEFAULT_PARSE_LIMITS: ParseLimits = {
  maxMessageBytes: 65_535,
  maxHeaderFields: 256,
  maxLineBytes: 16_384,
  maxBodyBytes: 65_535,
}
