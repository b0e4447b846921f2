/**
 * What can go wrong on the bus, as tagged errors. No responders and a timeout are distinct: the first
 * means nobody serves the subject right now (answer 503 at once), the second that someone may be slow.
 */
import { Data } from "effect"

export class BusNoResponders extends Data.TaggedError("BusNoResponders")<{ readonly subject: string }> {
  override get message(): string {
    return `no responders on ${this.subject}`
  }
}

export class BusTimeout extends Data.TaggedError("BusTimeout")<{
  readonly subject: string
  readonly timeoutMs: number
}> {
  override get message(): string {
    return `no reply on ${this.subject} within ${this.timeoutMs} ms`
  }
}

export class BusError extends Data.TaggedError("BusError")<{
  readonly operation: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `bus ${this.operation} failed: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

/** A compare-and-set or create-only write lost: someone else wrote the key first. */
export class KvConflict extends Data.TaggedError("KvConflict")<{
  readonly bucket: string
  readonly key: string
}> {
  override get message(): string {
    return `KV ${this.bucket}/${this.key}: written by someone else`
  }
}

/** A bus setting of the service's configuration is wrong: names the variable. */
export class BusConfigError extends Data.TaggedError("BusConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `${this.key}: ${this.reason}`
  }
}
