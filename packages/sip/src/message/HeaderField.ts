/**
 * One header field as received or as written by the suite. A received field keeps a reference to the
 * header block and its offsets, so untouched fields serialize byte-exact (folding included) without a
 * copy being made at parse time.
 */
export class HeaderField {
  constructor(
    /** The name as written on the wire (or canonical spelling for fields the suite adds). */
    readonly name: string,
    /** Lookup key: lower-case long form. */
    readonly key: string,
    /** The value with folding undone and surrounding whitespace removed. */
    readonly value: string,
    /** The received header block this field was read from, or null for a field the suite wrote. */
    private readonly source: string | null = null,
    private readonly start = 0,
    private readonly end = 0,
  ) {}

  /** The exact text received (folding included), or null for a field the suite wrote. */
  get raw(): string | null {
    return this.source === null ? null : this.source.slice(this.start, this.end)
  }

  /** The wire text of this field, without the line terminator. */
  text(): string {
    return this.source === null ? `${this.name}: ${this.value}` : this.source.slice(this.start, this.end)
  }
}
