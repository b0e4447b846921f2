import { Effect, Logger } from "effect"
import { describe, expect, it } from "vitest"
import { logRecord } from "../src/index.js"

const capture = async (program: Effect.Effect<void>): Promise<Array<Record<string, unknown>>> => {
  const records: Array<Record<string, unknown>> = []
  const sink = Logger.make<unknown, void>((options) => {
    records.push(logRecord(options))
  })
  await Effect.runPromise(program.pipe(Effect.provide(Logger.layer([sink]))))
  return records
}

describe("JSON log records", () => {
  it("are flat: level, message and annotations at the top, reserved names kept apart", async () => {
    const [record] = await capture(
      Effect.logWarning("owner unreachable").pipe(
        Effect.annotateLogs({ service: "sip-edge", subject: "b2b.v1.cc.new", level: "x" }),
      ),
    )
    expect(record).toMatchObject({
      level: "WARN",
      message: "owner unreachable",
      service: "sip-edge",
      subject: "b2b.v1.cc.new",
      "annotation.level": "x",
    })
    expect(typeof record!.time).toBe("string")
    expect(record!.trace_id).toBeUndefined()
  })

  it("carry the trace and span ids of the span they are written in", async () => {
    let ids: { traceId: string; spanId: string } | undefined
    const [record] = await capture(
      Effect.gen(function* () {
        const span = yield* Effect.currentSpan.pipe(Effect.orDie)
        ids = { traceId: span.traceId, spanId: span.spanId }
        yield* Effect.log("inside")
      }).pipe(Effect.withSpan("work")),
    )
    expect(record!.trace_id).toBe(ids!.traceId)
    expect(record!.span_id).toBe(ids!.spanId)
  })

  it("render an error among the message parts as its message", async () => {
    const [record] = await capture(Effect.logError("stopped", new Error("socket closed")))
    expect(record!.message).toEqual(["stopped", "socket closed"])
  })
})
