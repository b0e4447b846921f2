/**
 * The negotiator on the bus: requests on `sdpSubjects.negotiate()` in queue group "sdp" (any instance
 * takes any request: the call's state travels with it), answered with the reply of `negotiate`. A request
 * that does not decode is answered 503 naming the field, and logged: it is call control's bug, not the
 * caller's. Each negotiation is counted in `sdp_negotiations_total` by kind and outcome (`ok`, or the
 * refusal's SIP status, `bad_request`).
 */
import { Bus } from "@b2bua/bus"
import {
  decodeSdpNegotiateRequest,
  encodeSdpNegotiateReply,
  SdpNegotiationContractError,
  sdpQueueGroup,
  sdpSubjects,
} from "@b2bua/contracts"
import { Metrics } from "@b2bua/telemetry"
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
    const negotiations = (yield* Metrics).counter("sdp_negotiations_total", {
      description:
        "negotiations answered, by kind (offer, answer, release) and outcome (ok or the refusal's status)",
      labels: ["kind", "outcome"],
    })
    // Handlers run outside this fiber: they get the relay services explicitly.
    const services = yield* Effect.context<RelayClient | RelayDirectory>()
    yield* bus
      .subscribe(
        sdpSubjects.negotiate(),
        (msg) =>
          Effect.gen(function* () {
            const request = decodeSdpNegotiateRequest(msg.data)
            if (request instanceof SdpNegotiationContractError) {
              negotiations.add({ kind: "unknown", outcome: "bad_request" })
              yield* Effect.logError("bad negotiation request", { reason: request.message })
              yield* msg.respond(
                encodeSdpNegotiateReply({ v: 1, refuse: { status: 503, reason: request.message } }),
              )
              return
            }
            const reply = yield* negotiate(config, request).pipe(Effect.provideContext(services))
            // The refusal's status is one the negotiator chose (488, 503 ...): a bounded label.
            negotiations.add({
              kind: request.kind,
              outcome: "refuse" in reply ? String(reply.refuse.status) : "ok",
            })
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
