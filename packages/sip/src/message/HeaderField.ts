/**
 * One header field line as received or as written by the suite. `raw` holds the exact text received
 * (folding included) so unknown and untouched headers serialize byte-exact; it is null once the suite
 * writes the field itself.
 */
export class HeaderField {
  constructor(
    /** The name as written on the wire (or canonical spelling for fields the suite adds). */
    readonly name: string,
    /** Lookup key: lower-case long form. */
    readonly key: string,
    /** The value with folding undone and surrounding whitespace removed. */
    readonly value: string,
    readonly raw: string | null,
  ) {}

  /** The wire text of this field, without the line terminator. */
  text(): string {
    return this.raw ?? `${this.name}: ${this.value}`
  }
}
