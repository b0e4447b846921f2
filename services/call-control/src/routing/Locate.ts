/**
 * Calls to a registered address-of-record (RFC 3261 §10, §16.5 target set): the auth service's
 * registrar says where its contacts are (`b2b.v1.auth.locate`); call control tries them in q order
 * (sequential forking), each sent to the address the REGISTER really came from (RFC 3581 received/rport)
 * with its Contact as the Request-URI.
 */
import type { Bus } from "@b2bua/bus"
import { authSubjects, decodeLocateReply, encodeAuthPayload } from "@b2bua/contracts"
import type { SipRequest } from "@b2bua/sip"
import { Effect } from "effect"
import type { BTarget } from "../CallState.js"
import { DEFAULT_NO_ANSWER_MS } from "./Admission.js"

const LOCATE_TIMEOUT_MS = 1000

/** The AOR a Request-URI names: `sip:user@domain` without port or parameters. */
export const aorOf = (uri: string): string | undefined => {
  const m = /^sips?:([^@;:>]+)@([^;:>?]+)/i.exec(uri)
  return m === null ? undefined : `sip:${m[1]}@${m[2]!.toLowerCase()}`
}

/** The registered contacts of the Request-URI's AOR as targets; empty when none (or no registrar). */
export const locateTargets = (
  bus: Bus["Service"],
  request: SipRequest,
): Effect.Effect<ReadonlyArray<BTarget>> => {
  const aor = aorOf(request.uri)
  if (aor === undefined) return Effect.succeed([])
  return bus
    .request(authSubjects.locate(), encodeAuthPayload({ v: 1, aor }), { timeoutMs: LOCATE_TIMEOUT_MS })
    .pipe(
      Effect.map((reply) => {
        const decoded = decodeLocateReply(reply.data)
        if (typeof decoded === "string") return []
        const now = Date.now()
        return decoded.contacts
          .filter((c) => c.expiresAt > now && c.source.transport !== "tls")
          .map(
            (c): BTarget => ({
              trunk: "registered",
              host: c.source.host,
              port: c.source.port,
              transport: c.source.transport === "tcp" ? "tcp" : "udp",
              called: aor.slice(4, aor.indexOf("@")),
              caller: /^(?:sips?|tel):([^@;:]+)/i.exec(request.from.uri)?.[1] ?? "anonymous",
              failoverCodes: [408, 480, 500, 503],
              noAnswerMs: DEFAULT_NO_ANSWER_MS,
              drop: [],
              contactUri: c.uri,
            }),
          )
      }),
      Effect.catch(() => Effect.succeed([])),
    )
}
