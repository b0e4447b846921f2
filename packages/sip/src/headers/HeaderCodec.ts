/**
 * Typed access to the headers that are not decoded at parse time: each header family has a codec
 * (parse a field value, format one back), and `readHeader` / `readHeaderList` apply it to a message's
 * fields on demand. Parse failures are SipParseErrors naming the header.
 */
import { splitCommaList } from "../grammar/Scanner.js"

export interface HeaderCodec<T> {
  /** Canonical header name. */
  readonly name: string
  readonly parse: (value: string) => T
  readonly format: (value: T) => string
}

interface HasHeaders {
  headerValues(name: string): string[]
}

/** The first field of a header, decoded; undefined when absent. */
export const readHeader = <T>(message: HasHeaders, codec: HeaderCodec<T>): T | undefined => {
  const value = message.headerValues(codec.name)[0]
  return value === undefined ? undefined : codec.parse(value)
}

/** Every element of a comma-list header across all its fields (RFC 3261 §7.3.1), decoded. */
export const readHeaderList = <T>(message: HasHeaders, codec: HeaderCodec<T>): T[] => {
  const out: T[] = []
  for (const value of message.headerValues(codec.name)) {
    if (value.length === 0) continue // e.g. "Supported:" with no option tags (RFC 3261 §20.37 allows it)
    for (const element of splitCommaList(value, codec.name)) out.push(codec.parse(element))
  }
  return out
}
