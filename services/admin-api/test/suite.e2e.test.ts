/**
 * The admin API against the running suite: nats-server, call control, the sip-edge and the admin API as
 * processes, SIPp as caller and callee, a gRPC client on 127.0.0.1. A call shows in ListCalls and GetCall
 * with both legs; WatchCalls delivers its state changes in order; HangupCall ends it with BYE on both
 * legs; its record appears in CallRecordService; a trunk and route created, then changed, through the API
 * decide where the next calls go; bad input gets INVALID_ARGUMENT naming the field, a missing token
 * UNAUTHENTICATED. The admin API's and call control's spans (OTLP to a receiver in the test) put the
 * hangup in one trace from the gRPC call to the owner's handling; the admin API counts its calls by code.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  type Call,
  type CallEvent,
  CallRecordServiceClient,
  CallRecordServiceService,
  CallServiceClient,
  CallServiceService,
  CallState,
  Disposition,
  RouteServiceClient,
  RouteServiceService,
  serverStreamCall,
  Transport,
  TrunkServiceClient,
  TrunkServiceService,
  unaryCall,
} from "@b2bua/admin-proto"
import { type OtlpReceiver, startOtlpReceiver } from "@b2bua/telemetry"
import {
  freeTcpPort,
  freeUdpPort,
  runSipp,
  type ServiceProcess,
  startService,
  startSipp,
  startSippUas,
} from "@b2bua/testkit"
import { credentials, type ServiceError, status } from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { uacExpectBye, uasExpectUser } from "../../call-control/test/scenarios.js"
import { type RunningSuite, startSuite } from "../../call-control/test/suite.js"

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const TOKEN = "suite-e2e-token-0123456789"
const auth = { token: TOKEN, timeoutMs: 5000 }

let suite: RunningSuite
let receiver: OtlpReceiver
let adminMetrics = 0
let admin: ServiceProcess
let calls: CallServiceClient
let records: CallRecordServiceClient
let trunks: TrunkServiceClient
let routes: RouteServiceClient

beforeAll(async () => {
  const calleePort = await freeUdpPort()
  const routing = join(tmpdir(), `admin-suite-e2e-${process.pid}.yaml`)
  writeFileSync(
    routing,
    `trunks:
  - { name: local, sources: [127.0.0.1/32] }
  - { name: callee, gateways: [{ host: 127.0.0.1, port: ${calleePort} }] }
routes:
  - { name: default, prefix: "", trunks: [callee] }
`,
  )
  receiver = await startOtlpReceiver()
  const otlp = {
    B2BUA_OTEL_EXPORTER: "otlp",
    OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
    OTEL_BSP_SCHEDULE_DELAY: "100",
  }
  suite = await startSuite({
    calleePort,
    ccEnv: { B2BUA_ROUTING_FILE: routing, B2BUA_ROUTING_REFRESH_MS: "300" },
    envOf: (service) => (service === "call-control" ? otlp : {}),
  })
  const port = await freeTcpPort()
  adminMetrics = await freeTcpPort()
  admin = await startService({
    main,
    env: {
      NATS_URL: suite.nats.url,
      B2BUA_ADMIN_TOKEN: TOKEN,
      B2BUA_ADMIN_LISTEN: `127.0.0.1:${port}`,
      B2BUA_METRICS_HOST: "127.0.0.1",
      B2BUA_METRICS_PORT: String(adminMetrics),
      ...otlp,
    },
    readyText: "gRPC server listening",
  })
  const address = `127.0.0.1:${port}`
  calls = new CallServiceClient(address, credentials.createInsecure())
  records = new CallRecordServiceClient(address, credentials.createInsecure())
  trunks = new TrunkServiceClient(address, credentials.createInsecure())
  routes = new RouteServiceClient(address, credentials.createInsecure())
}, 60_000)

afterAll(async () => {
  for (const c of [calls, records, trunks, routes]) c?.close()
  await admin?.stop()
  await suite?.stop()
  await receiver?.close()
})

const failure = async (p: Promise<unknown>): Promise<ServiceError> => {
  try {
    await p
  } catch (e) {
    return e as ServiceError
  }
  throw new Error("expected the call to fail")
}

/** Asks `probe` every 100 ms until it returns a value, at most `tries` times. */
const eventually = async <A>(probe: () => Promise<A | undefined>, tries = 100): Promise<A | undefined> => {
  for (let i = 0; i < tries; i++) {
    const found = await probe()
    if (found !== undefined) return found
    await new Promise((r) => setTimeout(r, 100))
  }
  return undefined
}

const listCalls = (state = CallState.CALL_STATE_UNSPECIFIED) =>
  unaryCall(
    calls,
    CallServiceService.listCalls,
    { state, trunk: "", numberPrefix: "", minAgeMs: 0, maxAgeMs: 0, pageSize: 0, pageToken: "" },
    auth,
  )

