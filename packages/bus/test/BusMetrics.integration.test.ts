/**
 * NATS request latency in every service: each request's round trip is recorded by subject pattern
 * (ids become `*`) and outcome, each handled message by subject pattern, against a real nats-server, into the metrics API's recording
 * implementation.
 */
import { Metrics, recordingMetrics } from "@b2bua/telemetry"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Bus, busLayer, subjectPattern } from "../src/index.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

describe("subject patterns (metric labels)", () => {
  it("keep the contracts' words and replace ids, bounded in length", () => {
    expect(subjectPattern("b2b.v1.relay.relay7.session.create")).toBe("b2b.v1.relay.*.session.create")
    expect(subjectPattern("b2b.v1.cc.inst.cc1x.control")).toBe("b2b.v1.cc.inst.*.control")
    expect(subjectPattern("b2b.v1.auth.identify")).toBe("b2b.v1.auth.identify")
    expect(subjectPattern("a.b.c.d.e.f.g.h.i.j.k")).toBe("*.*.*.*.*.*.*.*.>")
  })
})

describe("request latency", () => {
  it("is recorded for each request with its outcome", async () => {
    const recorded = recordingMetrics()
    await Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const bus = yield* Bus
          yield* bus.subscribe("b2b.v1.relay.r1.session.create", (m) =>
            m.respond(new Uint8Array()).pipe(Effect.orDie),
          )
          yield* bus.subscribe("b2b.v1.sdp.negotiate", () => Effect.void)
          yield* bus.request("b2b.v1.relay.r1.session.create", new Uint8Array(), { timeoutMs: 2000 })
          yield* bus
            .request("b2b.v1.relay.r2.session.create", new Uint8Array(), { timeoutMs: 2000 })
            .pipe(Effect.ignore)
          yield* bus.request("b2b.v1.sdp.negotiate", new Uint8Array(), { timeoutMs: 200 }).pipe(Effect.ignore)
        }).pipe(
          Effect.provide(busLayer({ servers: nats.url, name: "metrics-test" })),
          Effect.provideService(Metrics, recorded.metrics),
        ),
      ),
    )
    const series = (subject: string, outcome: string) =>
      recorded.records.get(`nats_request_duration_seconds{subject=${subject},outcome=${outcome}}`) ?? []
    expect(series("b2b.v1.relay.*.session.create", "ok")).toHaveLength(1)
    expect(series("b2b.v1.relay.*.session.create", "no_responders")).toHaveLength(1)
    const timedOut = series("b2b.v1.sdp.negotiate", "timeout")
    expect(timedOut).toHaveLength(1)
    expect(timedOut[0]).toBeGreaterThanOrEqual(0.2)
    // The handlers' side: each message handled is recorded under its subject's pattern.
    expect(
      recorded.records.get("nats_handler_duration_seconds{subject=b2b.v1.relay.*.session.create}"),
    ).toHaveLength(1)
    expect(recorded.records.get("nats_handler_duration_seconds{subject=b2b.v1.sdp.negotiate}")).toHaveLength(
      1,
    )
  })
})
