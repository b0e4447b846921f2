/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/) in NATS headers: `traceparent` and
 * `tracestate` written from the current Effect span, read back into a parent span for the receiver.
 * The codec is pure; the two Effect helpers read the current span and build an external span.
 *
 *   traceparent: 00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>     (§3.2)
 */
import { Context, Effect, Option, Tracer } from "effect"

export const TRACEPARENT = "traceparent"
export const TRACESTATE = "tracestate"

export interface TraceParent {
  readonly traceId: string
  readonly spanId: string
  readonly sampled: boolean
}

const HEX = /^[0-9a-f]+$/
const ZERO_TRACE = "00000000000000000000000000000000"
const ZERO_SPAN = "0000000000000000"

/** §3.2.2: version 00 is exactly 55 characters; a later version may append fields after a dash. */
export const parseTraceParent = (text: string): TraceParent | undefined => {
  if (text.length < 55) return undefined
  const version = text.slice(0, 2)
  // §3.2.2.1: version ff is invalid; version 00 has no trailing data.
  if (!HEX.test(version) || version === "ff") return undefined
  if (version === "00" ? text.length !== 55 : text.length > 55 && text[55] !== "-") return undefined
  if (text[2] !== "-" || text[35] !== "-" || text[52] !== "-") return undefined
  const traceId = text.slice(3, 35)
  const spanId = text.slice(36, 52)
  const flags = text.slice(53, 55)
  if (!HEX.test(traceId) || !HEX.test(spanId) || !HEX.test(flags)) return undefined
  // §3.2.2.3, §3.2.2.4: all-zero ids are invalid.
  if (traceId === ZERO_TRACE || spanId === ZERO_SPAN) return undefined
  // §3.2.2.5: bit 0 of the flags is "sampled".
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 }
}

const isTraceId = (id: string) => id.length === 32 && HEX.test(id) && id !== ZERO_TRACE
const isSpanId = (id: string) => id.length === 16 && HEX.test(id) && id !== ZERO_SPAN

/** Undefined when the ids are not W3C ids (a tracer that makes other ids is not propagated). */
export const formatTraceParent = (parent: TraceParent): string | undefined =>
  isTraceId(parent.traceId) && isSpanId(parent.spanId)
    ? `00-${parent.traceId}-${parent.spanId}-${parent.sampled ? "01" : "00"}`
    : undefined

/**
 * §3.3: tracestate is passed on unchanged when it is well formed: at most 32 list members and 512
 * characters (the size a vendor may rely on being propagated, §3.3.1.5); anything else is dropped.
 */
const TRACESTATE_MEMBER =
  /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/
export const normalizeTraceState = (text: string): string | undefined => {
  if (text === "" || text.length > 512) return undefined
  const members = text
    .split(",")
    .map((m) => m.trim())
    .filter((m) => m !== "")
  if (members.length === 0 || members.length > 32) return undefined
  return members.every((m) => TRACESTATE_MEMBER.test(m)) ? members.join(",") : undefined
}

/** The tracestate received with a remote parent, kept on the external span that stands for it. */
export class TraceState extends Context.Service<TraceState, string>()("@b2bua/bus/TraceState") {}

/** The span a receiver continues: the sender's, from the headers; undefined when absent or malformed. */
export const remoteParent = (header: (name: string) => string): Tracer.ExternalSpan | undefined => {
  const parent = parseTraceParent(header(TRACEPARENT))
  if (parent === undefined) return undefined
  const state = normalizeTraceState(header(TRACESTATE))
  return Tracer.externalSpan({
    traceId: parent.traceId,
    spanId: parent.spanId,
    sampled: parent.sampled,
    annotations: state === undefined ? Context.empty() : Context.make(TraceState, state),
  })
}

/** Most ancestors walked to find a received tracestate: spans nest a few levels, never this deep. */
const MAX_ANCESTORS = 64

const traceStateOf = (span: Tracer.AnySpan): string | undefined => {
  let current: Tracer.AnySpan | undefined = span
  for (let i = 0; current !== undefined && i < MAX_ANCESTORS; i++) {
    if (current._tag === "ExternalSpan") return Context.getOrUndefined(current.annotations, TraceState)
    current = Option.getOrUndefined(current.parent)
  }
  return undefined
}

/** Headers to send: `headers` plus the current span's trace context (unchanged when there is no span). */
export const withTraceHeaders = (
  headers: Readonly<Record<string, string>> | undefined,
): Effect.Effect<Readonly<Record<string, string>> | undefined> =>
  Effect.map(Effect.serviceOption(Tracer.ParentSpan), (current) => {
    if (Option.isNone(current)) return headers
    const span = current.value
    const traceparent = formatTraceParent(span)
    if (traceparent === undefined) return headers
    const state = traceStateOf(span)
    const out: Record<string, string> = { ...headers, [TRACEPARENT]: traceparent }
    if (state !== undefined) out[TRACESTATE] = state
    return out
  })
