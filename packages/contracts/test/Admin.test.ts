import { Result } from "effect"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  type AdminPayloadProblem,
  adminSubjects,
  type CallDetailRecordV1,
  type CallEventV1,
  decodeCallControlReply,
  decodeCallControlRequest,
  decodeCallDetailRecord,
  decodeCallEvent,
  encodeAdminPayload,
} from "../src/index.js"

const callId = "0123456789abcdef0123456789abcdef01234567"
const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

const event: CallEventV1 = {
  v: 1,
  seq: 2,
  callId,
  owner: "cc1",
  state: "Answered",
  at: 1_700_000_001_000,
  setupAt: 1_700_000_000_000,
  answeredAt: 1_700_000_001_000,
  legs: {
    a: {
      sipCallId: "a@host",
      localTag: "b2bca1.x",
      remoteTag: "caller",
      sipCode: 200,
      dialogState: "confirmed",
    },
    b: {
      sipCallId: "b@b2bua",
      codec: "PCMU",
      media: { packets: 10, bytes: 1720, lost: 0, jitterMs: 1.5, mos: 4.3 },
    },
  },
}

describe("admin contract v1", () => {
  it("subjects are built here", () => {
    expect(adminSubjects.callEvents(callId)).toBe(`b2b.v1.calls.events.${callId}`)
    expect(adminSubjects.callRecord(callId)).toBe(`b2b.v1.cdr.${callId}`)
    expect(adminSubjects.callControl("cc1")).toBe("b2b.v1.cc.inst.cc1.control")
  })

  it("a call event round-trips and unknown fields are ignored", () => {
    expect(decodeCallEvent(encodeAdminPayload(event))).toEqual(Result.succeed(event))
    expect(Result.isSuccess(decodeCallEvent(bytes({ ...event, futureField: 1 })))).toBe(true)
  })

  it("a bad field is named by its path", () => {
    const bad = { ...event, legs: { a: { ...event.legs.a, sipCode: 99 } } }
    const r = decodeCallEvent(bytes(bad))
    expect(Result.isFailure(r) && r.failure.field).toBe("legs.a.sipCode")
    const r2 = decodeCallEvent(bytes({ ...event, callId: "short" }))
    expect(Result.isFailure(r2) && r2.failure.field).toBe("callId")
    const r3 = decodeCallEvent(new Uint8Array([0xff, 0xfe]))
    expect(Result.isFailure(r3) && r3.failure.reason).toBe("not UTF-8 JSON")
  })

  it("records, control requests and replies decode", () => {
    const record: CallDetailRecordV1 = {
      v: 1,
      callId,
      owner: "cc1",
      from: "1000",
      to: "2000",
      setupAt: 1,
      answeredAt: 2,
      endedAt: 5,
      durationMs: 3,
      disposition: "answered",
      sipCode: 200,
      hangupBy: "caller",
      legs: { a: { sipCallId: "a" } },
    }
    expect(decodeCallDetailRecord(encodeAdminPayload(record))).toEqual(Result.succeed(record))
    const r = decodeCallDetailRecord(bytes({ ...record, disposition: "maybe" }))
    expect(Result.isFailure(r) && r.failure.field).toBe("disposition")
    expect(
      Result.isSuccess(
        decodeCallControlRequest(bytes({ v: 1, op: "hangup", callKey: callId, reason: "admin" })),
      ),
    ).toBe(true)
    const bad = decodeCallControlRequest(bytes({ v: 1, op: "hangup", callKey: callId }))
    expect(Result.isFailure(bad) && bad.failure.field).toBe("reason")
    expect(decodeCallControlReply(bytes({ v: 1, ok: { action: "bye" } }))).toEqual(
      Result.succeed({ v: 1, ok: { action: "bye" } }),
    )
    expect(
      Result.isSuccess(decodeCallControlReply(bytes({ v: 1, error: { code: "not-found", reason: "gone" } }))),
    ).toBe(true)
  })

  it("decoders never throw on arbitrary bytes or JSON", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.json().map((j) => new TextEncoder().encode(j)),
        ),
        (b) => {
          const outcomes: ReadonlyArray<Result.Result<unknown, AdminPayloadProblem>> = [
            decodeCallEvent(b),
            decodeCallDetailRecord(b),
            decodeCallControlRequest(b),
            decodeCallControlReply(b),
          ]
          for (const o of outcomes) if (Result.isFailure(o)) expect(typeof o.failure.reason).toBe("string")
        },
      ),
      { numRuns: 300 },
    )
  })
})
