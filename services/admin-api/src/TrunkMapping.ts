/**
 * Trunks between their gRPC form (b2bua.admin.v1.Trunk) and the stored form (the contracts schema, the
 * JSON call control reads from KV `config-trunks`). Pure. Validation is the contracts schema's: a defect
 * comes back with its key path under the request field (`trunk.gateways[1].port`).
 */
import {
  HeaderPolicy,
  MediaPolicy,
  type CodecPolicy as ProtoCodecs,
  type Gateway as ProtoGateway,
  type IdentityPolicy as ProtoIdentity,
  type NumberRules as ProtoNumberRules,
  Trunk as ProtoTrunk,
  RedirectPolicy,
  ReferPolicy,
  Transport,
} from "@b2bua/admin-proto"
import { decodeTrunk, type SchemaProblem, type Trunk } from "@b2bua/contracts"
import { Result } from "effect"

type Json = Record<string, unknown>

/** Adds `key: value` only when the value is present (proto3 optional / non-empty repeated). */
const put = (target: Json, key: string, value: unknown): void => {
  if (value === undefined) return
  if (Array.isArray(value) && value.length === 0) return
  target[key] = value
}

/** An enum value the schema cannot name: kept as a number so the schema reports the field. */
const transportText = (t: Transport): string | number | undefined =>
  t === Transport.TRANSPORT_UNSPECIFIED
    ? undefined
    : t === Transport.TRANSPORT_UDP
      ? "udp"
      : t === Transport.TRANSPORT_TCP
        ? "tcp"
        : t

const policyText = (p: HeaderPolicy): string | number | undefined =>
  p === HeaderPolicy.HEADER_POLICY_UNSPECIFIED
    ? undefined
    : p === HeaderPolicy.HEADER_POLICY_PASS
      ? "pass"
      : p === HeaderPolicy.HEADER_POLICY_DROP
        ? "drop"
        : p

const REDIRECTS: ReadonlyArray<readonly [RedirectPolicy, Trunk["redirects"]]> = [
  [RedirectPolicy.REDIRECT_POLICY_REFUSE, "refuse"],
  [RedirectPolicy.REDIRECT_POLICY_RELAY, "relay"],
  [RedirectPolicy.REDIRECT_POLICY_FOLLOW, "follow"],
]
const MEDIA: ReadonlyArray<readonly [MediaPolicy, Trunk["media"]]> = [
  [MediaPolicy.MEDIA_POLICY_ANCHOR, "anchor"],
  [MediaPolicy.MEDIA_POLICY_BYPASS, "bypass"],
]
const REFERS: ReadonlyArray<readonly [ReferPolicy, Trunk["refer"]]> = [
  [ReferPolicy.REFER_POLICY_REFUSE, "refuse"],
  [ReferPolicy.REFER_POLICY_RELAY, "relay"],
]

/** An enum's text for the schema: unspecified is absent, an unknown number stays a number (the schema names it). */
const enumText = <E extends number, T>(
  table: ReadonlyArray<readonly [E, T]>,
  value: E,
): T | number | undefined => (value === 0 ? undefined : (table.find(([e]) => e === value)?.[1] ?? value))

const enumOf = <E extends number, T>(table: ReadonlyArray<readonly [E, T]>, text: T | undefined): E | 0 =>
  table.find(([, t]) => t === text)?.[0] ?? 0

const gatewayJson = (g: ProtoGateway): Json => {
  const out: Json = { host: g.host }
  put(out, "port", g.port)
  put(out, "transport", transportText(g.transport))
  put(out, "priority", g.priority)
  put(out, "weight", g.weight)
  return out
}

const numbersJson = (n: ProtoNumberRules | undefined): Json | undefined => {
  if (n === undefined) return undefined
  const out: Json = {}
  put(out, "stripPrefix", n.stripPrefix)
  put(out, "addPrefix", n.addPrefix)
  if (n.e164 !== undefined) {
    const e: Json = { countryCode: n.e164.countryCode }
    put(e, "internationalPrefix", n.e164.internationalPrefix)
    put(e, "nationalPrefix", n.e164.nationalPrefix)
    out.e164 = e
  }
  return out
}

const identityJson = (i: ProtoIdentity | undefined): Json | undefined => {
  if (i === undefined) return undefined
  const out: Json = {}
  put(out, "assertedIdentity", policyText(i.assertedIdentity))
  put(out, "privacy", policyText(i.privacy))
  put(out, "diversion", policyText(i.diversion))
  put(out, "historyInfo", policyText(i.historyInfo))
  return out
}

