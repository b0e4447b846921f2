/**
 * The routing configuration compiled for lookups: which trunk a request comes from (source CIDRs), which
 * route its called number takes (longest prefix, then priority), and the ordered list of attempts (each
 * trunk of the route, each of its gateways by priority and weight) that failover walks. Pure: health and
 * limits are predicates the caller passes in.
 */
import { BlockList, isIPv4, isIPv6 } from "node:net"
import type { Gateway, Route, RoutingConfig, Trunk } from "@b2bua/contracts"
import { orderByPriorityAndWeight } from "./Gateways.js"
import { applyNumberRules } from "./NumberRules.js"

export interface Attempt {
  readonly trunk: Trunk
  readonly gateway: Gateway
  /** The called and calling numbers as this trunk wants them (its outbound rules applied). */
  readonly called: string
  readonly caller: string
}

export type RoutingDecision =
  | {
      readonly _tag: "Routed"
      readonly inbound: Trunk
      readonly route: Route
      readonly attempts: ReadonlyArray<Attempt>
    }
  | { readonly _tag: "Refused"; readonly status: number; readonly reason: string }

export interface RoutingTable {
  readonly config: RoutingConfig
  readonly identify: (sourceHost: string) => Trunk | undefined
  readonly trunk: (name: string) => Trunk | undefined
  readonly decide: (request: {
    readonly sourceHost: string
    /** The trunk the auth service identified (instead of matching the source here). */
    readonly inbound?: Trunk | undefined
    readonly called: string
    readonly caller: string
    readonly usable: (trunk: Trunk, gateway: Gateway) => boolean
    readonly random: () => number
  }) => RoutingDecision
}

/** `::ffff:192.0.2.1` (an IPv4 peer on a dual-stack socket) is matched as 192.0.2.1. */
const plainAddress = (host: string): string => {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host)
  return mapped === null ? host.replace(/^\[|\]$/g, "") : mapped[1]!
}

const blockListOf = (sources: ReadonlyArray<string>): BlockList => {
  const list = new BlockList()
  for (const source of sources) {
    const [address = "", length] = source.split("/")
    const type = isIPv4(address) ? "ipv4" : "ipv6"
    if (!isIPv4(address) && !isIPv6(address)) continue // refused by the schema; never reached
    if (length === undefined) list.addAddress(address, type)
    else list.addSubnet(address, Number(length), type)
  }
  return list
}

export const compileRoutingTable = (config: RoutingConfig): RoutingTable => {
  const sources = config.trunks
    .filter((t) => (t.sources ?? []).length > 0)
    .map((t) => ({ trunk: t, list: blockListOf(t.sources ?? []) }))
  const trunks = new Map(config.trunks.map((t) => [t.name, t] as const))

  const identify = (sourceHost: string): Trunk | undefined => {
    const address = plainAddress(sourceHost)
    const type = isIPv4(address) ? "ipv4" : isIPv6(address) ? "ipv6" : undefined
    if (type === undefined) return undefined
    return sources.find((s) => s.list.check(address, type))?.trunk
  }

  const bestRoute = (inbound: Trunk, called: string): Route | undefined =>
    config.routes
      .filter(
        (r) =>
          called.startsWith(r.prefix) && (r.fromTrunks === undefined || r.fromTrunks.includes(inbound.name)),
      )
      .sort((a, b) => b.prefix.length - a.prefix.length || (a.priority ?? 0) - (b.priority ?? 0))[0]

  return {
    config,
    identify,
    trunk: (name) => trunks.get(name),
    decide: ({ sourceHost, inbound: identified, called, caller, usable, random }) => {
      const inbound = identified ?? identify(sourceHost)
      if (inbound === undefined) return { _tag: "Refused", status: 403, reason: "Forbidden (unknown source)" }
      const normalizedCalled = applyNumberRules(inbound.inboundNumbers, called)
      const normalizedCaller = applyNumberRules(inbound.inboundNumbers, caller)
      const route = bestRoute(inbound, normalizedCalled)
      if (route === undefined)
        return { _tag: "Refused", status: 404, reason: `Not Found (no route for ${normalizedCalled})` }
      const attempts: Array<Attempt> = []
      for (const name of route.trunks) {
        const trunk = trunks.get(name)
        if (trunk === undefined) continue
        for (const gateway of orderByPriorityAndWeight(trunk.gateways ?? [], random)) {
          if (!usable(trunk, gateway)) continue
          attempts.push({
            trunk,
            gateway,
            called: applyNumberRules(trunk.outboundNumbers, normalizedCalled),
            caller: applyNumberRules(trunk.outboundNumbers, normalizedCaller),
          })
        }
      }
      if (attempts.length === 0)
        return {
          _tag: "Refused",
          status: 503,
          reason: `Service Unavailable (no gateway available on route ${route.name})`,
        }
      return { _tag: "Routed", inbound, route, attempts }
    },
  }
}
