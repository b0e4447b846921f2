/**
 * The relay's media metrics from the plane's per-leg counters: increments since the last reading of the
 * same session's leg, read at each poll and once more at deletion, so a leg's counters starting again at
 * zero for the next session never make a total go back. Memory plane, TestClock, recording metrics.
 */
import { type CreateSession, InstanceId } from "@b2bua/contracts"
import { recordingMetrics } from "@b2bua/telemetry"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { describe, expect, it } from "vitest"
import { makeMemoryPlane, makeSessionManager, memoryPlaneLayer } from "../src/index.js"
import { makeRelayMetrics } from "../src/RelayTelemetry.js"

const req = (sessionId: string): CreateSession => ({
  v: 1,
  sessionId,
  owner: InstanceId("cc1"),
  leaseMs: 20_000,
  legs: { a: {}, b: { remote: { host: "127.0.0.1", port: 4000 } } },
})

describe("relay metrics", () => {
  it("count packets, bytes, losses and jitter as increments per session leg; sessions and capacity", async () => {
    const plane = makeMemoryPlane()
    const recorded = recordingMetrics()
    await Effect.runPromise(
      Effect.gen(function* () {
        let count = () => 0
        const metrics = makeRelayMetrics(recorded.metrics, { sessions: () => count(), capacity: () => 4 })
        const m = yield* makeSessionManager({
          address: "127.0.0.1",
          ports: { min: 30000, max: 30015 },
          maxSessions: 4,
          quarantineMs: 0,
          mediaTimeoutMs: 60_000,
          meter: metrics.meter,
        })
        count = m.count
        yield* m.create(req("s1"))
        expect(recorded.observe("rtp_relay_sessions")).toEqual([[{}, 1]])
        // Leg a (slot 0) heard 100 of 105 packets, jitter 80 timestamp units at 8 kHz (10 ms).
        plane.counters.set(0, {
          packets: 100,
          bytes: 17_200,
          expected: 105,
          received: 100,
          forwarded: 100,
          jitterUnits: 80,
        })
        yield* m.poll()
        plane.counters.set(0, {
          packets: 150,
          bytes: 25_800,
          expected: 155,
          received: 150,
          forwarded: 149,
          dropped: 1,
          jitterUnits: 160,
        })
        // The 50 packets since the last poll are counted when the session is deleted.
        yield* m.remove({ v: 1, sessionId: "s1" })
        // The next session may take the same slots, with counters from zero again.
        plane.counters.clear()
        yield* m.create(req("s2"))
        plane.counters.set(0, { packets: 10, bytes: 1720, expected: 10, received: 10, forwarded: 10 })
        plane.counters.set(1, { packets: 10, bytes: 1720, expected: 10, received: 10, forwarded: 10 })
        yield* m.poll()
        yield* m.poll() // nothing new: nothing added
      }).pipe(Effect.provide(Layer.mergeAll(memoryPlaneLayer(plane), TestClock.layer()))),
    )
    expect(recorded.values.get("rtp_relay_packets_total{direction=received}")).toBe(170)
    expect(recorded.values.get("rtp_relay_packets_total{direction=forwarded}")).toBe(169)
    expect(recorded.values.get("rtp_relay_packets_total{direction=dropped}")).toBe(1)
    expect(recorded.values.get("rtp_relay_received_bytes_total{}")).toBe(25_800 + 3440)
    expect(recorded.values.get("rtp_relay_packets_lost_total{}")).toBe(5)
    expect(recorded.records.get("rtp_relay_jitter_seconds{}")).toEqual([0.01, 0.02, 0, 0])
    expect(recorded.observe("rtp_relay_sessions")).toEqual([[{}, 1]])
    expect(recorded.observe("rtp_relay_session_capacity")).toEqual([[{}, 4]])
  })
})