const codecsJson = (c: ProtoCodecs | undefined): Json | undefined => {
  if (c === undefined) return undefined
  const out: Json = {}
  put(out, "allow", c.allow)
  put(out, "deny", c.deny)
  put(out, "order", c.order)
  return out
}

/** The plain object the contracts schema checks (absent proto fields are absent keys). */
export const trunkJson = (t: ProtoTrunk): Json => {
  const out: Json = { name: t.name }
  put(out, "sources", t.sources)
  if (t.digest !== undefined) out.digest = { realm: t.digest.realm, user: t.digest.user }
  put(out, "gateways", t.gateways.map(gatewayJson))
  put(out, "inboundNumbers", numbersJson(t.inboundNumbers))
  put(out, "outboundNumbers", numbersJson(t.outboundNumbers))
  put(out, "identity", identityJson(t.identity))
  put(out, "codecs", codecsJson(t.codecs))
  if (t.limits !== undefined) {
    const l: Json = {}
    put(l, "maxCalls", t.limits.maxCalls)
    put(l, "maxCps", t.limits.maxCps)
    out.limits = l
  }
  if (t.failover !== undefined) {
    const f: Json = {}
    put(f, "codes", t.failover.codes)
    put(f, "timeoutMs", t.failover.timeoutMs)
    out.failover = f
  }
  put(out, "media", enumText(MEDIA, t.media))
  put(out, "redirects", enumText(REDIRECTS, t.redirects))
  put(out, "refer", enumText(REFERS, t.refer))
  if (t.ping !== undefined) {
    const p: Json = {}
    put(p, "intervalMs", t.ping.intervalMs)
    put(p, "downAfter", t.ping.downAfter)
    out.ping = p
  }
  return out
}

/** Validates a trunk from a request; problems name the field under `field` (the request's field name). */
export const trunkFromProto = (
  t: ProtoTrunk | undefined,
  field: string,
): Result.Result<Trunk, ReadonlyArray<SchemaProblem>> => {
  if (t === undefined) return Result.fail([{ key: field, reason: "required" }])
  const decoded = decodeTrunk(trunkJson(t))
  return Result.mapError(decoded, (problems) =>
    problems.map((p) => ({ key: p.key === "(root)" ? field : `${field}.${p.key}`, reason: p.reason })),
  )
}

const toTransport = (t: Trunk["gateways"] extends ReadonlyArray<infer G> | undefined ? G : never) =>
  t.transport === "udp"
    ? Transport.TRANSPORT_UDP
    : t.transport === "tcp"
      ? Transport.TRANSPORT_TCP
      : Transport.TRANSPORT_UNSPECIFIED

const toPolicy = (p: "pass" | "drop" | undefined): HeaderPolicy =>
  p === "pass"
    ? HeaderPolicy.HEADER_POLICY_PASS
    : p === "drop"
      ? HeaderPolicy.HEADER_POLICY_DROP
      : HeaderPolicy.HEADER_POLICY_UNSPECIFIED

/** The gRPC form of a stored trunk, with its KV revision. */
export const trunkToProto = (t: Trunk, revision: number): ProtoTrunk =>
  ProtoTrunk.fromPartial({
    name: t.name,
    sources: [...(t.sources ?? [])],
    digest: t.digest,
    gateways: (t.gateways ?? []).map((g) => ({
      host: g.host,
      port: g.port,
      transport: toTransport(g),
      priority: g.priority,
      weight: g.weight,
    })),
    inboundNumbers: t.inboundNumbers,
    outboundNumbers: t.outboundNumbers,
    identity:
      t.identity === undefined
        ? undefined
        : {
            assertedIdentity: toPolicy(t.identity.assertedIdentity),
            privacy: toPolicy(t.identity.privacy),
            diversion: toPolicy(t.identity.diversion),
            historyInfo: toPolicy(t.identity.historyInfo),
          },
    codecs:
      t.codecs === undefined
        ? undefined
        : {
            allow: [...(t.codecs.allow ?? [])],
            deny: [...(t.codecs.deny ?? [])],
            order: [...(t.codecs.order ?? [])],
          },
    limits: t.limits,
    failover:
      t.failover === undefined
        ? undefined
        : { codes: [...(t.failover.codes ?? [])], timeoutMs: t.failover.timeoutMs },
    ping: t.ping,
    media: enumOf(MEDIA, t.media),
    redirects: enumOf(REDIRECTS, t.redirects),
    refer: enumOf(REFERS, t.refer),
    revision,
  })
