/**
 * RFC 3263 §4 server location for a gateway: an IP literal is used as it is; a host name with a port is
 * looked up (A/AAAA); a host name without a port is looked up as SRV `_sip._udp` / `_sip._tcp` first
 * (ordered by priority and weight, §4.4), falling back to A/AAAA on port 5060. NAPTR is not consulted: the
 * transport comes from the trunk's configuration (documented in docs/architecture.md). Results are cached
 * for a short while so that a busy route does not query DNS per call.
 */
import { promises as dns } from "node:dns"
import { isIP } from "node:net"
import type { Gateway, Transport } from "@b2bua/contracts"
import { Effect } from "effect"
import { orderByPriorityAndWeight } from "./Gateways.js"

export interface ResolvedHop {
  readonly host: string
  readonly port: number
  readonly transport: Transport
}

const CACHE_MS = 30_000
const cache = new Map<string, { readonly at: number; readonly hops: ReadonlyArray<ResolvedHop> }>()

const lookupAll = async (host: string): Promise<ReadonlyArray<string>> => {
  const found = await dns.lookup(host, { all: true })
  return found.map((a) => a.address)
}

const resolveNow = async (gateway: Gateway): Promise<ReadonlyArray<ResolvedHop>> => {
  const transport = gateway.transport ?? "udp"
  const host = gateway.host.replace(/^\[|\]$/g, "")
  if (isIP(host) !== 0) return [{ host, port: gateway.port ?? 5060, transport }]
  if (gateway.port !== undefined) {
    return (await lookupAll(host)).map((address) => ({ host: address, port: gateway.port!, transport }))
  }
  const srv = await dns.resolveSrv(`_sip._${transport}.${host}`).catch(() => [])
  if (srv.length === 0)
    return (await lookupAll(host)).map((address) => ({ host: address, port: 5060, transport }))
  const hops: Array<ResolvedHop> = []
  for (const record of orderByPriorityAndWeight(srv, Math.random)) {
    const addresses = await lookupAll(record.name).catch(() => [])
    for (const address of addresses) hops.push({ host: address, port: record.port, transport })
  }
  return hops
}

/** The hops of a gateway, in the order to try them; empty when DNS has nothing (the gateway is skipped). */
export const resolveGateway = (gateway: Gateway): Effect.Effect<ReadonlyArray<ResolvedHop>> =>
  Effect.promise(async () => {
    const key = `${gateway.host}|${gateway.port ?? ""}|${gateway.transport ?? ""}`
    const cached = cache.get(key)
    if (cached !== undefined && Date.now() - cached.at < CACHE_MS) return cached.hops
    const hops = await resolveNow(gateway).catch(() => [] as ReadonlyArray<ResolvedHop>)
    if (cache.size > 1024) cache.clear()
    cache.set(key, { at: Date.now(), hops })
    return hops
  })
