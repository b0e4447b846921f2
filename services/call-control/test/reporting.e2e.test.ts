/**
 * What operators see (contracts Admin), end to end with SIPp and a real nats-server: every state change of
 * a call on stream CALL_EVENTS in order, one record per call on stream CDRS, and a hangup requested on the
 * owner's control subject ending an answered call with BYE on both legs.
 */
import {
  adminStreams,
  adminSubjects,
  type CallDetailRecordV1,
  type CallEventV1,
  decodeCallControlReply,
  encodeAdminPayload,
} from "@b2bua/contracts"
import { runSipp, startSipp, startSippUas } from "@b2bua/testkit"
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { Result } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uacExpectBye, uasExpectUser } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
let nc: NatsConnection
beforeAll(async () => {
  suite = await startSuite()
  nc = await connect({ servers: suite.nats.url })
}, 60_000)
afterAll(async () => {
  await nc?.close()
  await suite?.stop()
})

const readAll = async <T>(stream: string): Promise<ReadonlyArray<T>> => {
  const info = await (await jetstreamManager(nc)).streams.info(stream)
  const consumer = await jetstream(nc).consumers.get(stream)
  const found: Array<T> = []
  for (let i = 0; i < info.state.messages; i++) {
    const m = await consumer.next({ expires: 2000 })
    if (m === null) break
    found.push(m.json<T>())
  }
  return found
}

it("a completed call: its states in order on CALL_EVENTS and one answered record on CDRS", async () => {
  const callee = await startSippUas({ localPort: suite.calleePort, calls: 1, timeoutSeconds: 20 })
  const caller = await runSipp({
    scenario: "uac",
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    pauseMs: 300,
    timeoutSeconds: 20,
  })
  await callee.result()
  expect(caller.successfulCalls).toBe(1)
  const records = await readAll<CallDetailRecordV1>(adminStreams.callRecords.name)
  expect(records).toHaveLength(1)
  const record = records[0]!
  expect([record.disposition, record.sipCode, record.hangupBy, record.from, record.to]).toEqual([
    "answered",
    200,
    "caller",
    "sipp",
    "service",
  ])
  expect(record.durationMs).toBeGreaterThan(0)
  const events = (await readAll<CallEventV1>(adminStreams.callEvents.name)).filter(
    (e) => e.callId === record.callId,
  )
  expect(events.map((e) => e.state)).toEqual(["Calling", "Early", "Answered", "Ending", "Ended"])
  expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
})

it("an operator's hangup ends an answered call with BYE on both legs", async () => {
  // Events from now on only (the first test's call is in the stream too).
  const consumer = await jetstream(nc).consumers.get(adminStreams.callEvents.name, {
    filter_subjects: adminSubjects.callEventsAll(),
    deliver_policy: DeliverPolicy.New,
  })
  const callee = await startSippUas({
    scenario: uasExpectUser("service"),
    localPort: suite.calleePort,
    calls: 1,
    timeoutSeconds: 20,
  })
  const caller = await startSipp({
    scenario: uacExpectBye(),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 20,
  })
  // Wait (bounded) for the call's Answered event, which names the call and its owner.
  let answered: CallEventV1 | undefined
  for (let i = 0; i < 50 && answered === undefined; i++) {
    const m = await consumer.next({ expires: 1000 })
    const event = m?.json<CallEventV1>()
    if (event?.state === "Answered") answered = event
  }
  expect(answered).toBeDefined()
  const reply = await nc.request(
    adminSubjects.callControl(answered!.owner),
    encodeAdminPayload({ v: 1, op: "hangup", callKey: answered!.callId, reason: "operator test" }),
    { timeout: 2000 },
  )
  const decoded = decodeCallControlReply(reply.data)
  expect(Result.isSuccess(decoded) && decoded.success).toEqual({ v: 1, ok: { action: "bye" } })
  expect((await caller.result()).successfulCalls).toBe(1)
  expect((await callee.result()).successfulCalls).toBe(1)
})
