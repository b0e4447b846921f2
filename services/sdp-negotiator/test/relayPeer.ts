/**
 * A test peer that speaks the relay control contract (@b2bua/contracts Relay.ts) over a real NATS
 * connection: it announces itself, hands out local ports and records every request, so the tests can see
 * what the negotiator asked of the relay. It forwards no media (the real relay's own tests cover that);
 * it is never used outside tests.
 */
import type { Bus } from "@b2bua/bus"
import {
  type CreateSession,
  decodeCreateSession,
  decodeDeleteSession,
  decodeUpdateSession,
  encodeRelayPayload,
  InstanceId,
  type LocalLeg,
  type RelayErrorCode,
  relaySubjects,
  type UpdateSession,
} from "@b2bua/contracts"
import { Effect, type Scope } from "effect"

export interface PeerSession {
  readonly create: CreateSession
  readonly updates: Array<UpdateSession>
  readonly legs: { readonly a: LocalLeg; readonly b: LocalLeg }
}

export interface RelayPeer {
  readonly id: string
  readonly sessions: Map<string, PeerSession>
  readonly deleted: Array<string>
  /** Makes the next creates fail with this code (until set to undefined). */
  refuseWith: RelayErrorCode | undefined
  readonly announce: (load: number) => Effect.Effect<void>
}

export const startRelayPeer = (
  bus: typeof Bus.Service,
  options: { readonly id: string; readonly address: string; readonly firstPort: number },
): Effect.Effect<RelayPeer, never, Scope.Scope> =>
  Effect.gen(function* () {
    const relayId = InstanceId(options.id)
    let nextPort = options.firstPort
    const leg = (): LocalLeg => {
      const rtpPort = nextPort
      nextPort += 2
      return { host: options.address, rtpPort, rtcpPort: rtpPort + 1 }
    }
    const peer: RelayPeer = {
      id: options.id,
      sessions: new Map(),
      deleted: [],
      refuseWith: undefined,
      announce: (load) =>
        bus
          .publish(
            relaySubjects.announce(),
            encodeRelayPayload({
              v: 1,
              relayId,
              address: options.address,
              sessions: peer.sessions.size,
              capacity: 1000,
              load,
            }),
          )
          .pipe(Effect.orDie),
    }
    const reply = (value: Parameters<typeof encodeRelayPayload>[0]) => encodeRelayPayload(value)
    const bad = (reason: string) => reply({ v: 1, error: { code: "bad-request", reason } })
    yield* bus
      .subscribe(relaySubjects.create(relayId), (msg) => {
        const req = decodeCreateSession(msg.data)
        if (!("v" in req)) return msg.respond(bad(req.message)).pipe(Effect.orDie)
        if (peer.refuseWith !== undefined) {
          return msg
            .respond(reply({ v: 1, error: { code: peer.refuseWith, reason: "refused by the test" } }))
            .pipe(Effect.orDie)
        }
        const legs = { a: leg(), b: leg() }
        peer.sessions.set(req.sessionId, { create: req, updates: [], legs })
        return msg.respond(reply({ v: 1, ok: { sessionId: req.sessionId, legs } })).pipe(Effect.orDie)
      })
      .pipe(Effect.orDie)
    yield* bus
      .subscribe(relaySubjects.update(relayId), (msg) => {
        const req = decodeUpdateSession(msg.data)
        if (!("v" in req)) return msg.respond(bad(req.message)).pipe(Effect.orDie)
        const s = peer.sessions.get(req.sessionId)
        if (s === undefined) {
          return msg
            .respond(reply({ v: 1, error: { code: "not-found", reason: req.sessionId } }))
            .pipe(Effect.orDie)
        }
        s.updates.push(req)
        return msg.respond(reply({ v: 1, ok: { sessionId: req.sessionId, legs: s.legs } })).pipe(Effect.orDie)
      })
      .pipe(Effect.orDie)
    yield* bus
      .subscribe(relaySubjects.delete(relayId), (msg) => {
        const req = decodeDeleteSession(msg.data)
        if (!("v" in req)) return msg.respond(bad(req.message)).pipe(Effect.orDie)
        if (!peer.sessions.delete(req.sessionId)) {
          return msg
            .respond(reply({ v: 1, error: { code: "not-found", reason: req.sessionId } }))
            .pipe(Effect.orDie)
        }
        peer.deleted.push(req.sessionId)
        const zero = {
          packets: 0,
          bytes: 0,
          lost: 0,
          jitterMs: 0,
          lastPacketAt: null,
          rtcpPackets: 0,
          dropped: 0,
          mos: 4.4,
        }
        return msg
          .respond(reply({ v: 1, ok: { sessionId: req.sessionId, stats: { a: zero, b: zero } } }))
          .pipe(Effect.orDie)
      })
      .pipe(Effect.orDie)
    return peer
  })
