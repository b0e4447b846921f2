/**
 * CallRecordService: call detail records from the stream CDRS, oldest first. A time range starts the read
 * at the first record stored at `from` (JetStream finds it); a page scans at most MAX_SCAN records, so a
 * selective filter over a long range costs bounded work per call and continues with the page token (the
 * next stream sequence).
 */
import {
  type CallRecord,
  type CallRecordServiceServer,
  Disposition,
  type ListCallRecordsRequest,
  type RecordLeg,
} from "@b2bua/admin-proto"
import {
  adminStreams,
  type CallDetailRecordV1,
  type CallLegV1,
  type DispositionV1,
  decodeCallDetailRecord,
  describeAdminProblem,
} from "@b2bua/contracts"
import { Effect, Result } from "effect"
import { InvalidArgument } from "./AdminErrors.js"
import type { EventStreams } from "./EventStreams.js"
import { type Run, unary } from "./GrpcHandlers.js"
import { decodePageToken, encodePageToken, pageSizeOf } from "./Paging.js"
import { fromResult } from "./Validation.js"

const STREAM = adminStreams.callRecords.name
export const MAX_SCAN = 5000
/** A record is published when its call ends; one stored this long after `to` cannot have ended before it. */
const LATE_MS = 60_000

const DISPOSITIONS: Record<DispositionV1, Disposition> = {
  answered: Disposition.DISPOSITION_ANSWERED,
  busy: Disposition.DISPOSITION_BUSY,
  "no-answer": Disposition.DISPOSITION_NO_ANSWER,
  cancelled: Disposition.DISPOSITION_CANCELLED,
  failed: Disposition.DISPOSITION_FAILED,
}

const legOf = (leg: CallLegV1 | undefined): RecordLeg => ({
  sipCallId: leg?.sipCallId ?? "",
  remoteAddress: leg?.remote ?? "",
  sipCode: leg?.sipCode ?? 0,
  codec: leg?.codec ?? "",
  packets: leg?.media?.packets ?? 0,
  lost: leg?.media?.lost ?? 0,
  jitterMs: leg?.media?.jitterMs ?? 0,
  mos: leg?.media?.mos ?? 0,
})

export const recordToProto = (cursor: number, r: CallDetailRecordV1): CallRecord => ({
  cursor,
  callId: r.callId,
  owner: r.owner,
  trunkIn: r.trunkIn ?? "",
  trunkOut: r.trunkOut ?? "",
  fromNumber: r.from,
  toNumber: r.to,
  setupAtMs: r.setupAt,
  answeredAtMs: r.answeredAt ?? 0,
  endedAtMs: r.endedAt,
  durationMs: r.durationMs,
  disposition: DISPOSITIONS[r.disposition],
  sipCode: r.sipCode,
  hangupBy: r.hangupBy,
  reason: r.reason ?? "",
  aLeg: legOf(r.legs.a),
  bLeg: legOf(r.legs.b),
  traceId: r.traceId ?? "",
})

const digitsOnly = (s: string) => s.replace(/^\+/, "")

/** Pure: whether a record passes the request's filters. */
export const recordMatches = (r: CallDetailRecordV1, q: ListCallRecordsRequest): boolean =>
  (q.fromMs === 0 || r.endedAt >= q.fromMs) &&
  (q.toMs === 0 || r.endedAt < q.toMs) &&
  (q.trunk === "" || r.trunkIn === q.trunk || r.trunkOut === q.trunk) &&
  (q.numberPrefix === "" ||
    [r.from, r.to].some((n) => digitsOnly(n).startsWith(digitsOnly(q.numberPrefix)))) &&
  (q.disposition === Disposition.DISPOSITION_UNSPECIFIED || DISPOSITIONS[r.disposition] === q.disposition)

const checkRequest = (q: ListCallRecordsRequest) => {
  if (q.fromMs < 0) return Effect.fail(new InvalidArgument({ field: "from_ms", reason: "negative" }))
  if (q.toMs < 0) return Effect.fail(new InvalidArgument({ field: "to_ms", reason: "negative" }))
  if (q.toMs !== 0 && q.toMs <= q.fromMs)
    return Effect.fail(new InvalidArgument({ field: "to_ms", reason: "must be after from_ms" }))
  if (q.disposition === Disposition.UNRECOGNIZED || !Object.values(Disposition).includes(q.disposition))
    return Effect.fail(new InvalidArgument({ field: "disposition", reason: "unknown disposition" }))
  if (!/^\+?[0-9*#]{0,32}$/.test(q.numberPrefix))
    return Effect.fail(new InvalidArgument({ field: "number_prefix", reason: "expected digits" }))
  return Effect.void
}

export const callRecordService = (run: Run, streams: EventStreams): CallRecordServiceServer => ({
  listCallRecords: unary(run, "CallRecordService/ListCallRecords", (q: ListCallRecordsRequest) =>
    Effect.gen(function* () {
      yield* checkRequest(q)
      const token = yield* fromResult(decodePageToken(q.pageToken))
      let startSeq: number | undefined
      if (token !== undefined) {
        if (!/^\d{1,15}$/.test(token))
          return yield* new InvalidArgument({
            field: "page_token",
            reason: "not a token from a previous page",
          })
        startSeq = Number(token)
      }
      const size = pageSizeOf(q.pageSize)
      const scanned = yield* streams.scan(
        STREAM,
        startSeq !== undefined ? { seq: startSeq } : q.fromMs > 0 ? { time: q.fromMs } : {},
        MAX_SCAN,
      )
      const records: Array<CallRecord> = []
      for (const message of scanned) {
        if (q.toMs !== 0 && message.storedAt > q.toMs + LATE_MS) return { records, nextPageToken: "" }
        const decoded = decodeCallDetailRecord(message.data)
        if (Result.isFailure(decoded)) {
          yield* Effect.logWarning("skipped an unreadable call record").pipe(
            Effect.annotateLogs({ seq: String(message.seq), reason: describeAdminProblem(decoded.failure) }),
          )
          continue
        }
        if (!recordMatches(decoded.success, q)) continue
        records.push(recordToProto(message.seq, decoded.success))
        if (records.length === size)
          return { records, nextPageToken: encodePageToken(String(message.seq + 1)) }
      }
      const last = scanned[scanned.length - 1]
      // A full scan may have stopped short of the end: continue from there.
      return {
        records,
        nextPageToken:
          scanned.length === MAX_SCAN && last !== undefined ? encodePageToken(String(last.seq + 1)) : "",
      }
    }),
  ),
})
