/**
 * Who a new INVITE comes from, asked of the auth service (`b2b.v1.auth.identify`, request/reply): a
 * trunk (source address, digest when the trunk requires it), a user authenticated by digest, a challenge
 * (407 + Proxy-Authenticate), a refusal (403) or a scanner to drop silently. A slow or absent auth
 * service is answered 503 at once: a transaction never waits on it (issue 4).
 */
import type { Bus } from "@b2bua/bus"
import { authSubjects, decodeIdentifyReply, encodeAuthPayload } from "@b2bua/contracts"
import type { SipRequest } from "@b2bua/sip"
import { Effect } from "effect"

export type Identity =
  | { readonly _tag: "Trunk"; readonly trunk: string }
  | { readonly _tag: "User"; readonly aor: string }
  | {
      readonly _tag: "Answer"
      readonly status: number
      readonly reason: string
      readonly headers: ReadonlyArray<readonly [string, string]>
    }
  | { readonly _tag: "Drop" }

const IDENTIFY_TIMEOUT_MS = 1000

export const identify = (
  bus: Bus["Service"],
  request: SipRequest,
  source: { readonly host: string; readonly port: number },
): Effect.Effect<Identity> => {
  const authorization = request.headerValues("Proxy-Authorization")[0]
  const userAgent = request.headerValues("User-Agent")[0]
  return bus
    .request(
      authSubjects.identify(),
      encodeAuthPayload({
        v: 1,
        source,
        method: request.method,
        from: request.headerValues("From")[0] ?? "",
        requestUri: request.uri,
        ...(authorization === undefined ? {} : { authorization }),
        ...(userAgent === undefined ? {} : { userAgent }),
      }),
      { timeoutMs: IDENTIFY_TIMEOUT_MS },
    )
    .pipe(
      Effect.map((reply): Identity => {
        const decoded = decodeIdentifyReply(reply.data)
        if (typeof decoded === "string") return unavailable
        if ("trunk" in decoded) return { _tag: "Trunk", trunk: decoded.trunk }
        if ("user" in decoded) return { _tag: "User", aor: decoded.user }
        if ("challenge" in decoded) {
          const values = decoded.challenge.headers ?? [decoded.challenge.header]
          return {
            _tag: "Answer",
            status: 407,
            reason: "Proxy Authentication Required",
            headers: values.map((v) => ["Proxy-Authenticate", v] as const),
          }
        }
        if ("refuse" in decoded)
          return { _tag: "Answer", status: 403, reason: `Forbidden (${decoded.refuse.reason})`, headers: [] }
        return { _tag: "Drop" }
      }),
      Effect.catch(() => Effect.succeed(unavailable)),
    )
}

const unavailable: Identity = {
  _tag: "Answer",
  status: 503,
  reason: "Service Unavailable (authentication service not responding)",
  headers: [["Retry-After", "5"]],
}
