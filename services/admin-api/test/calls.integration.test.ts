/**
 * CallService and CallRecordService over a real nats-server: calls stored in KV `calls` with call
 * control's own encoder, events and records published to their JetStream streams, a fake owner answering
 * the hang-up request on NATS; a real gRPC client on 127.0.0.1.
 */
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import {
  type CallEvent,
  CallRecordServiceClient,
  CallRecordServiceService,
  CallServiceClient,
  CallServiceService,
  CallState,
  Disposition,
  serverStreamCall,
  unaryCall,
  type WatchCallsRequest,
} from "@b2bua/admin-proto"
import { Bus, openKv } from "@b2bua/bus"
import {
  adminSubjects,
  type CallDetailRecordV1,
  type CallEventV1,
  decodeCallControlRequest,
  encodeAdminPayload,
  InstanceId,
  ListenerId,
} from "@b2bua/contracts"
import {
  createResponse,
  parseMessageOrThrow,
  type SipRequest,
  type SipResponse,
  serializeMessage,
} from "@b2bua/sip"
import { type ServiceError, status } from "@grpc/grpc-js"
import { Effect, Result } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
// Call control's own encoder: the records below are exactly what it writes.
import { type BTarget, encodeCall, startCall, stepCall } from "../../call-control/src/index.js"
import { type Harness, jsPublish, startHarness, TOKEN, withBus } from "./harness.js"

const invite = parseMessageOrThrow(
  readFileSync(
    fileURLToPath(new URL("../../../packages/sip/test/golden/guide/09-invite.sip", import.meta.url)),
  ),
) as SipRequest
const meta = {
  edge: InstanceId("edge1"),
  listener: ListenerId("udp:0.0.0.0:5060"),
  transport: "udp" as const,
  local: "0.0.0.0:5060",
  remote: "172.16.1.10:5060",
  connection: undefined,
  receivedAt: undefined,
  takeover: false,
}
const dest: BTarget = {
  trunk: "out",
  host: "198.51.100.20",
  port: 5080,
  transport: "udp",
  called: "2142622000",
  caller: "2142621000",
  failoverCodes: [503],
  noAnswerMs: 8000,
  drop: [],
}
/** Call control's key for a call: sha256 of the A-leg Call-ID and From-tag (CallControl.ts claimKey). */
const keyOf = (callId: string, fromTag: string) =>
  createHash("sha256").update(`${callId}|${fromTag}`).digest("hex").slice(0, 40)

const identity = (instance: string, random: string) => ({
  owner: { kind: "callControl" as const, instance: InstanceId(instance) },
  random,
  local: { host: "192.0.2.10", port: 5060 },
})

/** An answered call (cc1) and one still calling (cc2, another caller). */
const answered = (() => {
  const [c0] = startCall(invite, identity("cc1", "abc123"), [dest])
  const ok = parseMessageOrThrow(
    serializeMessage(
      createResponse(c0.bInvite, 200, {
        toTag: "callee1",
        headers: [["Contact", "<sip:callee@198.51.100.20>"]],
      }),
    ),
  ) as SipResponse
  const [c1] = stepCall(c0, { _tag: "FromB", message: ok })
  return c1
})()
const otherInvite = parseMessageOrThrow(
  Buffer.from(
    serializeMessage(invite)
      .toString("latin1")
      .replace(/Call-ID: [^\r]+/i, "Call-ID: other-call@host")
      .replace(/sip:[0-9]+@/i, "sip:4420700000@"),
    "latin1",
  ),
) as SipRequest
const [calling] = startCall(otherInvite, identity("cc2", "def456"), [{ ...dest, trunk: "uk" }])
const answeredId = keyOf(invite.callId, invite.fromTag ?? "")
const callingId = keyOf(otherInvite.callId, otherInvite.fromTag ?? "")

let h: Harness
let client: CallServiceClient
let records: CallRecordServiceClient
const auth = { token: TOKEN, timeoutMs: 5000 }
const failure = async (p: Promise<unknown>): Promise<ServiceError> => {
  try {
    await p
  } catch (e) {
    return e as ServiceError
  }
  throw new Error("expected the call to fail")
}