describe("CallService and CallRecordService with a SIPp call", () => {
  it("lists and reads the call, streams its states in order, hangs it up on both legs, records it", async () => {
    const events: Array<CallEvent> = []
    const watch = serverStreamCall(
      calls,
      CallServiceService.watchCalls,
      { states: [], callId: "", trunk: "" },
      (e) => events.push(e),
      { token: TOKEN },
    )
    // A unary call after the watch started: the stream is open on the server by then (same connection, in order).
    await listCalls()
    const callee = await startSippUas({
      scenario: uasExpectUser("service"),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 30,
    })
    const caller = await startSipp({
      scenario: uacExpectBye(),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 30,
    })
    try {
      const listed = await eventually(async () =>
        (await listCalls(CallState.CALL_STATE_ANSWERED)).calls.find((c) => c.aLeg?.localTag !== ""),
      )
      expect(listed).toBeDefined()
      const call = listed!
      expect(call.state).toBe(CallState.CALL_STATE_ANSWERED)
      expect(call.owner).toBe("cce2e")
      expect(call.trunk).toBe("local")
      // Both legs with their own dialog: independent Call-IDs and tags (topology hiding), both confirmed.
      const a = call.aLeg!
      const b = call.bLeg!
      expect(a.sipCallId).not.toBe("")
      expect(b.sipCallId).not.toBe("")
      expect(b.sipCallId).not.toBe(a.sipCallId)
      expect([a.localTag !== "", a.remoteTag !== "", b.localTag !== "", b.remoteTag !== ""]).toEqual([
        true,
        true,
        true,
        true,
      ])
      expect(b.remoteTag).toMatch(/SIPpTag01/) // the callee's To-tag
      expect([a.dialogState, b.dialogState]).toEqual(["confirmed", "confirmed"])
      expect([a.sipCode, b.sipCode]).toEqual([200, 200]) // each leg its own final status
      expect(call.answeredAtMs).toBeGreaterThanOrEqual(call.setupAtMs)
      expect(call.traceId).toMatch(/^[0-9a-f]{32}$/)

      const got: Call = await unaryCall(calls, CallServiceService.getCall, { id: call.id }, auth)
      expect(got).toMatchObject({ id: call.id, state: CallState.CALL_STATE_ANSWERED, traceId: call.traceId })
      expect(got.aLeg?.sipCallId).toBe(a.sipCallId)
      expect(got.bLeg?.remoteTag).toBe(b.remoteTag)

      const hungUp = await unaryCall(
        calls,
        CallServiceService.hangupCall,
        { id: call.id, reason: "suite e2e" },
        auth,
      )
      expect(hungUp.action).toBe("bye")
      // One trace from the operator's call to the owner's handling of it.
      const grpcSpan = await receiver.waitFor(
        (s) => s.service === "admin-api" && s.name === "grpc CallService/HangupCall",
        15_000,
      )
      const atOwner = await receiver.waitFor(
        (s) =>
          s.service === "call-control" &&
          s.traceId === grpcSpan.traceId &&
          s.name === "nats.process" &&
          String(s.attributes["messaging.destination.name"]).endsWith(".control"),
        15_000,
      )
      expect(atOwner.parentSpanId).not.toBe("")
      // Both SIPps complete only once they received the BYE (and answered it).
      expect((await caller.result()).successfulCalls).toBe(1)
      expect((await callee.result()).successfulCalls).toBe(1)

      const ofCall = () => events.filter((e) => e.call?.id === call.id)
      await eventually(async () =>
        ofCall().some((e) => e.call?.state === CallState.CALL_STATE_ENDED) ? true : undefined,
      )
      const states = ofCall().map((e) => e.call?.state)
      expect(states).toEqual([
        CallState.CALL_STATE_CALLING,
        CallState.CALL_STATE_ANSWERED,
        CallState.CALL_STATE_ENDING,
        CallState.CALL_STATE_ENDED,
      ])
      const cursors = ofCall().map((e) => e.cursor)
      expect([...cursors].sort((x, y) => x - y)).toEqual(cursors)
      expect(new Set(cursors).size).toBe(cursors.length)

      const record = await eventually(async () =>
        (
          await unaryCall(
            records,
            CallRecordServiceService.listCallRecords,
            {
              fromMs: 0,
              toMs: 0,
              trunk: "",
              numberPrefix: "",
              disposition: Disposition.DISPOSITION_UNSPECIFIED,
              pageSize: 0,
              pageToken: "",
            },
            auth,
          )
        ).records.find((r) => r.callId === call.id),
      )
      expect(record).toMatchObject({
        disposition: Disposition.DISPOSITION_ANSWERED,
        hangupBy: "admin",
        sipCode: 200,
        trunkIn: "local",
        trunkOut: "callee",
        traceId: call.traceId,
      })
      expect(record!.aLeg?.sipCallId).toBe(a.sipCallId)
      expect(record!.bLeg?.sipCallId).toBe(b.sipCallId)
      // Gone from the live calls once ended.
      expect(
        (await listCalls()).calls.find((c) => c.id === call.id && c.state !== CallState.CALL_STATE_ENDED),
      ).toBeUndefined()
    } finally {
      watch.cancel()
      await watch.done.catch(() => undefined)
    }
  }, 60_000)
})

