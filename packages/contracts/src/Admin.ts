/**
 * What call control tells the admin API and what the admin API asks of call control (contract version 1):
 * call state changes (stream CALL_EVENTS), call detail records (stream CDRS, one per call) and the
 * control request that ends a call. Pure: subjects, stream definitions, schemas with validating decoders
 * that name the field (`legs.a.sipCode`); no connection code.
 *
 * A call's id is the suite's call key: 40 lower-case hex digits (the key `call.<id>` of KV `calls`,
 * derived by call control from the A-leg Call-ID and From-tag). Events and records of one call carry it.
 *
 *   b2b.v1.calls.events.<callId>        CallEventV1, published by the owner on every state change
 *                                       (JetStream stream CALL_EVENTS; the stream sequence is the
 *                                       admin API's resumable cursor)
 *   b2b.v1.cdr.<callId>                 CallDetailRecordV1, once when the call ends, with the NATS
 *                                       header `Nats-Msg-Id: <callId>` so a failover cannot write it twice
 *   b2b.v1.cc.inst.<instance>.control   CallControlRequestV1 → CallControlReplyV1 (request/reply)
 *
 * Decoders ignore unknown fields, so v1 peers can add optional fields without breaking each other.
 */
import { Result, Schema, SchemaIssue } from "effect"
import type { InstanceId } from "./Ids.js"

const PREFIX = "b2b.v1"

export const adminSubjects = {
  /** One call's state changes; the stream CALL_EVENTS captures `callEventsAll`. */
  callEvents: (callId: string): string => `${PREFIX}.calls.events.${callId}`,
  callEventsAll: (): string => `${PREFIX}.calls.events.>`,
  /** One call's record; the stream CDRS captures `callRecordsAll`. */
  callRecord: (callId: string): string => `${PREFIX}.cdr.${callId}`,
  callRecordsAll: (): string => `${PREFIX}.cdr.>`,
  /** Control requests for the calls one call-control instance owns. */
  callControl: (instance: InstanceId | string): string => `${PREFIX}.cc.inst.${instance}.control`,
} as const

/** JetStream streams of this contract. Whoever starts first creates them (create when absent). */
export const adminStreams = {
  callEvents: {
    name: "CALL_EVENTS",
    subjects: [adminSubjects.callEventsAll()],
    /** Kept one day: a watcher resumes within that; older cursors get OUT_OF_RANGE. */
    maxAgeMs: 24 * 3600_000,
    /** Bounded: the oldest go first past this (a watcher then gets OUT_OF_RANGE, never a gap). */
    maxBytes: 1024 * 1024 * 1024,
  },
  callRecords: {
    name: "CDRS",
    subjects: [adminSubjects.callRecordsAll()],
    /** Call records are kept 90 days. */
    maxAgeMs: 90 * 24 * 3600_000,
    maxBytes: 8 * 1024 * 1024 * 1024,
    /** A record re-published within this window with the same Nats-Msg-Id (the call id) is dropped. */
    duplicateWindowMs: 10 * 60_000,
  },
} as const

export const CALL_ID_PATTERN = /^[0-9a-f]{40}$/
export const isAdminCallId = (s: string): boolean => CALL_ID_PATTERN.test(s)

// ---------------------------------------------------------------------------------------------------
// Schemas

const CallIdField = Schema.String.check(Schema.isPattern(CALL_ID_PATTERN))
const Instance = Schema.String.check(Schema.isPattern(/^[a-z0-9]{1,16}$/))
const Millis = Schema.Finite.check(Schema.isGreaterThanOrEqualTo(0))
const Count = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))
const Status = Schema.Int.check(Schema.isBetween({ minimum: 100, maximum: 699 }))

/** Call control's call phases (services/call-control Call.ts), as the admin API shows them. */
export const CallStateV1 = Schema.Literals(["Calling", "Early", "Answered", "Ending", "Ended"])
export type CallStateV1 = typeof CallStateV1.Type

/** One direction of media as the relay counts it (RFC 3550 §6.4.1). */
export const MediaStatsV1 = Schema.Struct({
  packets: Count,
  bytes: Count,
  lost: Schema.Int,
  jitterMs: Millis,
  mos: Schema.Finite.check(Schema.isBetween({ minimum: 0, maximum: 5 })),
})
export type MediaStatsV1 = typeof MediaStatsV1.Type

export const CallLegV1 = Schema.Struct({
  sipCallId: Schema.String,
  localTag: Schema.optional(Schema.String),
  remoteTag: Schema.optional(Schema.String),
  from: Schema.optional(Schema.String),
  to: Schema.optional(Schema.String),
  /** host:port of the peer. */
  remote: Schema.optional(Schema.String),
  /** RFC 3261 §12 dialog state. */
  dialogState: Schema.optional(Schema.Literals(["early", "confirmed", "terminated"])),
  /** Last final status of the INVITE on this leg. */
  sipCode: Schema.optional(Status),
  codec: Schema.optional(Schema.String),
  /** host:port of this leg's media on the relay. */
  relay: Schema.optional(Schema.String),
  media: Schema.optional(MediaStatsV1),
})
export type CallLegV1 = typeof CallLegV1.Type