beforeAll(async () => {
  h = await startHarness()
  client = h.client(CallServiceClient)
  records = h.client(CallRecordServiceClient)
  await withBus(
    h,
    Effect.gen(function* () {
      const kv = yield* openKv("calls")
      yield* kv.put(`call.${answeredId}`, encodeCall("cc1", meta, answered))
      yield* kv.put(`call.${callingId}`, encodeCall("cc2", meta, calling))
      // Pointers, not calls: skipped.
      yield* kv.put(`tag.${answered.aTag}`, new TextEncoder().encode(`call.${answeredId}`))
    }).pipe(Effect.orDie),
  )
})
afterAll(async () => {
  await h.stop()
})

const event = (state: CallEventV1["state"], at: number, extra: Partial<CallEventV1> = {}): CallEventV1 => ({
  v: 1,
  callId: answeredId,
  owner: "cc1",
  state,
  at,
  trunk: "out",
  setupAt: 1_000,
  legs: { a: { sipCallId: invite.callId }, b: { sipCallId: answered.bCallId, codec: "PCMU" } },
  ...extra,
})

describe("CallService", () => {
  it("ListCalls lists every stored call (not the tag pointers) with filters and paging", async () => {
    const all = await unaryCall(
      client,
      CallServiceService.listCalls,
      { state: 0, trunk: "", numberPrefix: "", minAgeMs: 0, maxAgeMs: 0, pageSize: 0, pageToken: "" },
      auth,
    )
    expect(all.calls.map((c) => c.id).sort()).toEqual([answeredId, callingId].sort())
    const base = {
      state: 0,
      trunk: "",
      numberPrefix: "",
      minAgeMs: 0,
      maxAgeMs: 0,
      pageSize: 0,
      pageToken: "",
    }
    const ans = await unaryCall(
      client,
      CallServiceService.listCalls,
      { ...base, state: CallState.CALL_STATE_ANSWERED },
      auth,
    )
    expect(ans.calls.map((c) => c.id)).toEqual([answeredId])
    const uk = await unaryCall(client, CallServiceService.listCalls, { ...base, trunk: "uk" }, auth)
    expect(uk.calls.map((c) => c.id)).toEqual([callingId])
    const byNumber = await unaryCall(
      client,
      CallServiceService.listCalls,
      { ...base, numberPrefix: "44207" },
      auth,
    )
    expect(byNumber.calls.map((c) => c.id)).toEqual([callingId])
    const p1 = await unaryCall(client, CallServiceService.listCalls, { ...base, pageSize: 1 }, auth)
    const p2 = await unaryCall(
      client,
      CallServiceService.listCalls,
      { ...base, pageSize: 1, pageToken: p1.nextPageToken },
      auth,
    )
    expect([...p1.calls, ...p2.calls].map((c) => c.id)).toEqual([answeredId, callingId].sort())
    expect(p2.nextPageToken).toBe("")
  })

  it("GetCall shows both legs with their dialog ids and states, merged with the last event", async () => {
    await jsPublish(
      h,
      adminSubjects.callEvents(answeredId),
      encodeAdminPayload(event("Answered", 3_000, { answeredAt: 3_000, ringingAt: 2_000 })),
    )
    const call = await unaryCall(client, CallServiceService.getCall, { id: answeredId }, auth)
    expect(call.owner).toBe("cc1")
    expect(call.state).toBe(CallState.CALL_STATE_ANSWERED)
    expect(call.trunk).toBe("out")
    expect(call.aLeg).toMatchObject({
      sipCallId: invite.callId,
      remoteTag: invite.fromTag,
      localTag: answered.aTag,
      remoteAddress: "172.16.1.10:5060",
      dialogState: "confirmed",
      sipCode: 200,
    })
    expect(call.bLeg).toMatchObject({
      sipCallId: answered.bCallId,
      localTag: answered.bFromTag,
      remoteTag: "callee1",
      remoteAddress: "198.51.100.20:5080",
      dialogState: "confirmed",
      codec: "PCMU",
    })
    expect([call.setupAtMs, call.ringingAtMs, call.answeredAtMs]).toEqual([1_000, 2_000, 3_000])
    const other = await unaryCall(client, CallServiceService.getCall, { id: callingId }, auth)
    expect(other.state).toBe(CallState.CALL_STATE_CALLING)
    expect(other.bLeg?.dialogState).toBe("")
    const missing = await failure(unaryCall(client, CallServiceService.getCall, { id: "0".repeat(40) }, auth))
    expect(missing.code).toBe(status.NOT_FOUND)
    const bad = await failure(unaryCall(client, CallServiceService.getCall, { id: "xyz" }, auth))
    expect(bad.code).toBe(status.INVALID_ARGUMENT)
    expect(bad.details).toMatch(/^id: /)
  })

  it("WatchCalls delivers events in order and resumes after a cursor without gaps", async () => {
    const publish = (e: CallEventV1) =>
      jsPublish(h, adminSubjects.callEvents(answeredId), encodeAdminPayload(e))
    /** Watches until `n` events arrived (bounded), then cancels. */
    const watch = (request: Partial<WatchCallsRequest>, n: number) =>
      new Promise<Array<CallEvent>>((resolve, reject) => {
        const seen: Array<CallEvent> = []
        const timer = setTimeout(() => {
          handle.cancel()
          reject(new Error(`saw ${seen.length} of ${n} events`))
        }, 10_000)
        const handle = serverStreamCall(
          client,
          CallServiceService.watchCalls,
          { states: [], callId: "", trunk: "", ...request },
          (m) => {
            seen.push(m)
            if (seen.length === n) {
              clearTimeout(timer)
              handle.cancel()
              resolve(seen)
            }
          },
          { token: TOKEN },
        )
        handle.done.catch((e: unknown) => {
          clearTimeout(timer)
          reject(e)
        })
      })
    // A cursor makes the start exact, whether the events are published before or after the watch is live.
    const s0 = await publish(event("Early", 10))
    const live = watch({ afterCursor: s0 }, 3)
    const s1 = await publish(event("Answered", 100))
    const s2 = await publish(event("Ending", 200))
    const s3 = await publish(event("Ended", 300, { reason: "bye from caller" }))
    const seen = await live
    expect(seen.map((e) => e.cursor)).toEqual([s1, s2, s3])
    expect(seen.map((e) => e.call?.state)).toEqual([
      CallState.CALL_STATE_ANSWERED,
      CallState.CALL_STATE_ENDING,
      CallState.CALL_STATE_ENDED,
    ])
    expect(seen[0]?.call?.id).toBe(answeredId)
    expect(seen[2]?.reason).toBe("bye from caller")

    // A client that saw s1 and reconnects gets s2 and s3: none missing, none twice.
    const resumed = await watch({ afterCursor: s1, callId: answeredId }, 2)
    expect(resumed.map((e) => e.cursor)).toEqual([s2, s3])
    const ended = await watch({ afterCursor: s0, states: [CallState.CALL_STATE_ENDED] }, 1)
    expect(ended.map((e) => e.cursor)).toEqual([s3])

    const beyond = await watch({ afterCursor: s3 + 100 }, 1).then(
      () => undefined,
      (e: ServiceError) => e,
    )
    expect(beyond?.code).toBe(status.INVALID_ARGUMENT)
    expect(beyond?.details).toMatch(/^after_cursor: /)
  })

  it("honours the client's deadline: a watch with a 300 ms deadline ends with DEADLINE_EXCEEDED", async () => {
    const watch = serverStreamCall(
      client,
      CallServiceService.watchCalls,
      { states: [], callId: "", trunk: "" },
      () => {},
      { token: TOKEN, timeoutMs: 300 },
    )
    const error = await watch.done.then(
      () => undefined,
      (e: ServiceError) => e,
    )
    expect(error?.code).toBe(status.DEADLINE_EXCEEDED)
  })

  it("HangupCall asks the owner instance; UNAVAILABLE when the owner does not answer", async () => {
    const asked: Array<unknown> = []
    const result = await withBus(
      h,
      Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* Bus
          yield* bus.subscribe(adminSubjects.callControl("cc1"), (m) => {
            const request = decodeCallControlRequest(m.data)
            asked.push(Result.isSuccess(request) ? request.success : request.failure)
            return m.respond(encodeAdminPayload({ v: 1, ok: { action: "bye" } })).pipe(Effect.orDie)
          })
          return yield* Effect.promise(() =>
            unaryCall(client, CallServiceService.hangupCall, { id: answeredId, reason: "operator" }, auth),
          )
        }),
      ),
    )
    expect(result.action).toBe("bye")
    expect(asked).toEqual([{ v: 1, op: "hangup", callKey: answeredId, reason: "operator" }])
    const noOwner = await failure(
      unaryCall(client, CallServiceService.hangupCall, { id: callingId, reason: "" }, auth),
    )
    expect(noOwner.code).toBe(status.UNAVAILABLE)
    expect(noOwner.details).toContain("cc2")
  })
})

