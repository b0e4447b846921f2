/**
 * Digest authentication of one request, for the registrar (401, RFC 3261 §22.2) and identification
 * (407, §22.3): challenge, verify against the stored HA1, refuse a replayed nonce count across
 * instances (KV), and count failures per source and per user (brute force: 403 for a cool-down).
 */
import { randomBytes } from "node:crypto"
import type { BusError } from "@b2bua/bus"
import { Authorization, type DigestCredentials } from "@b2bua/sip"
import { Clock, Effect } from "effect"
import type { BruteForcePolicy, OfferedAlgorithm, StoredCredential } from "./Config.js"
import { challengeValues, verifyCredentials } from "./DigestAuth.js"
import { FailureLimiter } from "./FailureLimiter.js"
import type { CredentialStore, NonceCounts } from "./Stores.js"

export interface AuthRequest {
  readonly method: string
  /** The Authorization / Proxy-Authorization value, when present. */
  readonly header: string | undefined
  readonly realm: string
  readonly algorithms: ReadonlyArray<OfferedAlgorithm>
  /** The source address (brute-force accounting). */
  readonly source: string
  readonly body?: Uint8Array | undefined
  /** The Request-URI the credentials must name. */
  readonly requestUri?: string | undefined
}

export type AuthOutcome =
  | { readonly _tag: "Authenticated"; readonly credential: StoredCredential }
  /** Answer 401/407 with one challenge header per value. */
  | { readonly _tag: "Challenge"; readonly headers: ReadonlyArray<string>; readonly reason: string }
  /** Answer 403: the source or the user is in its cool-down. */
  | { readonly _tag: "Blocked"; readonly reason: string }
  /** Answer 400: the credentials header does not parse. */
  | { readonly _tag: "Malformed"; readonly reason: string }

export interface Authenticator {
  readonly authenticate: (request: AuthRequest) => Effect.Effect<AuthOutcome, BusError>
  /** Whether a source is in its cool-down (checked before anything else is done for it). */
  readonly sourceBlocked: (source: string) => Effect.Effect<boolean>
  readonly limiter: FailureLimiter
}

export const makeAuthenticator = (deps: {
  readonly nonceKey: Uint8Array
  readonly nonceLifetimeMs: number
  readonly bruteForce: BruteForcePolicy
  readonly credentials: CredentialStore
  readonly counts: NonceCounts
  /** Tells the other instances about a block that starts here (they refuse the key too). */
  readonly announceBlock: (key: string, until: number) => Effect.Effect<void>
}): Authenticator => {
  const limiter = new FailureLimiter(deps.bruteForce)
  const sourceKey = (s: string) => `s:${s}`
  const userKey = (realm: string, user: string) => `u:${realm}:${user}`

  const challenge = (request: AuthRequest, reason: string, stale = false) =>
    Clock.currentTimeMillis.pipe(
      Effect.map(
        (now): AuthOutcome => ({
          _tag: "Challenge",
          reason,
          headers: challengeValues({
            realm: request.realm,
            algorithms: request.algorithms,
            nonceKey: deps.nonceKey,
            stale,
            now,
            random: randomBytes(9),
          }),
        }),
      ),
    )

  /** Counts a failure for the source and the user; a block that starts now answers 403 at once. */
  const failed = (request: AuthRequest, username: string | undefined, reason: string) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const keys = [
        sourceKey(request.source),
        ...(username === undefined ? [] : [userKey(request.realm, username)]),
      ]
      const blocked = keys.filter((key) => limiter.fail(key, now))
      for (const key of blocked) yield* deps.announceBlock(key, limiter.blockedUntil(key))
      if (blocked.length > 0) {
        yield* Effect.logWarning("authentication failures past the threshold: cool-down").pipe(
          Effect.annotateLogs({ source: request.source, user: username ?? "", reason }),
        )
        return { _tag: "Blocked", reason: "Too many authentication failures" } satisfies AuthOutcome
      }
      return yield* challenge(request, reason)
    })

  const authenticate = (request: AuthRequest): Effect.Effect<AuthOutcome, BusError> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (limiter.blocked(sourceKey(request.source), now))
        return { _tag: "Blocked", reason: "Too many authentication failures" }
      if (request.header === undefined) return yield* challenge(request, "no credentials")
      let credentials: DigestCredentials
      try {
        credentials = Authorization.parse(request.header)
      } catch (e) {
        yield* failed(request, undefined, "malformed credentials")
        return { _tag: "Malformed", reason: e instanceof Error ? e.message : "Bad credentials" }
      }
      if (limiter.blocked(userKey(request.realm, credentials.username), now))
        return { _tag: "Blocked", reason: "Too many authentication failures" }
      const stored = yield* deps.credentials.find(request.realm, credentials.username)
      const verdict = verifyCredentials(credentials, (algorithm) => stored?.ha1[algorithm], {
        method: request.method,
        nonceKey: deps.nonceKey,
        nonceLifetimeMs: deps.nonceLifetimeMs,
        now,
        realm: request.realm,
        body: request.body,
        requestUri: request.requestUri,
      })
      switch (verdict._tag) {
        case "Verified": {
          // RFC 7616 §3.4.6 / §5.12: a nonce count already seen (here or on another instance) is a replay.
          const fresh = yield* deps.counts.accept(verdict.nonce, verdict.nc, verdict.issuedAt)
          if (!fresh || stored === undefined)
            return yield* failed(request, verdict.username, "replayed nonce count")
          limiter.succeed(sourceKey(request.source))
          limiter.succeed(userKey(request.realm, verdict.username))
          return { _tag: "Authenticated", credential: stored }
        }
        case "Stale":
          return yield* challenge(request, "stale nonce", true)
        case "Rejected":
          return yield* failed(request, verdict.username, verdict.reason)
        case "Unusable":
          // Credentials for another realm or an old key are answered with a fresh challenge, not counted.
          return yield* challenge(request, verdict.reason)
      }
    })

  return {
    authenticate,
    sourceBlocked: (source) =>
      Clock.currentTimeMillis.pipe(Effect.map((now) => limiter.blocked(sourceKey(source), now))),
    limiter,
  }
}
