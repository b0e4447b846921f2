/**
 * Structured logs: one JSON object per line on stdout, flat so that log stores index every field:
 * `time`, `level`, `message`, the fiber's log annotations (service, instance, call id, ...), and, when the
 * line is written inside a span, `trace_id` and `span_id` (W3C hex), which join a log line to its trace.
 */
import { Cause, Context, Logger, References, Tracer } from "effect"

/** Keys the logger writes itself; an annotation of the same name is kept under `annotation.<key>`. */
const RESERVED = new Set(["time", "level", "message", "cause", "trace_id", "span_id"])

const text = (value: unknown): unknown => {
  if (typeof value === "string" || typeof value === "number" || typeof value === "boolean") return value
  if (value instanceof Error) return value.message
  if (typeof value === "bigint") return value.toString()
  return value
}

/** Builds the record of one log line (exported for tests and for other sinks). */
export const logRecord = (options: Logger.Options<unknown>): Record<string, unknown> => {
  const record: Record<string, unknown> = {
    time: options.date.toISOString(),
    level: options.logLevel.toUpperCase(),
    message: Array.isArray(options.message)
      ? options.message.length === 1
        ? text(options.message[0])
        : options.message.map(text)
      : text(options.message),
  }
  const annotations = options.fiber.getRef(References.CurrentLogAnnotations)
  for (const key in annotations) {
    record[RESERVED.has(key) ? `annotation.${key}` : key] = text(annotations[key])
  }
  const span = Context.getOrUndefined(options.fiber.context, Tracer.ParentSpan)
  if (span !== undefined) {
    record.trace_id = span.traceId
    record.span_id = span.spanId
  }
  if (options.cause.reasons.length > 0) record.cause = Cause.pretty(options.cause)
  return record
}

const safeStringify = (record: Record<string, unknown>): string => {
  try {
    return JSON.stringify(record, (_key, value: unknown) =>
      typeof value === "bigint" ? value.toString() : value,
    )
  } catch {
    // A circular annotation must not lose the line: keep what is plain.
    return JSON.stringify({ time: record.time, level: record.level, message: String(record.message) })
  }
}

/** The JSON-lines logger every service uses. */
export const jsonLogger: Logger.Logger<unknown, void> = Logger.make((options) => {
  process.stdout.write(`${safeStringify(logRecord(options))}\n`)
})

/**
 * Replaces the default loggers with `jsonLogger`, and keeps Effect's tracer logger: a line logged inside
 * a span is also an event of that span (a retransmission or a failure shows on the trace where it happened).
 */
export const jsonLoggerLayer = Logger.layer([jsonLogger, Logger.tracerLogger])