describe("TrunkService and RouteService drive the routing of the next call", () => {
  /** Lines call control logged with `message`, to wait for a routing change to take effect. */
  const changes = () =>
    suite.callControls[0]!.logs()
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === "routing changed")

  it("a trunk and route created through the API take calls; the trunk's new gateway takes the next", async () => {
    const second = await freeUdpPort()
    const third = await freeUdpPort()
    const before = changes().length
    const created = await unaryCall(
      trunks,
      TrunkServiceService.createTrunk,
      {
        trunk: {
          name: "second",
          sources: [],
          gateways: [{ host: "127.0.0.1", port: second, transport: Transport.TRANSPORT_UDP }],
          media: 0,
          redirects: 0,
          refer: 0,
          revision: 0,
        },
      },
      auth,
    )
    await unaryCall(
      routes,
      RouteServiceService.createRoute,
      { route: { name: "seven", prefix: "777", fromTrunks: [], trunks: ["second"], revision: 0 } },
      auth,
    )
    // Applied within the refresh interval: wait until call control read both.
    expect(
      await eventually(async () =>
        changes()
          .slice(before)
          .some((l) => l.routes === 2)
          ? true
          : undefined,
      ),
    ).toBe(true)
    const atSecond = await startSippUas({
      scenario: uasExpectUser("7771234"),
      localPort: second,
      calls: 1,
      timeoutSeconds: 20,
    })
    const first = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 20,
      extraArgs: ["-s", "7771234"],
    })
    expect(first.successfulCalls).toBe(1)
    expect((await atSecond.result()).successfulCalls).toBe(1)

    const changed = changes().length
    await unaryCall(
      trunks,
      TrunkServiceService.updateTrunk,
      {
        trunk: {
          ...created,
          gateways: [{ host: "127.0.0.1", port: third, transport: Transport.TRANSPORT_UDP }],
        },
        expectedRevision: created.revision,
      },
      auth,
    )
    expect(await eventually(async () => (changes().length > changed ? true : undefined))).toBe(true)
    const atThird = await startSippUas({
      scenario: uasExpectUser("7775678"),
      localPort: third,
      calls: 1,
      timeoutSeconds: 20,
    })
    const next = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 20,
      extraArgs: ["-s", "7775678"],
    })
    expect(next.successfulCalls).toBe(1)
    expect((await atThird.result()).successfulCalls).toBe(1)
  }, 90_000)
})

describe("bad requests against the running admin API", () => {
  it("INVALID_ARGUMENT names the field; no token is UNAUTHENTICATED", async () => {
    const badPort = await failure(
      unaryCall(
        trunks,
        TrunkServiceService.createTrunk,
        {
          trunk: {
            name: "bad",
            sources: [],
            gateways: [{ host: "127.0.0.1", port: 70000, transport: 0 }],
            media: 0,
            redirects: 0,
            refer: 0,
            revision: 0,
          },
        },
        auth,
      ),
    )
    expect(badPort.code).toBe(status.INVALID_ARGUMENT)
    expect(badPort.details).toMatch(/^trunk\.gateways\[0\]\.port: /)
    const badId = await failure(unaryCall(calls, CallServiceService.getCall, { id: "not-a-call" }, auth))
    expect(badId.code).toBe(status.INVALID_ARGUMENT)
    expect(badId.details).toMatch(/^id: /)
    const noToken = await failure(
      unaryCall(
        calls,
        CallServiceService.listCalls,
        { state: 0, trunk: "", numberPrefix: "", minAgeMs: 0, maxAgeMs: 0, pageSize: 0, pageToken: "" },
        { timeoutMs: 5000 },
      ),
    )
    expect(noToken.code).toBe(status.UNAUTHENTICATED)
    // The admin API counts what it served by method and status.
    const metrics = await (
      await fetch(`http://127.0.0.1:${adminMetrics}/metrics`, { signal: AbortSignal.timeout(5000) })
    ).text()
    expect(metrics).toMatch(
      /^admin_grpc_requests_total\{method="TrunkService\/CreateTrunk",code="INVALID_ARGUMENT"[^}]*\} [1-9]/m,
    )
    expect(metrics).toMatch(
      /^admin_grpc_requests_total\{method="CallService\/HangupCall",code="OK"[^}]*\} 1$/m,
    )
  })
})
