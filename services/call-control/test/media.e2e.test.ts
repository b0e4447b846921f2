/**
 * Media anchored end to end: SIPp caller and callee, the suite with its rtp-relay and sdp-negotiator as
 * processes. Each side sees only the relay's address and ports in the SDP it receives; an offer with no
 * codec the route allows gets 488 with a Warning; a late offer (INVITE without SDP) gets its answer from
 * the caller's ACK into the callee's ACK; RTP sent by SIPp crosses the relay both ways; hold and resume
 * re-INVITEs change the relay's directions. What the relay received on each leg is read from the
 * negotiator's "relay session released" log line (the relay's counters in its delete reply).
 */
import { writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Bus, busLayer } from "@b2bua/bus"
import { decodeUpdateSession, InstanceId, relaySubjects, type UpdateSession } from "@b2bua/contracts"
import {
  freeUdpPort,
  runSipp,
  type SippOptions,
  type SippResult,
  startSipp,
  startSippUas,
} from "@b2bua/testkit"
import { Deferred, Effect, Fiber } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import {
  uacEarlyOffer,
  uacHoldResume,
  uacLateOffer,
  uacMedia,
  uacReinviteLateOffer,
  uasEarlyOffer,
  uasHoldResume,
  uasLateOffer,
  uasMedia,
  uasReinviteLateOffer,
  ulawWave,
} from "./mediaScenarios.js"
import { uacExpect, uacExpectAnchored, uasExpectAnchored } from "./scenarios.js"
import { type RunningSuite, startSuite } from "./suite.js"

let suite: RunningSuite
/** The relay's ports: 39000-39063, which SIPp's own media ports (6000+) never match. */
const RELAY_PORT = "390[0-6][0-9]"

beforeAll(async () => {
  const calleePort = await freeUdpPort()
  const file = join(tmpdir(), `media-e2e-${process.pid}.yaml`)
  // Numbers starting 488 go to a trunk that only takes G.722, which SIPp never offers.
  writeFileSync(
    file,
    `trunks:
  - { name: local, sources: [127.0.0.1/32] }
  - name: callee
    gateways: [{ host: 127.0.0.1, port: ${calleePort} }]
    codecs: { allow: [PCMU, G729, telephone-event] }
  - name: wideband-only
    gateways: [{ host: 127.0.0.1, port: ${calleePort} }]
    codecs: { allow: [G722] }
routes:
  - { name: default, prefix: "", trunks: [callee] }
  - { name: wideband, prefix: "488", trunks: [wideband-only] }
`,
  )
  suite = await startSuite({
    media: { rtpPorts: "39000-39063" },
    calleePort,
    ccEnv: { B2BUA_ROUTING_FILE: file },
  })
}, 60_000)
afterAll(async () => {
  await suite?.stop()
})