const record = (
  callId: string,
  endedAt: number,
  extra: Partial<CallDetailRecordV1> = {},
): CallDetailRecordV1 => ({
  v: 1,
  callId,
  owner: "cc1",
  trunkIn: "carrier-a",
  trunkOut: "out",
  from: "+442079460000",
  to: "2142622000",
  setupAt: endedAt - 10_000,
  answeredAt: endedAt - 8_000,
  endedAt,
  durationMs: 8_000,
  disposition: "answered",
  sipCode: 200,
  hangupBy: "caller",
  legs: {
    a: { sipCallId: "a1" },
    b: {
      sipCallId: "b1",
      codec: "PCMA",
      media: { packets: 400, bytes: 68_800, lost: 2, jitterMs: 3.5, mos: 4.2 },
    },
  },
  ...extra,
})

describe("CallRecordService", () => {
  it("lists records once each (deduplicated by call id), filtered and paged", async () => {
    const now = Date.now()
    const ids = ["1", "2", "3"].map((d) => d.repeat(40))
    await jsPublish(
      h,
      adminSubjects.callRecord(ids[0]!),
      encodeAdminPayload(record(ids[0]!, now - 3000)),
      ids[0],
    )
    // The same record again (a failover re-publishing it): dropped by the stream.
    await jsPublish(
      h,
      adminSubjects.callRecord(ids[0]!),
      encodeAdminPayload(record(ids[0]!, now - 3000)),
      ids[0],
    )
    await jsPublish(
      h,
      adminSubjects.callRecord(ids[1]!),
      encodeAdminPayload(
        record(ids[1]!, now - 2000, {
          disposition: "busy",
          sipCode: 486,
          answeredAt: undefined,
          durationMs: 0,
          trunkOut: "uk",
        }),
      ),
      ids[1],
    )
    await jsPublish(
      h,
      adminSubjects.callRecord(ids[2]!),
      encodeAdminPayload(record(ids[2]!, now - 1000, { to: "33140000000" })),
      ids[2],
    )
    const base = {
      fromMs: 0,
      toMs: 0,
      trunk: "",
      numberPrefix: "",
      disposition: 0,
      pageSize: 0,
      pageToken: "",
    }
    const all = await unaryCall(records, CallRecordServiceService.listCallRecords, base, auth)
    expect(all.records.map((r) => r.callId)).toEqual(ids)
    expect(all.records[0]).toMatchObject({
      disposition: Disposition.DISPOSITION_ANSWERED,
      sipCode: 200,
      durationMs: 8000,
      hangupBy: "caller",
    })
    expect(all.records[0]?.bLeg).toMatchObject({ codec: "PCMA", packets: 400, lost: 2, mos: 4.2 })
    const busy = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, disposition: Disposition.DISPOSITION_BUSY },
      auth,
    )
    expect(busy.records.map((r) => r.callId)).toEqual([ids[1]])
    const uk = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, trunk: "uk" },
      auth,
    )
    expect(uk.records.map((r) => r.callId)).toEqual([ids[1]])
    const france = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, numberPrefix: "+33" },
      auth,
    )
    expect(france.records.map((r) => r.callId)).toEqual([ids[2]])
    const range = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, fromMs: now - 2500, toMs: now - 1500 },
      auth,
    )
    expect(range.records.map((r) => r.callId)).toEqual([ids[1]])
    const p1 = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, pageSize: 2 },
      auth,
    )
    expect(p1.records.map((r) => r.callId)).toEqual(ids.slice(0, 2))
    const p2 = await unaryCall(
      records,
      CallRecordServiceService.listCallRecords,
      { ...base, pageSize: 2, pageToken: p1.nextPageToken },
      auth,
    )
    expect(p2.records.map((r) => r.callId)).toEqual(ids.slice(2))
    expect(p2.nextPageToken).toBe("")
    const bad = await failure(
      unaryCall(records, CallRecordServiceService.listCallRecords, { ...base, fromMs: 10, toMs: 5 }, auth),
    )
    expect(bad.details).toMatch(/^to_ms: /)
  })
})
