/**
 * Gateways pinged with OPTIONS (RFC 3261 §11) and taken out of rotation while they fail: a hop that
 * misses `downAfter` pings in a row (no response within the ping's timeout, or 503/408) is down until it
 * answers again. Hops of trunks without `ping` are always in rotation. The per-hop bookkeeping is pure
 * (`recordPing`); the pinger sends through the edge and feeds it.
 */
import { randomBytes } from "node:crypto"
import { makeBranch, type Owner } from "@b2bua/contracts"
import { buildRequest, type SipRequest, type SipResponse } from "@b2bua/sip"
import { Effect, Schedule, type Scope } from "effect"
import { type ResolvedHop, resolveGateway } from "./Resolve.js"
import type { RoutingTable } from "./RoutingTable.js"

export interface HopHealth {
  readonly up: boolean
  readonly failures: number
}

export const HEALTHY: HopHealth = { up: true, failures: 0 }

/** RFC 3261 §11.2: any final response shows the hop is alive, except those saying it cannot serve now. */
export const isAliveAnswer = (status: number): boolean => status >= 200 && status !== 503 && status !== 408

export const recordPing = (health: HopHealth, answered: boolean, downAfter: number): HopHealth => {
  if (answered) return HEALTHY
  const failures = health.failures + 1
  return { up: health.up && failures < downAfter, failures }
}

export const hopKey = (hop: { readonly host: string; readonly port: number }): string =>
  `${hop.host}:${hop.port}`

export interface GatewayHealth {
  readonly isUp: (hop: { readonly host: string; readonly port: number }) => boolean
  /** Feeds a response; true when it answered one of the pings (the caller then drops it). */
  readonly onResponse: (response: SipResponse) => Effect.Effect<boolean>
  readonly states: () => ReadonlyMap<string, HopHealth>
}

interface PendingPing {
  readonly key: string
  readonly downAfter: number
  readonly deadline: number
}

const DEFAULT_INTERVAL = 30_000
const DEFAULT_DOWN_AFTER = 2

export const startGatewayHealth = (options: {
  readonly routing: () => RoutingTable
  readonly owner: Owner
  readonly local: () => { readonly host: string; readonly port: number }
  readonly send: (request: SipRequest, hop: ResolvedHop) => Effect.Effect<void>
}): Effect.Effect<GatewayHealth, never, Scope.Scope> =>
  Effect.gen(function* () {
    const health = new Map<string, HopHealth>()
    const nextPing = new Map<string, number>()
    const pending = new Map<string, PendingPing>()

    const ping = (hop: ResolvedHop, intervalMs: number, downAfter: number) =>
      Effect.gen(function* () {
        const key = hopKey(hop)
        const callId = `ping.${randomBytes(8).toString("hex")}@b2bua`
        const local = options.local()
        const uri = `sip:${hop.host.includes(":") ? `[${hop.host}]` : hop.host}:${hop.port}`
        const request = buildRequest({
          method: "OPTIONS",
          uri,
          headers: [
            [
              "Via",
              `SIP/2.0/${hop.transport.toUpperCase()} ${local.host}:${local.port};branch=${makeBranch(options.owner, randomBytes(6).toString("hex"))};rport`,
            ],
            ["Max-Forwards", "70"],
            ["From", `<sip:ping@${local.host}>;tag=${randomBytes(4).toString("hex")}`],
            ["To", `<${uri}>`],
            ["Call-ID", callId],
            ["CSeq", "1 OPTIONS"],
            ["Accept", "application/sdp"],
          ],
        })
        // A ping answers within the non-INVITE transaction's life or never (bounded to the interval).
        pending.set(callId, { key, downAfter, deadline: Date.now() + Math.min(intervalMs, 32_000) })
        nextPing.set(key, Date.now() + intervalMs)
        yield* options.send(request, hop)
      })

    const tick = Effect.gen(function* () {
      const now = Date.now()
      for (const [callId, p] of pending) {
        if (p.deadline > now) continue
        pending.delete(callId)
        const before = health.get(p.key) ?? HEALTHY
        const after = recordPing(before, false, p.downAfter)
        health.set(p.key, after)
        if (before.up && !after.up)
          yield* Effect.logWarning("gateway out of rotation").pipe(Effect.annotateLogs({ gateway: p.key }))
      }
      for (const trunk of options.routing().config.trunks) {
        if (trunk.ping === undefined) continue
        const intervalMs = trunk.ping.intervalMs ?? DEFAULT_INTERVAL
        const downAfter = trunk.ping.downAfter ?? DEFAULT_DOWN_AFTER
        for (const gateway of trunk.gateways ?? []) {
          for (const hop of yield* resolveGateway(gateway)) {
            if ((nextPing.get(hopKey(hop)) ?? 0) <= now) yield* ping(hop, intervalMs, downAfter)
          }
        }
      }
    })
    yield* Effect.forkScoped(tick.pipe(Effect.repeat(Schedule.spaced(1000))))

    return {
      isUp: (hop) => health.get(hopKey(hop))?.up ?? true,
      onResponse: (response) =>
        Effect.gen(function* () {
          const p = pending.get(response.callId)
          if (p === undefined || response.status < 200) return p !== undefined
          pending.delete(response.callId)
          const before = health.get(p.key) ?? HEALTHY
          const after = recordPing(before, isAliveAnswer(response.status), p.downAfter)
          health.set(p.key, after)
          if (before.up !== after.up)
            yield* Effect.logInfo(after.up ? "gateway back in rotation" : "gateway out of rotation").pipe(
              Effect.annotateLogs({ gateway: p.key, status: response.status }),
            )
          return true
        }),
      states: () => health,
    }
  })