it("both legs see only the relay's address and ports, and the call completes", async () => {
  const callee = await startSippUas({
    scenario: uasExpectAnchored(RELAY_PORT),
    localPort: suite.calleePort,
    calls: 2,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  const caller = await runSipp({
    scenario: uacExpectAnchored("127.0.0.1", RELAY_PORT),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 2,
    rate: 2,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  const answered = await callee.result()
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(2)
  expect(answered.failedCalls).toBe(0)
  expect(answered.successfulCalls).toBe(2)
  expect(suite.callControls[0]!.logs()).toContain("call ended")
})

it("an offer with no codec the route allows gets 488 Not Acceptable Here", async () => {
  const caller = await runSipp({
    scenario: uacExpect(488),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 15,
    extraArgs: ["-s", "4881234", ...mediaArgs(false)],
  })
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
})

/** The negotiator's record of each relay session it released: packets and drops per leg. */
interface Released {
  readonly callId: string
  readonly sessionId: string
  readonly packetsA: number
  readonly packetsB: number
  readonly droppedA: number
  readonly droppedB: number
}

const released = (): ReadonlyArray<Released> =>
  suite.mediaServices[1]!.logs()
    .split("\n")
    .flatMap((line) => {
      try {
        const r = JSON.parse(line) as Record<string, unknown>
        return r.message === "relay session released" ? [r as unknown as Released] : []
      } catch {
        return []
      }
    })

/** The session of the call a SIPp caller (its pid names its Call-IDs) made, once released (bounded wait). */
const releasedFor = async (pid: number): Promise<Released> => {
  const mine = () => released().find((r) => r.callId.endsWith(`-${pid}@127.0.0.1`))
  for (let i = 0; i < 100 && mine() === undefined; i++) await new Promise((r) => setTimeout(r, 100))
  const session = mine()
  if (session === undefined) throw new Error(`no relay session released for the calls of SIPp ${pid}`)
  return session
}

/** Runs a SIPp caller to its end; its pid too (SIPp's Call-IDs are `<n>-<pid>@<ip>`). */
const runCaller = async (options: SippOptions): Promise<SippResult & { readonly pid: number }> => {
  const sipp = await startSipp(options)
  return { ...(await sipp.result()), pid: sipp.child.pid ?? -1 }
}

/**
 * SIPp's media port (-mp: RTP echo there and at +2, rtp_stream above): an even port no other SIPp is
 * likely to hold (the default, 6000, is shared by every SIPp on the machine; one that cannot bind it
 * exits at once).
 */
const mediaArgs = (echo: boolean): ReadonlyArray<string> => [
  "-mi",
  "127.0.0.1",
  "-mp",
  String(42_000 + 8 * Math.floor(Math.random() * 2000)),
  ...(echo ? ["-rtp_echo"] : []),
]

/** Every session update the negotiator asks of the relay while `run` goes on (a plain subscriber). */
const watchRelayUpdates = async <A>(run: () => Promise<A>): Promise<[A, ReadonlyArray<UpdateSession>]> => {
  const updates: Array<UpdateSession> = []
  const ready = Effect.runSync(Deferred.make<void>())
  const watcher = Effect.runFork(
    Effect.scoped(
      Effect.gen(function* () {
        const bus = yield* Bus
        yield* bus.subscribe(relaySubjects.update(InstanceId("relaye2e")), (m) =>
          Effect.sync(() => {
            const u = decodeUpdateSession(m.data)
            if ("v" in u) updates.push(u)
          }),
        )
        yield* Effect.promise(() => bus.connection.flush())
        yield* Deferred.succeed(ready, undefined)
        return yield* Effect.never
      }),
    ).pipe(Effect.provide(busLayer({ servers: suite.nats.url, name: "e2e-relay-watch" }))),
  )
  await Effect.runPromise(Deferred.await(ready).pipe(Effect.timeout("5 seconds")))
  try {
    return [await run(), updates]
  } finally {
    await Effect.runPromise(Fiber.interrupt(watcher))
  }
}

/** A SIPp caller and callee pair that must both complete `calls` calls. */
const pair = async (uac: string, uas: string, calls = 1) => {
  const callee = await startSippUas({
    scenario: uas,
    localPort: suite.calleePort,
    calls,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  const caller = await runSipp({
    scenario: uac,
    remote: `127.0.0.1:${suite.sipPort}`,
    calls,
    rate: 2,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  const answered = await callee.result()
  expect([caller.successfulCalls, caller.failedCalls], caller.stderr).toEqual([calls, 0])
  expect([answered.successfulCalls, answered.failedCalls], answered.stderr).toEqual([calls, 0])
}

it("late offer: an INVITE without SDP reaches the callee without SDP; its offer goes to the caller in the 200, the caller's answer to the callee in the ACK, both anchored", () =>
  pair(uacLateOffer("127.0.0.1", RELAY_PORT), uasLateOffer("127.0.0.1", RELAY_PORT), 2))

it("late offer in a re-INVITE: sent on without SDP; the callee's offer in the 200 and the caller's answer in the ACK, anchored", () =>
  pair(uacReinviteLateOffer("127.0.0.1", RELAY_PORT), uasReinviteLateOffer("127.0.0.1", RELAY_PORT)))

it("offer in a reliable 183, answer in the PRACK (RFC 3262 §5): both anchored; the 200 repeating the SDP is ACKed at once", () =>
  pair(uacEarlyOffer("127.0.0.1", RELAY_PORT), uasEarlyOffer("127.0.0.1", RELAY_PORT)))

it("RTP sent by SIPp crosses the relay both ways: each echoing side received what the other streamed", async () => {
  const wave = ulawWave(1)
  // Caller streams, callee echoes: the relay hears B only if it delivered A's packets to B.
  const echoingCallee = await startSippUas({
    scenario: uasMedia("127.0.0.1", RELAY_PORT, undefined),
    localPort: suite.calleePort,
    calls: 1,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(true),
  })
  const streamingCaller = await runCaller({
    scenario: uacMedia("127.0.0.1", RELAY_PORT, wave),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  expect(streamingCaller.successfulCalls).toBe(1)
  expect((await echoingCallee.result()).successfulCalls).toBe(1)
  // Callee streams, caller echoes: the relay hears A only if it delivered B's packets to A.
  const streamingCallee = await startSippUas({
    scenario: uasMedia("127.0.0.1", RELAY_PORT, wave),
    localPort: suite.calleePort,
    calls: 1,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(false),
  })
  const echoingCaller = await runCaller({
    scenario: uacMedia("127.0.0.1", RELAY_PORT, undefined),
    remote: `127.0.0.1:${suite.sipPort}`,
    calls: 1,
    timeoutSeconds: 20,
    extraArgs: mediaArgs(true),
  })
  expect(echoingCaller.successfulCalls).toBe(1)
  expect((await streamingCallee.result()).successfulCalls).toBe(1)
  const first = await releasedFor(streamingCaller.pid)
  const second = await releasedFor(echoingCaller.pid)
  // One second of 20 ms packets is 50; loopback loses none, but only "most" is asserted.
  expect(first.packetsA).toBeGreaterThanOrEqual(25)
  expect(first.packetsB).toBeGreaterThanOrEqual(25)
  expect(second.packetsB).toBeGreaterThanOrEqual(25)
  expect(second.packetsA).toBeGreaterThanOrEqual(25)
})

it("hold (a=sendonly → recvonly) and resume (sendrecv) re-INVITEs complete on both legs and change the relay's directions", async () => {
  const wave = ulawWave(1)
  const [[caller, callee], updates] = await watchRelayUpdates(async () => {
    const callee = await startSippUas({
      scenario: uasHoldResume("127.0.0.1", RELAY_PORT),
      localPort: suite.calleePort,
      calls: 1,
      timeoutSeconds: 25,
      extraArgs: mediaArgs(true),
    })
    const caller = await runCaller({
      scenario: uacHoldResume("127.0.0.1", RELAY_PORT, wave),
      remote: `127.0.0.1:${suite.sipPort}`,
      calls: 1,
      timeoutSeconds: 25,
      extraArgs: mediaArgs(false),
    })
    return [caller, await callee.result()] as const
  })
  expect(caller.failedCalls).toBe(0)
  expect(caller.successfulCalls).toBe(1)
  expect(callee.failedCalls).toBe(0)
  expect(callee.successfulCalls).toBe(1)
  // The relay was told each leg's direction at each offer and answer (RFC 3264 §6.1).
  const directions = updates.flatMap((u) => [
    ...(u.legs?.a?.direction === undefined ? [] : [`a:${u.legs.a.direction}`]),
    ...(u.legs?.b?.direction === undefined ? [] : [`b:${u.legs.b.direction}`]),
  ])
  expect(directions).toEqual(expect.arrayContaining(["a:sendonly", "b:recvonly", "a:sendrecv", "b:sendrecv"]))
  expect(directions.indexOf("a:sendonly")).toBeLessThan(directions.lastIndexOf("a:sendrecv"))
  expect(directions.indexOf("b:recvonly")).toBeLessThan(directions.lastIndexOf("b:sendrecv"))
  // Media followed: the caller streamed only while held and after the resume; the callee echoed it all.
  // Held, the callee (recvonly) was not forwarded — its echoes dropped; resumed, they reached the relay
  // as packets again.
  const session = await releasedFor(caller.pid)
  expect(session.packetsA).toBeGreaterThanOrEqual(50)
  expect(session.droppedB).toBeGreaterThanOrEqual(20)
  expect(session.packetsB).toBeGreaterThanOrEqual(20)
})
