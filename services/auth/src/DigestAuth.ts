/**
 * Digest challenges and the check of the credentials that answer them (RFC 3261 §22, RFC 7616, RFC 8760).
 * Pure: the stored HA1, the nonce key and the time are values passed in. What it does not do: the
 * nonce-count replay check across instances (NonceCounts, in KV) and failure counting (FailureLimiter).
 */
import { createHmac } from "node:crypto"
import type { DigestCredentials } from "@b2bua/sip"
import { sameContactUri } from "./Bindings.js"
import { type DigestAlgorithm, parseAlgorithm, verifyResponse } from "./Digest.js"
import { checkNonce, makeNonce } from "./Nonce.js"

export interface ChallengeSettings {
  readonly realm: string
  /** Most preferred first (RFC 8760 §2.4: one challenge per algorithm, in order of preference). */
  readonly algorithms: ReadonlyArray<"SHA-256" | "MD5">
  readonly nonceKey: Uint8Array
  readonly stale: boolean
  readonly now: number
  readonly random: Uint8Array
}

/**
 * RFC 7616 §3.3: opaque is returned unchanged by the client. Derived from the key and realm so every
 * instance issues and accepts the same value without state.
 */
export const opaqueFor = (key: Uint8Array, realm: string): string =>
  createHmac("sha256", key).update(`opaque\u0000${realm}`).digest("base64url").slice(0, 22)

const quoted = (s: string): string => `"${s.replace(/["\\]/g, (m) => `\\${m}`)}"`

/**
 * One WWW-Authenticate / Proxy-Authenticate value per algorithm, sharing one nonce (RFC 7616 §3.7 lets
 * a server send several challenges; the nonce is bound to the realm, not to the algorithm).
 */
export const challengeValues = (s: ChallengeSettings): ReadonlyArray<string> => {
  const nonce = makeNonce(s.nonceKey, s.realm, s.now, s.random)
  const opaque = opaqueFor(s.nonceKey, s.realm)
  return s.algorithms.map(
    (algorithm) =>
      `Digest realm=${quoted(s.realm)}, nonce=${quoted(nonce)}, opaque=${quoted(opaque)}, ` +
      `algorithm=${algorithm}, qop="auth"${s.stale ? ", stale=true" : ""}`,
  )
}

export interface VerifyContext {
  readonly method: string
  readonly nonceKey: Uint8Array
  readonly nonceLifetimeMs: number
  readonly now: number
  /** The realm this request must be authenticated in. */
  readonly realm: string
  /** The Request-URI: the credentials' `uri` must name it (RFC 7616 §3.4.6), so they fit no other request. */
  readonly requestUri?: string | undefined
  readonly body?: Uint8Array | undefined
}

export type Verification =
  /** The response is right and the nonce is fresh; `nc` still needs the replay check. */
  | {
      readonly _tag: "Verified"
      readonly username: string
      readonly nonce: string
      readonly issuedAt: number
      /** The nonce count as a number; 1 for RFC 2069 credentials (no qop: one use per nonce). */
      readonly nc: number
    }
  /** RFC 7616 §3.4: a right response with an expired nonce earns a new challenge with stale=true. */
  | { readonly _tag: "Stale"; readonly username: string }
  /** Wrong password (or a forged nonce): counts as a failure. */
  | { readonly _tag: "Rejected"; readonly username: string; readonly reason: string }
  /** Not something to judge: another realm, a nonce not ours, an unknown algorithm. Challenge again. */
  | { readonly _tag: "Unusable"; readonly reason: string }

export const verifyCredentials = (
  credentials: DigestCredentials,
  ha1: (algorithm: "MD5" | "SHA-256") => string | undefined,
  ctx: VerifyContext,
): Verification => {
  if (credentials.scheme.toLowerCase() !== "digest") return { _tag: "Unusable", reason: "not Digest" }
  if (credentials.realm !== ctx.realm) return { _tag: "Unusable", reason: `realm ${credentials.realm}` }
  const algorithm: DigestAlgorithm | undefined = parseAlgorithm(credentials.algorithm)
  if (algorithm === undefined) return { _tag: "Unusable", reason: `algorithm ${credentials.algorithm}` }
  if (credentials.qop !== undefined && credentials.qop !== "auth" && credentials.qop !== "auth-int")
    return { _tag: "Unusable", reason: `qop ${credentials.qop}` }
  // RFC 7616 §3.3: opaque must come back unchanged.
  if (credentials.opaque !== undefined && credentials.opaque !== opaqueFor(ctx.nonceKey, ctx.realm))
    return { _tag: "Unusable", reason: "opaque" }
  if (
    ctx.requestUri !== undefined &&
    credentials.uri !== ctx.requestUri &&
    !sameContactUri(credentials.uri, ctx.requestUri)
  )
    return { _tag: "Unusable", reason: "uri does not match the Request-URI" }
  const nonce = checkNonce(ctx.nonceKey, ctx.realm, credentials.nonce, ctx.now, ctx.nonceLifetimeMs)
  if (nonce._tag === "Invalid") return { _tag: "Unusable", reason: "nonce not issued here" }
  const stored = ha1(algorithm.startsWith("MD5") ? "MD5" : "SHA-256")
  if (stored === undefined)
    return { _tag: "Rejected", username: credentials.username, reason: "unknown user or algorithm" }
  const right = verifyResponse(
    {
      algorithm,
      ha1: stored,
      method: ctx.method,
      uri: credentials.uri,
      nonce: credentials.nonce,
      cnonce: credentials.cnonce,
      nc: credentials.nc,
      qop: credentials.qop === "auth" || credentials.qop === "auth-int" ? credentials.qop : undefined,
      body: ctx.body,
    },
    credentials.response,
  )
  if (!right) return { _tag: "Rejected", username: credentials.username, reason: "wrong response" }
  if (nonce._tag === "Stale") return { _tag: "Stale", username: credentials.username }
  return {
    _tag: "Verified",
    username: credentials.username,
    nonce: credentials.nonce,
    issuedAt: nonce.issuedAt,
    nc: credentials.nc === undefined ? 1 : Number.parseInt(credentials.nc, 16),
  }
}
