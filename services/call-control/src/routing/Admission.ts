/**
 * Routing one new INVITE: the trunk it comes from, the route its number takes, the trunk limits, and the
 * resolved, healthy targets failover will walk. A refusal carries the SIP status and a reason phrase that
 * says why (403 unknown source, 404 no route, 503 limits or no gateway, with Retry-After).
 */
import type { IdentityPolicy, Trunk } from "@b2bua/contracts"
import type { SipRequest } from "@b2bua/sip"
import { Effect } from "effect"
import { type BTarget, userPartOf } from "../Call.js"
import { resolveGateway } from "./Resolve.js"
import type { RoutingTable } from "./RoutingTable.js"
import type { TrunkLimits } from "./TrunkLimits.js"

export type RouteOutcome =
  | {
      readonly _tag: "Routed"
      readonly inbound: string
      readonly route: string
      readonly targets: readonly [BTarget, ...ReadonlyArray<BTarget>]
    }
  | {
      readonly _tag: "Refused"
      readonly status: number
      readonly reason: string
      readonly headers: ReadonlyArray<readonly [string, string]>
    }

/** RFC 3261 §16.7 step 5 spirit for a B2BUA: a timeout or a server failure is worth another gateway. */
export const DEFAULT_FAILOVER_CODES: ReadonlyArray<number> = [408, 500, 502, 503, 504]
/** With another gateway to try, a silent one is given up after this (Timer B, 32 s, for the last one). */
export const DEFAULT_NO_ANSWER_MS = 8000
const RETRY_AFTER_S = "5"

const dropped = (...policies: ReadonlyArray<IdentityPolicy | undefined>): ReadonlyArray<string> => {
  const drop = new Set<string>()
  for (const p of policies) {
    if (p?.assertedIdentity === "drop") drop.add("p-asserted-identity")
    if (p?.privacy === "drop") drop.add("privacy")
    if (p?.diversion === "drop") drop.add("diversion")
    if (p?.historyInfo === "drop") drop.add("history-info")
  }
  return [...drop]
}

const unavailable = (reason: string): RouteOutcome => ({
  _tag: "Refused",
  status: 503,
  reason: `Service Unavailable (${reason})`,
  headers: [["Retry-After", RETRY_AFTER_S]],
})

export const routeCall = (options: {
  readonly request: SipRequest
  readonly sourceHost: string
  readonly table: RoutingTable
  readonly limits: TrunkLimits
  readonly isUp: (hop: { readonly host: string; readonly port: number }) => boolean
  /** The trunk the auth service identified; absent, the source address decides (routing table). */
  readonly inbound?: Trunk | undefined
}): Effect.Effect<RouteOutcome> =>
  Effect.gen(function* () {
    const { request, table, limits } = options
    const now = Date.now()
    const decision = table.decide({
      sourceHost: options.sourceHost,
      inbound: options.inbound,
      called: userPartOf(request.uri),
      caller: userPartOf(request.from.uri),
      usable: (trunk: Trunk) => limits.check(trunk, now).ok,
      random: Math.random,
    })
    if (decision._tag === "Refused") {
      return decision.status === 503
        ? unavailable(decision.reason.replace(/^Service Unavailable \((.*)\)$/, "$1"))
        : { _tag: "Refused", status: decision.status, reason: decision.reason, headers: [] }
    }
    const inboundAdmission = limits.check(decision.inbound, now)
    if (!inboundAdmission.ok) return unavailable(inboundAdmission.reason)
    const targets: Array<BTarget> = []
    for (const a of decision.attempts) {
      const hops = yield* resolveGateway(a.gateway)
      for (const hop of hops) {
        if (!options.isUp(hop)) continue
        targets.push({
          trunk: a.trunk.name,
          host: hop.host,
          port: hop.port,
          transport: hop.transport,
          called: a.called,
          caller: a.caller,
          failoverCodes: a.trunk.failover?.codes ?? DEFAULT_FAILOVER_CODES,
          noAnswerMs: a.trunk.failover?.timeoutMs ?? DEFAULT_NO_ANSWER_MS,
          drop: dropped(decision.inbound.identity, a.trunk.identity),
          redirects: a.trunk.redirects,
          refer: a.trunk.refer,
        })
      }
    }
    const [first, ...rest] = targets
    if (first === undefined) return unavailable(`no reachable gateway on route ${decision.route.name}`)
    return {
      _tag: "Routed",
      inbound: decision.inbound.name,
      route: decision.route.name,
      targets: [first, ...rest],
    }
  })
