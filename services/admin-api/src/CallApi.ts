/**
 * CallService: calls in progress from KV `calls` (every instance's calls: any admin-api instance lists
 * them all), their last event from CALL_EVENTS, the live feed from CALL_EVENTS (the stream sequence is the
 * cursor), and hang-up as a request to the owner instance.
 */
import {
  type CallEvent,
  type CallServiceServer,
  CallState,
  type GetCallRequest,
  type HangupCallRequest,
  type ListCallsRequest,
  type WatchCallsRequest,
} from "@b2bua/admin-proto"
import type { BusError, BusShape, KvStore } from "@b2bua/bus"
import {
  adminStreams,
  adminSubjects,
  type CallEventV1,
  decodeCallControlReply,
  decodeCallEvent,
  describeAdminProblem,
  encodeAdminPayload,
  isAdminCallId,
} from "@b2bua/contracts"
import { Effect, Result } from "effect"
import {
  CursorExpired,
  DeadlineExceeded,
  FailedPrecondition,
  Internal,
  InvalidArgument,
  NotFound,
  Unavailable,
} from "./AdminErrors.js"
import { callStateToProto, decodeStoredCall, type StoredCallView, toProtoCall } from "./CallView.js"
import type { EventStreams, StreamMessage } from "./EventStreams.js"
import { type Run, serverStream, unary } from "./GrpcHandlers.js"
import { pageOf } from "./Paging.js"
import { fromResult } from "./Validation.js"

const STREAM = adminStreams.callEvents.name
/** How long the owner has to act on a hang-up (it answers once BYE/CANCEL are sent, not when they complete). */
const HANGUP_TIMEOUT_MS = 5000
/** Events looked up at once while listing. */
const LOOKUPS = 16

const unavailable = (e: BusError) => new Unavailable({ reason: e.message })

const checkId = (id: string, field: string) =>
  isAdminCallId(id)
    ? Effect.succeed(id)
    : Effect.fail(
        new InvalidArgument({ field, reason: id === "" ? "required" : "expected 40 lower-case hex digits" }),
      )

const eventOf = (message: StreamMessage): Result.Result<CallEventV1, string> =>
  Result.mapError(decodeCallEvent(message.data), (p) => `event ${message.seq}: ${describeAdminProblem(p)}`)

