/**
 * The relay's control plane as the negotiator uses it: create, update and delete sessions over NATS
 * request/reply (contract: @b2bua/contracts Relay.ts). Every failure is one tagged `RelayFailure` that
 * says whether the relay was unreachable (no responders, timeout) or refused (its error code).
 */
import { Bus } from "@b2bua/bus"
import {
  type CreateSession,
  type DeleteSession,
  decodeCreateReply,
  decodeDeleteReply,
  decodeUpdateReply,
  encodeRelayPayload,
  isInstanceId,
  type RelayContractError,
  type RelayErrorCode,
  type RelayReply,
  relaySubjects,
  type SessionCreated,
  type SessionDeleted,
  type SessionUpdated,
  type UpdateSession,
} from "@b2bua/contracts"
import { Context, Data, Effect, Layer } from "effect"

export class RelayFailure extends Data.TaggedError("RelayFailure")<{
  readonly relayId: string
  readonly operation: "create" | "update" | "delete"
  /** `unavailable`: no responders, timeout or bus error; `contract`: a reply that does not decode. */
  readonly code: RelayErrorCode | "unavailable" | "contract"
  readonly reason: string
}> {
  override get message(): string {
    return `relay ${this.relayId} ${this.operation}: ${this.code}: ${this.reason}`
  }
}

export interface RelayClientShape {
  readonly create: (relay: string, request: CreateSession) => Effect.Effect<SessionCreated, RelayFailure>
  readonly update: (relay: string, request: UpdateSession) => Effect.Effect<SessionUpdated, RelayFailure>
  /** The session's final statistics come back with its deletion (RFC 3550 receiver figures per leg). */
  readonly delete: (relay: string, request: DeleteSession) => Effect.Effect<SessionDeleted, RelayFailure>
}

export class RelayClient extends Context.Service<RelayClient, RelayClientShape>()(
  "@b2bua/sdp-negotiator/RelayClient",
) {}

export const relayClientLayer = (options: {
  readonly timeoutMs: number
}): Layer.Layer<RelayClient, never, Bus> =>
  Layer.effect(
    RelayClient,
    Effect.gen(function* () {
      const bus = yield* Bus
      const call = <T>(
        relayId: string,
        operation: "create" | "update" | "delete",
        payload: Uint8Array,
        decode: (data: Uint8Array) => RelayReply<T> | RelayContractError,
      ): Effect.Effect<T, RelayFailure> => {
        // The relay id comes from the call's stored state; only a valid token may become a subject.
        if (!isInstanceId(relayId)) {
          return Effect.fail(
            new RelayFailure({ relayId, operation, code: "contract", reason: "not a relay id" }),
          )
        }
        return bus.request(relaySubjects[operation](relayId), payload, { timeoutMs: options.timeoutMs }).pipe(
          Effect.mapError(
            (e) => new RelayFailure({ relayId, operation, code: "unavailable", reason: e.message }),
          ),
          Effect.flatMap((msg) => {
            const reply = decode(msg.data)
            if (!("v" in reply)) {
              return Effect.fail(
                new RelayFailure({ relayId, operation, code: "contract", reason: reply.message }),
              )
            }
            if ("error" in reply) {
              return Effect.fail(
                new RelayFailure({ relayId, operation, code: reply.error.code, reason: reply.error.reason }),
              )
            }
            return Effect.succeed(reply.ok)
          }),
        )
      }
      return {
        create: (relay, request) =>
          call(relay, "create", encodeRelayPayload(request), decodeCreateReply).pipe(
            Effect.withSpan("RelayClient.create"),
          ),
        update: (relay, request) =>
          call(relay, "update", encodeRelayPayload(request), decodeUpdateReply).pipe(
            Effect.withSpan("RelayClient.update"),
          ),
        delete: (relay, request) =>
          call(relay, "delete", encodeRelayPayload(request), decodeDeleteReply).pipe(
            Effect.withSpan("RelayClient.delete"),
          ),
      }
    }),
  )
