/**
 * One trace per call across the suite, end to end: the edge, call control, auth, the SDP negotiator and
 * the RTP relay run as processes exporting spans over OTLP/HTTP to a receiver in the test (spans kept in
 * memory); SIPp calls and answers. The call's spans must form one connected trace rooted at the edge's
 * `sip.receive` of the INVITE, reaching every service, with a span per transaction carrying the SIP
 * facts; call control's and the relay's Prometheus endpoints count the call.
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "@b2bua/telemetry"
import { freeTcpPort, freeUdpPort, runSipp, startSippUas } from "@b2bua/testkit"
import { afterAll, beforeAll, expect, it } from "vitest"
import { uacExpect } from "./scenarios.js"
import { type RunningSuite, type SuiteService, startSuite } from "./suite.js"

const SERVICES: ReadonlyArray<SuiteService> = [
  "sip-edge",
  "call-control",
  "auth",
  "sdp-negotiator",
  "rtp-relay",
]

let suite: RunningSuite
let receiver: OtlpReceiver
/** Each service's Prometheus port. */
const metricsPort = new Map<SuiteService, number>()

beforeAll(async () => {
  receiver = await startOtlpReceiver()
  for (const service of SERVICES) metricsPort.set(service, await freeTcpPort())
  const calleePort = await freeUdpPort()
  const auth = join(tmpdir(), `trace-e2e-auth-${process.pid}.yaml`)
  writeFileSync(
    auth,
    `domains:
  - { name: 127.0.0.1, realm: b2bua-e2e, algorithms: [MD5] }
users: []
unknownSources: challenge
trunks:
  - { name: local, sources: ["127.0.0.1/32"] }
`,
  )
  const routing = join(tmpdir(), `trace-e2e-routing-${process.pid}.yaml`)
  // Numbers starting 488 go to a trunk that only takes G.722, which SIPp never offers: a failed call.
  writeFileSync(
    routing,
    `trunks:
  - { name: local, sources: [127.0.0.1/32] }
  - { name: callee, gateways: [{ host: 127.0.0.1, port: ${calleePort} }] }
  - name: wideband-only
    gateways: [{ host: 127.0.0.1, port: ${calleePort} }]
    codecs: { allow: [G722] }
routes:
  - { name: default, prefix: "", trunks: [callee] }
  - { name: wideband, prefix: "488", trunks: [wideband-only] }
`,
  )
  suite = await startSuite({
    authConfig: auth,
    media: { rtpPorts: "39200-39263" },
    calleePort,
    ccEnv: { B2BUA_ROUTING_FILE: routing },
    envOf: (service) => ({
      B2BUA_OTEL_EXPORTER: "otlp",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_BSP_SCHEDULE_DELAY: "100",
      B2BUA_METRICS_HOST: "127.0.0.1",
      B2BUA_METRICS_PORT: String(metricsPort.get(service)),
    }),
  })
}, 60_000)

afterAll(async () => {
  await suite?.stop()
  await receiver?.close()
})

/** The spans of one trace once `settled` holds of them (exports arrive in batches), bounded in time. */
const traceOf = async (
  traceId: string,
  settled: (spans: ReadonlyArray<ReceivedSpan>) => boolean,
): Promise<ReadonlyArray<ReceivedSpan>> => {
  for (let i = 0; i < 100; i++) {
    const spans = receiver.spans().filter((s) => s.traceId === traceId)
    if (settled(spans)) return spans
    await new Promise((r) => setTimeout(r, 100))
  }
  return receiver.spans().filter((s) => s.traceId === traceId)
}

const scrape = async (service: SuiteService): Promise<string> =>
  (
    await fetch(`http://127.0.0.1:${metricsPort.get(service)}/metrics`, { signal: AbortSignal.timeout(5000) })
  ).text()

/** The sum of a metric's series whose labels include `labels` (Prometheus text), 0 when none. */
const sample = (text: string, name: string, labels: Readonly<Record<string, string>> = {}): number => {
  let total = 0
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)/.exec(line)
    if (m === null || m[1] !== name) continue
    const present = m[3] ?? ""
    if (Object.entries(labels).every(([k, v]) => present.includes(`${k}="${v}"`))) total += Number(m[4])
  }
  return total
}