/** A call as of one state change. Timestamps are ms since the epoch, present once reached. */
export const CallEventV1 = Schema.Struct({
  v: Schema.Literal(1),
  /** Per call, 1, 2, 3... in the order the owner produced them (a takeover continues the count). */
  seq: Schema.optional(Count),
  callId: CallIdField,
  owner: Instance,
  state: CallStateV1,
  at: Millis,
  trunk: Schema.optional(Schema.String),
  setupAt: Schema.optional(Millis),
  ringingAt: Schema.optional(Millis),
  answeredAt: Schema.optional(Millis),
  endedAt: Schema.optional(Millis),
  /** Why the call ended or failed. */
  reason: Schema.optional(Schema.String),
  traceId: Schema.optional(Schema.String),
  legs: Schema.Struct({ a: CallLegV1, b: Schema.optional(CallLegV1) }),
})
export type CallEventV1 = typeof CallEventV1.Type

export const DispositionV1 = Schema.Literals(["answered", "busy", "no-answer", "cancelled", "failed"])
export type DispositionV1 = typeof DispositionV1.Type

export const HangupByV1 = Schema.Literals(["caller", "callee", "admin", "system"])
export type HangupByV1 = typeof HangupByV1.Type

/** One record per call when it ends (both legs, numbers, times, outcome, media quality). */
export const CallDetailRecordV1 = Schema.Struct({
  v: Schema.Literal(1),
  callId: CallIdField,
  owner: Instance,
  trunkIn: Schema.optional(Schema.String),
  trunkOut: Schema.optional(Schema.String),
  /** Caller and callee numbers (user parts) as received on the A-leg. */
  from: Schema.String,
  to: Schema.String,
  setupAt: Millis,
  answeredAt: Schema.optional(Millis),
  endedAt: Millis,
  /** Answered time (endedAt − answeredAt), 0 when not answered. */
  durationMs: Millis,
  disposition: DispositionV1,
  /** The final status of the call towards the caller (200 when answered). */
  sipCode: Status,
  hangupBy: HangupByV1,
  reason: Schema.optional(Schema.String),
  traceId: Schema.optional(Schema.String),
  legs: Schema.Struct({ a: CallLegV1, b: Schema.optional(CallLegV1) }),
})
export type CallDetailRecordV1 = typeof CallDetailRecordV1.Type

/** Ends a call: BYE on both legs once answered, CANCEL (and 487 to the caller) before. */
export const CallControlRequestV1 = Schema.Struct({
  v: Schema.Literal(1),
  op: Schema.Literal("hangup"),
  callKey: CallIdField,
  /** Free text for logs and the Reason header (RFC 3326). */
  reason: Schema.String,
})
export type CallControlRequestV1 = typeof CallControlRequestV1.Type

export const CallControlErrorCodeV1 = Schema.Literals(["not-found", "ended", "bad-request", "internal"])
export type CallControlErrorCodeV1 = typeof CallControlErrorCodeV1.Type

export const CallControlReplyV1 = Schema.Union([
  Schema.Struct({ v: Schema.Literal(1), ok: Schema.Struct({ action: Schema.Literals(["bye", "cancel"]) }) }),
  Schema.Struct({
    v: Schema.Literal(1),
    error: Schema.Struct({ code: CallControlErrorCodeV1, reason: Schema.String }),
  }),
])
export type CallControlReplyV1 = typeof CallControlReplyV1.Type

// ---------------------------------------------------------------------------------------------------
// Codecs

/** One defect of a payload: the dotted/indexed path of the field (`legs.a.sipCode`) and what is wrong. */
export interface AdminPayloadProblem {
  readonly field: string
  readonly reason: string
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const pathOf = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path
    .map((segment) => (typeof segment === "object" ? segment.key : segment))
    .reduce<string>(
      (acc, s) => (typeof s === "number" ? `${acc}[${s}]` : acc === "" ? String(s) : `${acc}.${String(s)}`),
      "",
    )

const textDecoder = new TextDecoder("utf-8", { fatal: true })
const textEncoder = new TextEncoder()

const decoderOf =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (data: Uint8Array): Result.Result<S["Type"], AdminPayloadProblem> => {
    let value: unknown
    try {
      value = JSON.parse(textDecoder.decode(data))
    } catch {
      return Result.fail({ field: "", reason: "not UTF-8 JSON" })
    }
    const decoded = Schema.decodeUnknownResult(schema)(value)
    if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
    const first = formatter(decoded.failure.issue).issues[0]
    return Result.fail({ field: pathOf(first?.path ?? []), reason: first?.message ?? "invalid" })
  }

export const decodeCallEvent = decoderOf(CallEventV1)
export const decodeCallDetailRecord = decoderOf(CallDetailRecordV1)
export const decodeCallControlRequest = decoderOf(CallControlRequestV1)
export const decodeCallControlReply = decoderOf(CallControlReplyV1)

/** JSON bytes of any payload of this contract (undefined fields vanish, as JSON does). */
export const encodeAdminPayload = (
  payload: CallEventV1 | CallDetailRecordV1 | CallControlRequestV1 | CallControlReplyV1,
): Uint8Array => textEncoder.encode(JSON.stringify(payload))

export const describeAdminProblem = (p: AdminPayloadProblem): string =>
  p.field === "" ? p.reason : `${p.field}: ${p.reason}`
