import { Effect } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  formatTraceParent,
  normalizeTraceState,
  parseTraceParent,
  remoteParent,
  TRACEPARENT,
  TRACESTATE,
  withTraceHeaders,
} from "../src/index.js"

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length })

describe("W3C traceparent", () => {
  it("parses the specification's example (§3.2.2.5)", () => {
    expect(parseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      spanId: "00f067aa0ba902b7",
      sampled: true,
    })
    expect(parseTraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled).toBe(false)
  })

  it.each([
    ["upper-case hex", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"],
    ["all-zero trace id (§3.2.2.3)", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"],
    ["all-zero parent id (§3.2.2.4)", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"],
    ["version ff (§3.2.2.1)", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["version 00 with trailing data", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-xyz"],
    ["short trace id", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01"],
    ["wrong separator", "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    ["empty", ""],
  ])("refuses %s", (_why, text) => {
    expect(parseTraceParent(text)).toBeUndefined()
  })

  it("accepts a later version with extra fields, reading the first four", () => {
    expect(parseTraceParent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")?.spanId).toBe(
      "00f067aa0ba902b7",
    )
  })

  it("formats what it parses, and parses what it formats", () => {
    fc.assert(
      fc.property(hex(32), hex(16), fc.boolean(), (traceId, spanId, sampled) => {
        const text = formatTraceParent({ traceId, spanId, sampled })
        if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return text === undefined
        return (
          text !== undefined &&
          JSON.stringify(parseTraceParent(text)) === JSON.stringify({ traceId, spanId, sampled })
        )
      }),
    )
  })

  it("never throws on arbitrary input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        parseTraceParent(text)
        normalizeTraceState(text)
        return true
      }),
    )
  })
})

describe("W3C tracestate", () => {
  it("passes a well-formed list on, trimmed", () => {
    expect(normalizeTraceState("rojo=00f067aa0ba902b7, congo=t61rcWkgMzE")).toBe(
      "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE",
    )
  })

  it("drops a malformed or oversized list (§3.3.1.5)", () => {
    expect(normalizeTraceState("Rojo=1")).toBeUndefined()
    expect(normalizeTraceState("novalue")).toBeUndefined()
    expect(normalizeTraceState(Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(","))).toBeUndefined()
    expect(normalizeTraceState(`a=${"x".repeat(600)}`)).toBeUndefined()
  })
})

describe("trace headers from and to Effect spans", () => {
  it("adds the current span's context to the headers, keeping the others", async () => {
    const { headers, span } = await Effect.runPromise(
      Effect.gen(function* () {
        const span = yield* Effect.currentSpan.pipe(Effect.orDie)
        return { headers: yield* withTraceHeaders({ "B2b-Edge": "e1" }), span }
      }).pipe(Effect.withSpan("send")),
    )
    expect(headers?.["B2b-Edge"]).toBe("e1")
    expect(headers?.[TRACEPARENT]).toBe(`00-${span.traceId}-${span.spanId}-01`)
  })

  it("leaves headers alone outside any span", async () => {
    expect(await Effect.runPromise(withTraceHeaders(undefined))).toBeUndefined()
  })

  it("forwards a received tracestate from a descendant of the remote parent", async () => {
    const parent = remoteParent(
      (name) =>
        ({
          [TRACEPARENT]: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
          [TRACESTATE]: "rojo=00f067aa0ba902b7",
        })[name] ?? "",
    )
    expect(parent?._tag).toBe("ExternalSpan")
    const headers = await Effect.runPromise(
      withTraceHeaders({}).pipe(Effect.withSpan("inner"), Effect.withSpan("outer", { parent: parent! })),
    )
    expect(headers?.[TRACEPARENT]).toMatch(/^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/)
    expect(headers?.[TRACESTATE]).toBe("rojo=00f067aa0ba902b7")
  })

  it("has no parent for a missing or malformed traceparent", () => {
    expect(remoteParent(() => "")).toBeUndefined()
    expect(remoteParent((n) => (n === TRACEPARENT ? "garbage" : ""))).toBeUndefined()
  })
})
