/**
 * Bearer-token authentication of every gRPC call (RFC 6750 §2.1: `authorization: Bearer <token>`), as a
 * grpc-js server interceptor so no handler can forget it. Health checking stays open: load balancers and
 * kubelets probe it without credentials. The token comparison takes the same time whatever the input.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import {
  Metadata,
  ResponderBuilder,
  ServerInterceptingCall,
  type ServerInterceptor,
  ServerListenerBuilder,
  status,
} from "@grpc/grpc-js"

export type BearerCheck = "ok" | "missing" | "malformed" | "wrong"

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest()

/** Pure: what an `authorization` header value says about `token`. */
export const checkBearer = (header: string | undefined, token: string): BearerCheck => {
  if (header === undefined || header === "") return "missing"
  const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header)
  if (m === null) return "malformed"
  return timingSafeEqual(digest(m[1]!), digest(token)) ? "ok" : "wrong"
}

const DETAILS: Record<Exclude<BearerCheck, "ok">, string> = {
  missing: "missing bearer token (metadata `authorization: Bearer <token>`)",
  malformed: "malformed authorization metadata: expected `Bearer <token>`",
  wrong: "invalid bearer token",
}

/** Paths served without a token (prefixes of `/package.Service/Method`). */
export const OPEN_PATHS: ReadonlyArray<string> = ["/grpc.health.v1.Health/"]

export const bearerAuthInterceptor =
  (token: string, openPaths: ReadonlyArray<string> = OPEN_PATHS): ServerInterceptor =>
  (method, call) =>
    new ServerInterceptingCall(
      call,
      new ResponderBuilder()
        .withStart((next) =>
          next(
            new ServerListenerBuilder()
              .withOnReceiveMetadata((metadata, proceed) => {
                if (openPaths.some((p) => method.path.startsWith(p))) return proceed(metadata)
                const value = metadata.get("authorization")[0]
                const verdict = checkBearer(
                  typeof value === "string" ? value : value?.toString("utf8"),
                  token,
                )
                if (verdict === "ok") return proceed(metadata)
                call.sendStatus({
                  code: status.UNAUTHENTICATED,
                  details: DETAILS[verdict],
                  metadata: new Metadata(),
                })
              })
              .build(),
          ),
        )
        .build(),
    )