it("one answered call is one connected trace across the five services, a span per transaction", async () => {
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

  // The call span ends when the call does; it names the caller's Call-ID.
  const call = await receiver.waitFor(
    (s) =>
      s.service === "call-control" && s.name === "call" && s.attributes["b2bua.disposition"] === "answered",
    15_000,
  )
  const callId = call.attributes["sip.call_id"]
  const spans = await traceOf(
    call.traceId,
    (all) =>
      SERVICES.every((service) => all.some((s) => s.service === service)) &&
      all.filter((s) => s.name === "SIP BYE").length >= 2 &&
      all.some((s) => s.name === "sip.receive"),
  )
  expect(new Set(spans.map((s) => s.service))).toEqual(new Set(SERVICES))

  // Connected: one root, the edge's receive of the INVITE; every other span's parent is in the trace.
  const ids = new Set(spans.map((s) => s.spanId))
  const roots = spans.filter((s) => s.parentSpanId === "")
  expect(roots).toHaveLength(1)
  expect(roots[0]).toMatchObject({ service: "sip-edge", name: "sip.receive" })
  expect(roots[0]!.attributes).toMatchObject({ "sip.method": "INVITE", "sip.call_id": callId })
  const orphans = spans.filter((s) => s.parentSpanId !== "" && !ids.has(s.parentSpanId))
  expect(orphans.map((s) => `${s.service} ${s.name}`)).toEqual([])

  // The call's transactions: the caller's INVITE (server) and the suite's INVITE to the callee (client),
  // the caller's BYE and the suite's BYE to the callee, each a child of the call with its final status.
  const transactions = spans.filter((s) => s.parentSpanId === call.spanId && s.name.startsWith("SIP "))
  const summary = transactions.map((s) => [
    s.name,
    s.kind,
    s.attributes["sip.leg"],
    s.attributes["sip.status"],
  ])
  expect(summary).toEqual(
    expect.arrayContaining([
      ["SIP INVITE", 2, "A", 200], // SERVER
      ["SIP INVITE", 3, "B", 200], // CLIENT
      ["SIP BYE", 2, "A", 200],
      ["SIP BYE", 3, "B", 200],
    ]),
  )
  const aInvite = transactions.find((s) => s.name === "SIP INVITE" && s.attributes["sip.leg"] === "A")!
  expect(aInvite.attributes["sip.call_id"]).toBe(callId)
  const bInvite = transactions.find((s) => s.name === "SIP INVITE" && s.attributes["sip.leg"] === "B")!
  expect(bInvite.attributes["sip.call_id"]).not.toBe(callId) // the B-leg's own Call-ID
  expect(bInvite.events.map((e) => e.name)).toContain("sip.provisional")
  // The caller's BYE arrived in a trace of its own at the edge: its transaction links to it.
  const aBye = transactions.find((s) => s.name === "SIP BYE" && s.attributes["sip.leg"] === "A")!
  expect(aBye.links).toHaveLength(1)
  expect(ids.has(aBye.links[0]!)).toBe(false)

  // The negotiator and the relay worked for the B-leg INVITE: their spans descend from its transaction.
  const byId = new Map(spans.map((s) => [s.spanId, s]))
  const descendsFrom = (s: ReceivedSpan, ancestor: string): boolean => {
    for (let p = byId.get(s.parentSpanId); p !== undefined; p = byId.get(p.parentSpanId))
      if (p.spanId === ancestor) return true
    return false
  }
  const negotiate = spans.find((s) => s.service === "sdp-negotiator" && s.name === "Negotiator.negotiate")!
  expect(descendsFrom(negotiate, call.spanId)).toBe(true)
  const relayCreate = spans.find(
    (s) =>
      s.service === "rtp-relay" && String(s.attributes["messaging.destination.name"]).endsWith(".create"),
  )!
  expect(descendsFrom(relayCreate, bInvite.spanId)).toBe(true)
  const identify = spans.find((s) => s.service === "auth")!
  expect(descendsFrom(identify, roots[0]!.spanId)).toBe(true)

  // Metrics: the attempt, the answer and the duration; the relay's session request.
  const cc = await scrape("call-control")
  expect(sample(cc, "cc_call_attempts_total")).toBeGreaterThanOrEqual(1)
  expect(sample(cc, "cc_calls_answered_total")).toBe(1)
  expect(sample(cc, "cc_call_duration_seconds_count")).toBe(1)
  expect(sample(cc, "cc_call_duration_seconds_sum")).toBeGreaterThan(0)
  expect(sample(cc, "cc_calls_active")).toBe(0)
  expect(
    sample(cc, "nats_request_duration_seconds_count", { subject: "b2b.v1.auth.identify", outcome: "ok" }),
  ).toBeGreaterThanOrEqual(1)
  const relay = await scrape("rtp-relay")
  expect(
    sample(relay, "rtp_relay_requests_total", { operation: "create", outcome: "ok" }),
  ).toBeGreaterThanOrEqual(1)
  // The negotiator answered the offer and the answer; auth served the identification.
  const negotiator = await scrape("sdp-negotiator")
  expect(
    sample(negotiator, "sdp_negotiations_total", { kind: "offer", outcome: "ok" }),
  ).toBeGreaterThanOrEqual(1)
  expect(
    sample(negotiator, "sdp_negotiations_total", { kind: "answer", outcome: "ok" }),
  ).toBeGreaterThanOrEqual(1)
  const auth = await scrape("auth")
  expect(
    sample(auth, "nats_handler_duration_seconds_count", { subject: "b2b.v1.auth.identify" }),
  ).toBeGreaterThanOrEqual(1)
  expect(sample(auth, "auth_identifications_total", { result: "trunk" })).toBeGreaterThanOrEqual(1)
  const edge = await scrape("sip-edge")
  expect(sample(edge, "sip_edge_requests_received_total", { method: "INVITE" })).toBeGreaterThanOrEqual(1)
  // 64 ports: a leg takes an RTP/RTCP pair, a session two legs.
  expect(sample(relay, "rtp_relay_session_capacity")).toBe(16)

  // Logs: the call's lines name the call and its trace.
  const logged = suite.callControls[0]!.logs()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
  expect(logged.find((l) => l.message === "call ended" && l.callId === callId)).toMatchObject({
    trace_id: call.traceId,
  })
}, 60_000)