export const callService = (
  run: Run,
  calls: KvStore,
  streams: EventStreams,
  bus: BusShape,
): CallServiceServer => {
  const lastEvent = (id: string) =>
    streams.lastOf(STREAM, adminSubjects.callEvents(id)).pipe(
      Effect.map((m) => {
        if (m === undefined) return undefined
        const decoded = eventOf(m)
        return Result.isSuccess(decoded) ? decoded.success : undefined
      }),
    )

  const storedCalls = calls.entries("call.>").pipe(
    Effect.mapError(unavailable),
    Effect.flatMap((entries) =>
      Effect.forEach(entries, (entry) => {
        const view = decodeStoredCall(entry.key, entry.value)
        return typeof view === "string"
          ? Effect.logWarning("unreadable stored call").pipe(
              Effect.annotateLogs({ reason: view }),
              Effect.as([]),
            )
          : Effect.succeed([view])
      }),
    ),
    Effect.map((lists) => lists.flat()),
  )

  const listCalls = (request: ListCallsRequest) =>
    Effect.gen(function* () {
      if (request.state === CallState.UNRECOGNIZED)
        return yield* new InvalidArgument({ field: "state", reason: "unknown state" })
      if (request.maxAgeMs !== 0 && request.maxAgeMs < request.minAgeMs)
        return yield* new InvalidArgument({ field: "max_age_ms", reason: "below min_age_ms" })
      const now = Date.now()
      const stored = (yield* storedCalls).filter(
        (c) =>
          (request.state === CallState.CALL_STATE_UNSPECIFIED ||
            callStateToProto(c.state) === request.state) &&
          (request.trunk === "" || c.trunk === request.trunk) &&
          (request.numberPrefix === "" ||
            c.numbers.some((n) => n.replace(/^\+/, "").startsWith(request.numberPrefix.replace(/^\+/, "")))),
      )
      const needEvents = request.minAgeMs !== 0 || request.maxAgeMs !== 0
      const withEvents = (views: ReadonlyArray<StoredCallView>) =>
        Effect.forEach(views, (view) => Effect.map(lastEvent(view.id), (event) => ({ view, event })), {
          concurrency: LOOKUPS,
        })
      // The setup time lives in the events: fetched for every candidate only when an age filter is used.
      const candidates = needEvents
        ? (yield* withEvents(stored)).filter(({ event }) => {
            const setupAt = event?.setupAt
            if (setupAt === undefined) return false
            const age = now - setupAt
            return age >= request.minAgeMs && (request.maxAgeMs === 0 || age <= request.maxAgeMs)
          })
        : stored.map((view) => ({ view, event: undefined as CallEventV1 | undefined }))
      const page = yield* fromResult(pageOf(candidates, (c) => c.view.id, request))
      const rows = needEvents ? page.items : yield* withEvents(page.items.map((c) => c.view))
      return {
        calls: rows.map(({ view, event }) => toProtoCall(view, event)),
        nextPageToken: page.nextPageToken,
      }
    })

  const getCall = (request: GetCallRequest) =>
    Effect.gen(function* () {
      const id = yield* checkId(request.id, "id")
      const entry = yield* calls.get(`call.${id}`).pipe(Effect.mapError(unavailable))
      if (entry === undefined) return yield* new NotFound({ what: "call", id })
      const view = decodeStoredCall(entry.key, entry.value)
      if (typeof view === "string") return yield* new Internal({ reason: view })
      return toProtoCall(view, yield* lastEvent(id))
    })

  const watchCalls = (request: WatchCallsRequest, emit: (event: CallEvent) => Effect.Effect<void>) =>
    Effect.gen(function* () {
      if (request.callId !== "") yield* checkId(request.callId, "call_id")
      const badState = request.states.findIndex(
        (s) => s === CallState.UNRECOGNIZED || s === CallState.CALL_STATE_UNSPECIFIED,
      )
      if (badState >= 0)
        return yield* new InvalidArgument({ field: `states[${badState}]`, reason: "unknown state" })
      let start: { seq: number } | undefined
      if (request.afterCursor !== undefined) {
        const { first, last } = yield* streams.bounds(STREAM)
        if (request.afterCursor > last)
          return yield* new InvalidArgument({
            field: "after_cursor",
            reason: `beyond the last event ${last}`,
          })
        // Events after the cursor must all still be there: the next one to deliver is cursor + 1.
        if (request.afterCursor + 1 < first)
          return yield* new CursorExpired({ cursor: request.afterCursor, firstRetained: first })
        start = { seq: request.afterCursor + 1 }
      }
      const states = new Set(request.states)
      return yield* streams.follow(
        STREAM,
        start,
        request.callId === "" ? undefined : adminSubjects.callEvents(request.callId),
        (message) => {
          const decoded = eventOf(message)
          if (Result.isFailure(decoded))
            return Effect.logWarning("skipped an unreadable call event").pipe(
              Effect.annotateLogs({ reason: decoded.failure }),
            )
          const event = decoded.success
          if (states.size > 0 && !states.has(callStateToProto(event.state))) return Effect.void
          if (request.trunk !== "" && event.trunk !== request.trunk) return Effect.void
          return emit({
            cursor: message.seq,
            call: toProtoCall(undefined, event),
            reason: event.reason ?? "",
          })
        },
      )
    })

  const hangupCall = (request: HangupCallRequest) =>
    Effect.gen(function* () {
      const id = yield* checkId(request.id, "id")
      if (request.reason.length > 200)
        return yield* new InvalidArgument({ field: "reason", reason: "at most 200 characters" })
      const entry = yield* calls.get(`call.${id}`).pipe(Effect.mapError(unavailable))
      if (entry === undefined) return yield* new NotFound({ what: "call", id })
      const view = decodeStoredCall(entry.key, entry.value)
      if (typeof view === "string") return yield* new Internal({ reason: view })
      const payload = encodeAdminPayload({
        v: 1,
        op: "hangup",
        callKey: id,
        reason: request.reason || "admin",
      })
      const reply = yield* bus
        .request(adminSubjects.callControl(view.owner), payload, { timeoutMs: HANGUP_TIMEOUT_MS })
        .pipe(
          Effect.catchTags({
            BusNoResponders: () =>
              Effect.fail(
                new Unavailable({
                  reason: `call owner ${view.owner} does not answer (stopped?); retry shortly`,
                }),
              ),
            BusTimeout: () =>
              Effect.fail(new DeadlineExceeded({ operation: `hang-up by owner ${view.owner}` })),
            BusError: (e) => Effect.fail(unavailable(e)),
          }),
        )
      const decoded = decodeCallControlReply(reply.data)
      if (Result.isFailure(decoded))
        return yield* new Internal({
          reason: `owner ${view.owner} replied: ${describeAdminProblem(decoded.failure)}`,
        })
      const answer = decoded.success
      if ("ok" in answer) return { action: answer.ok.action }
      switch (answer.error.code) {
        case "not-found":
          return yield* new NotFound({ what: "call", id })
        case "ended":
          return yield* new FailedPrecondition({ reason: `call ${id} is already ending` })
        case "bad-request":
          return yield* new InvalidArgument({ field: "id", reason: answer.error.reason })
        case "internal":
          return yield* new Internal({ reason: answer.error.reason })
      }
    })

  return {
    listCalls: unary(run, "CallService/ListCalls", listCalls),
    getCall: unary(run, "CallService/GetCall", getCall),
    watchCalls: serverStream(run, "CallService/WatchCalls", watchCalls),
    hangupCall: unary(run, "CallService/HangupCall", hangupCall),
  }
}
