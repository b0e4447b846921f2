/**
 * The seam between calls and media: every SDP a call relays goes through the SDP negotiator (NATS
 * request/reply, stateless) with the call's media state, which the call keeps in its stored record; the
 * answer's SDP replaces the body (so each leg sees only the relay's addresses). A refusal (no common codec
 * → 488 with a Warning; no relay or no negotiator → 503) goes back to the call as an event. The owner
 * renews the relay sessions' leases and releases them when the call ends. In `passthrough` mode (tests of
 * signalling alone, or a deployment without a relay) bodies cross unchanged.
 */
import { createHash } from "node:crypto"
import type { Bus } from "@b2bua/bus"
import {
  decodeSdpNegotiateReply,
  encodeRelayPayload,
  encodeSdpNegotiateRequest,
  type MediaStateV1,
  type NegotiationPolicyV1,
  relaySubjects,
  SdpNegotiationContractError,
  sdpSubjects,
  sdpWarningHeader,
} from "@b2bua/contracts"
import type { SipRequest, SipResponse } from "@b2bua/sip"
import { Effect } from "effect"
import type { SdpRole } from "./SdpRole.js"

export type MediaMode = "relay" | "passthrough"

export type Prepared =
  | { readonly _tag: "Send"; readonly media: MediaStateV1 }
  | {
      readonly _tag: "Refused"
      readonly status: number
      readonly reason: string
      readonly headers: ReadonlyArray<readonly [string, string]>
    }

const NEGOTIATE_TIMEOUT_MS = 2000
const CACHE_LIMIT = 16

export interface CallMedia {
  readonly callId: string
  readonly owner: string
  media: MediaStateV1
  readonly policy: () => NegotiationPolicyV1
  /** Messages already rewritten (retransmissions are sent as they are), and SDPs already negotiated. */
  readonly rewritten: WeakSet<SipRequest | SipResponse>
  readonly answers: Map<string, string>
}

export const makeMediaSeam = (bus: Bus["Service"], mode: MediaMode) => {
  const negotiate = (call: CallMedia, leg: "a" | "b", kind: "offer" | "answer" | "release", sdp: string) =>
    bus
      .request(
        sdpSubjects.negotiate(),
        encodeSdpNegotiateRequest({
          v: 1,
          callId: call.callId.slice(0, 256),
          owner: call.owner,
          leg,
          kind,
          sdp,
          policy: call.policy(),
          media: call.media,
        }),
        { timeoutMs: NEGOTIATE_TIMEOUT_MS },
      )
      .pipe(Effect.map((reply) => decodeSdpNegotiateReply(reply.data)))

  /** Negotiates the SDP of `message` (received on the other leg) before it is sent on `toLeg`. */
  const prepare = (
    call: CallMedia,
    message: SipRequest | SipResponse,
    toLeg: "A" | "B",
    role: SdpRole,
  ): Effect.Effect<Prepared> => {
    if (mode === "passthrough" || call.rewritten.has(message))
      return Effect.succeed({ _tag: "Send", media: call.media })
    const leg = toLeg === "A" ? "b" : "a"
    const sdp = message.body.toString("utf8")
    const key = `${leg}|${role}|${createHash("sha1").update(sdp).digest("hex")}`
    const cached = call.answers.get(key)
    if (cached !== undefined) {
      message.setBody(Buffer.from(cached), "application/sdp")
      call.rewritten.add(message)
      return Effect.succeed({ _tag: "Send", media: call.media })
    }
    return negotiate(call, leg, role, sdp).pipe(
      Effect.tap((reply) =>
        Effect.logDebug("sdp negotiated").pipe(
          Effect.annotateLogs({
            callId: call.callId,
            leg,
            role,
            outcome:
              reply instanceof SdpNegotiationContractError
                ? reply.message
                : "refuse" in reply
                  ? `refused ${reply.refuse.status}`
                  : "ok",
          }),
        ),
      ),
      Effect.map((reply): Prepared => {
        if (reply instanceof SdpNegotiationContractError)
          return {
            _tag: "Refused",
            status: 503,
            reason: "Service Unavailable (media negotiation failed)",
            headers: [],
          }
        if ("refuse" in reply) {
          const warning = reply.refuse.warning
          return {
            _tag: "Refused",
            status: reply.refuse.status,
            reason:
              reply.refuse.status === 488
                ? `Not Acceptable Here (${reply.refuse.reason})`
                : `Service Unavailable (${reply.refuse.reason})`,
            headers: warning === undefined ? [] : [["Warning", sdpWarningHeader(warning, "b2bua")]],
          }
        }
        call.media = reply.ok.media
        if (call.answers.size >= CACHE_LIMIT) call.answers.clear()
        call.answers.set(key, reply.ok.sdp)
        message.setBody(Buffer.from(reply.ok.sdp), "application/sdp")
        call.rewritten.add(message)
        return { _tag: "Send", media: reply.ok.media }
      }),
      Effect.catch(() =>
        Effect.succeed<Prepared>({
          _tag: "Refused",
          status: 503,
          reason: "Service Unavailable (media negotiator not responding)",
          headers: [["Retry-After", "5"]],
        }),
      ),
    )
  }

  /** The call ended: the negotiator deletes its relay sessions (their leases would free them anyway). */
  const release = (call: CallMedia): Effect.Effect<void> =>
    mode === "passthrough" || call.media.relay === undefined
      ? Effect.void
      : negotiate(call, "a", "release", "").pipe(Effect.ignore)

  /** Renews the leases of every stream of the call on its relay. */
  const renew = (call: CallMedia): Effect.Effect<void> => {
    const relay = call.media.relay
    if (mode === "passthrough" || relay === undefined) return Effect.void
    return Effect.forEach(
      relay.streams,
      (stream) =>
        bus
          .request(
            relaySubjects.renew(relay.relayId as never),
            encodeRelayPayload({ v: 1, sessionId: stream.sessionId, leaseMs: relay.leaseMs }),
            {
              timeoutMs: 1000,
            },
          )
          .pipe(Effect.ignore),
      { concurrency: 4, discard: true },
    )
  }

  return { mode, prepare, release, renew }
}

export type MediaSeam = ReturnType<typeof makeMediaSeam>
