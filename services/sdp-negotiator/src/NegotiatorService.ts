/**
 * The negotiator on the bus: requests on `sdpSubjects.negotiate()` in queue group "sdp" (any instance
 * takes any request: the call's state travels with it), answered with the reply of `negotiate`. A request
 * that does not decode is answered 503 naming the field, and logged: it is call control's bug, not the
 * caller's.
 */
import { Bus } from "@b2bua/bus"
import {
  decodeSdpNegotiateRequest,
  encodeSdpNegotiateReply,
  SdpNegotiationContractError,
  sdpQueueGroup,
  sdpSubjects,
} from "@b2bua/contracts"
import { Effect, type Scope } from "effect"
import type { NegotiatorConfig } from "./Config.js"
import { negotiate } from "./Negotiator.js"
import type { RelayClient } from "./RelayClient.js"
import type { RelayDirectory } from "./RelayDirectory.js"

export const runNegotiator = (
  config: NegotiatorConfig,
): Effect.Effect<void, never, Bus | RelayClient | RelayDirectory | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    // Handlers run outside this fiber: they get the relay services explicitly.
    const services = yield* Effect.context<RelayClient | RelayDirectory>()
    yield* bus
      .subscribe(
        sdpSubjects.negotiate(),
        (msg) =>
          Effect.gen(function* () {
            const request = decodeSdpNegotiateRequest(msg.data)
            if (request instanceof SdpNegotiationContractError) {
              yield* Effect.logError("bad negotiation request", { reason: request.message })
              yield* msg.respond(
                encodeSdpNegotiateReply({ v: 1, refuse: { status: 503, reason: request.message } }),
              )
              return
            }
            const reply = yield* negotiate(config, request).pipe(Effect.provideContext(services))
            if ("refuse" in reply) {
              yield* Effect.logInfo("negotiation refused", {
                callId: request.callId,
                kind: request.kind,
                leg: request.leg,
                status: reply.refuse.status,
                reason: reply.refuse.reason,
              })
            }
            yield* msg.respond(encodeSdpNegotiateReply(reply))
          }).pipe(
            Effect.catchCause((cause) => Effect.logError("negotiation failed", { cause: String(cause) })),
          ),
        { queue: sdpQueueGroup, concurrency: config.concurrency },
      )
      .pipe(Effect.orDie)
    yield* Effect.logInfo("sdp-negotiator ready", { subject: sdpSubjects.negotiate(), queue: sdpQueueGroup })
  })
