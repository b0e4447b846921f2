/**
 * Identification for call control (`b2b.v1.auth.identify`): which trunk or user a request comes from.
 * In order: a scanner is dropped; a source in its cool-down is refused (403); a trunk matched by source
 * address is accepted, with digest when the trunk asks for it; otherwise digest credentials identify a
 * user (or a trunk known by its digest user); without them the request is challenged (407) or refused,
 * as `unknownSources` says.
 */

import type { BusError } from "@b2bua/bus"
import type { IdentifyReply, IdentifyRequest, Trunk } from "@b2bua/contracts"
import { Effect } from "effect"
import { aorOfHeader, domainOfUri } from "./Aor.js"
import type { Authenticator, AuthOutcome } from "./Authenticator.js"
import type { AuthServiceConfig, DomainSettings } from "./Config.js"
import { isScanner } from "./Scanners.js"
import type { TrunkMatcher } from "./TrunkMatch.js"

const DEFAULT_DOMAIN: DomainSettings = { name: "", realm: "b2bua", algorithms: ["SHA-256", "MD5"] }

export const makeIdentify = (deps: {
  readonly config: AuthServiceConfig
  readonly trunks: TrunkMatcher
  readonly authenticator: Authenticator
}) => {
  const { config } = deps
  const domainNamed = (name: string | undefined) =>
    name === undefined ? undefined : config.domains.find((d) => d.name === name)

  /** The realm to challenge in: the trunk's, else the caller's domain, else the called domain, else the first. */
  const domainFor = (request: IdentifyRequest, trunk: Trunk | undefined): DomainSettings => {
    if (trunk?.digest !== undefined) {
      const realm = trunk.digest.realm
      return config.domains.find((d) => d.realm === realm) ?? { ...DEFAULT_DOMAIN, realm }
    }
    return (
      domainNamed(aorOfHeader(request.from)?.domain) ??
      domainNamed(domainOfUri(request.requestUri)) ??
      config.domains[0] ??
      DEFAULT_DOMAIN
    )
  }

  const fromOutcome = (outcome: AuthOutcome, trunk: Trunk | undefined): IdentifyReply => {
    switch (outcome._tag) {
      case "Authenticated": {
        const credential = outcome.credential
        if (trunk !== undefined)
          return trunk.digest?.user === credential.username
            ? { v: 1, trunk: trunk.name }
            : { v: 1, refuse: { status: 403, reason: "Credentials do not belong to this trunk" } }
        const byDigest = deps.trunks.byDigestUser(credential.realm, credential.username)
        return byDigest !== undefined ? { v: 1, trunk: byDigest.name } : { v: 1, user: credential.aor }
      }
      case "Challenge":
        return {
          v: 1,
          challenge: { status: 407, header: outcome.headers[0] ?? "", headers: outcome.headers },
        }
      case "Blocked":
        return { v: 1, refuse: { status: 403, reason: outcome.reason } }
      case "Malformed":
        return { v: 1, refuse: { status: 403, reason: "Bad Proxy-Authorization header" } }
    }
  }

  return (request: IdentifyRequest): Effect.Effect<IdentifyReply, BusError> =>
    Effect.gen(function* () {
      if (isScanner(request.userAgent, config.scanners)) return { v: 1, drop: { reason: "scanner" } }
      if (yield* deps.authenticator.sourceBlocked(request.source.host))
        return { v: 1, refuse: { status: 403, reason: "Too many authentication failures" } }
      const trunk = deps.trunks.bySource(request.source.host)
      if (trunk !== undefined && trunk.digest === undefined) return { v: 1, trunk: trunk.name }
      if (trunk === undefined && request.authorization === undefined && config.unknownSources === "refuse")
        return { v: 1, refuse: { status: 403, reason: "Unknown source" } }
      const domain = domainFor(request, trunk)
      // RFC 3261 §22.3: a proxy-style challenge (407 + Proxy-Authenticate) for requests other than REGISTER.
      const outcome = yield* deps.authenticator.authenticate({
        method: request.method,
        header: request.authorization,
        realm: domain.realm,
        algorithms: domain.algorithms,
        source: request.source.host,
        requestUri: request.requestUri,
      })
      return fromOutcome(outcome, trunk)
    })
}