it("a refused call ends its trace with the failure: the status on the spans, the failure counted", async () => {
  const caller = await runSipp({
    scenario: uacExpect(488),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    extraArgs: ["-s", "4881234"],
  })
  expect(caller.successfulCalls).toBe(1)
  const call = await receiver.waitFor(
    (s) => s.service === "call-control" && s.name === "call" && s.attributes["sip.status"] === 488,
    15_000,
  )
  expect(call.attributes["b2bua.disposition"]).toBe("failed")
  expect(call.events.map((e) => e.name)).toContain("call.failed")
  const spans = await traceOf(call.traceId, (all) =>
    all.some(
      (s) => s.name === "SIP INVITE" && s.attributes["sip.leg"] === "A" && s.parentSpanId === call.spanId,
    ),
  )
  const aInvite = spans.find((s) => s.name === "SIP INVITE" && s.attributes["sip.leg"] === "A")!
  expect(aInvite.attributes["sip.status"]).toBe(488)
  expect(aInvite.events.find((e) => e.name === "sip.failure")?.attributes).toMatchObject({
    "sip.status": 488,
  })
  const cc = await scrape("call-control")
  expect(sample(cc, "cc_call_failures_total", { status: "488" })).toBe(1)
  expect(sample(cc, "cc_calls_ended_total", { disposition: "failed" })).toBe(1)
  expect(
    sample(await scrape("sdp-negotiator"), "sdp_negotiations_total", { kind: "offer", outcome: "488" }),
  ).toBe(1)
}, 60_000)
