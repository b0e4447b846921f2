/**
 * The trunk and route schemas, shared by every service: call control routes with them, the auth service
 * identifies trunks with them, the admin API stores and validates them. One definition, validated with
 * effect's Schema; errors name the key path (`trunks[0].gateways[1].port`).
 */
import { Result, Schema, SchemaIssue } from "effect"

const Name = Schema.String.check(Schema.isPattern(/^[a-z0-9][a-z0-9_-]{0,62}$/))
const Port = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 65535 }))
const SipCode = Schema.Int.check(Schema.isBetween({ minimum: 300, maximum: 699 }))
const Digits = Schema.String.check(Schema.isPattern(/^\+?[0-9*#]{0,32}$/))
/** An IPv4 or IPv6 address with an optional prefix length, e.g. 192.0.2.0/24, ::1/128, 127.0.0.1. */
const Cidr = Schema.String.check(
  Schema.isPattern(/^(?:\d{1,3}(?:\.\d{1,3}){3}(?:\/\d{1,2})?|[0-9a-fA-F:]*:[0-9a-fA-F:.]*(?:\/\d{1,3})?)$/),
)
const Host = Schema.String.check(
  Schema.isPattern(/^(?:\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[A-Za-z0-9.-]{1,253})$/),
)

export const Transport = Schema.Literals(["udp", "tcp"])
export type Transport = typeof Transport.Type

/** One next hop of an outbound trunk. A host name without a port is resolved with RFC 3263 (SRV, then A). */
export const Gateway = Schema.Struct({
  host: Host,
  port: Schema.optional(Port),
  transport: Schema.optional(Transport),
  /** Lower first (RFC 2782 semantics); gateways of equal priority share calls by weight. */
  priority: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
  weight: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 }))),
})
export type Gateway = typeof Gateway.Type

/**
 * Number manipulation, applied in this order: strip a prefix, add a prefix, then E.164 normalisation
 * (`international` prefix → "+", `national` prefix → "+" + country code).
 */
export const NumberRules = Schema.Struct({
  stripPrefix: Schema.optional(Digits),
  addPrefix: Schema.optional(Digits),
  e164: Schema.optional(
    Schema.Struct({
      countryCode: Schema.String.check(Schema.isPattern(/^[1-9][0-9]{0,2}$/)),
      internationalPrefix: Schema.optional(Digits),
      nationalPrefix: Schema.optional(Digits),
    }),
  ),
})
export type NumberRules = typeof NumberRules.Type

/** What identity headers cross this trunk (RFC 3325 P-Asserted-Identity/Privacy, RFC 5806, RFC 7044). */
export const IdentityPolicy = Schema.Struct({
  assertedIdentity: Schema.optional(Schema.Literals(["pass", "drop"])),
  privacy: Schema.optional(Schema.Literals(["pass", "drop"])),
  diversion: Schema.optional(Schema.Literals(["pass", "drop"])),
  historyInfo: Schema.optional(Schema.Literals(["pass", "drop"])),
})
export type IdentityPolicy = typeof IdentityPolicy.Type

/** Codec policy, read by the SDP negotiator: names as in rtpmap (PCMU, PCMA, G722, G729, telephone-event). */
export const CodecPolicy = Schema.Struct({
  allow: Schema.optional(Schema.Array(Schema.String)),
  deny: Schema.optional(Schema.Array(Schema.String)),
  order: Schema.optional(Schema.Array(Schema.String)),
})
export type CodecPolicy = typeof CodecPolicy.Type

/**
 * A 3xx from this trunk's gateways (RFC 3261 §8.1.3.4): `refuse` (the default) treats it as a failure (failover
 * on its code, else 480 to the caller: a carrier does not let a callee steer where its calls go), `relay`
 * passes it to the caller with its Contacts, `follow` sends the B-leg INVITE to the first Contact itself.
 */
export const RedirectPolicy = Schema.Literals(["refuse", "relay", "follow"])
export type RedirectPolicy = typeof RedirectPolicy.Type

/** A REFER (RFC 3515) arriving from this trunk's side of a call: `refuse` (403, the default) or `relay`. */
export const ReferPolicy = Schema.Literals(["refuse", "relay"])
export type ReferPolicy = typeof ReferPolicy.Type

export const Trunk = Schema.Struct({
  name: Name,
  /** Requests from these sources are identified as this trunk (inbound). */
  sources: Schema.optional(Schema.Array(Cidr)),
  /** Requests from this trunk must (also) pass digest authentication (the auth service). */
  digest: Schema.optional(Schema.Struct({ realm: Schema.String, user: Schema.String })),
  /** Next hops for calls routed to this trunk (outbound). */
  gateways: Schema.optional(Schema.Array(Gateway)),
  /** Applied to the called/calling numbers of calls arriving from this trunk. */
  inboundNumbers: Schema.optional(NumberRules),
  /** Applied to the called/calling numbers of calls sent to this trunk. */
  outboundNumbers: Schema.optional(NumberRules),
  identity: Schema.optional(IdentityPolicy),
  codecs: Schema.optional(CodecPolicy),
  /** Concurrent calls and new calls per second through this trunk (either way); 503 beyond them. */
  limits: Schema.optional(
    Schema.Struct({
      maxCalls: Schema.optional(Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))),
      maxCps: Schema.optional(Schema.Number.check(Schema.isGreaterThan(0))),
    }),
  ),
  /** Failover to the next gateway/trunk on these final codes or on no answer (never after early media). */
  failover: Schema.optional(
    Schema.Struct({
      codes: Schema.optional(Schema.Array(SipCode)),
      /** Give up on a gateway that sent nothing within this time (ms), and try the next. */
      timeoutMs: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 500, maximum: 32000 }))),
    }),
  ),
  /**
   * `anchor` (the default): the call's media goes through the relay. `bypass`: media flows end to end when
   * every trunk of the call says so (SDP addresses pass unchanged; the suite then sees no media at all).
   */
  media: Schema.optional(Schema.Literals(["anchor", "bypass"])),
  redirects: Schema.optional(RedirectPolicy),
  refer: Schema.optional(ReferPolicy),
  /** OPTIONS pings to the gateways; a gateway failing `downAfter` pings in a row leaves the rotation. */
  ping: Schema.optional(
    Schema.Struct({
      intervalMs: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1000, maximum: 3600000 }))),
      downAfter: Schema.optional(Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 100 }))),
    }),
  ),
})
export type Trunk = typeof Trunk.Type

/** A dial-plan entry: called numbers starting with `prefix` (after the inbound trunk's rules) go to `trunks`, in order. */
export const Route = Schema.Struct({
  name: Name,
  prefix: Digits,
  /** Only for calls arriving from these trunks; absent: from any. */
  fromTrunks: Schema.optional(Schema.Array(Name)),
  /** Tried in order: failover moves to the next gateway, then to the next trunk. */
  trunks: Schema.Array(Name).check(Schema.isMinLength(1)),
  /** Among routes with the same prefix length, the lower goes first. */
  priority: Schema.optional(Schema.Int),
})
export type Route = typeof Route.Type

export const RoutingConfig = Schema.Struct({
  trunks: Schema.Array(Trunk),
  routes: Schema.Array(Route),
  /** What happens to a request that matches no trunk: challenge it (digest) or refuse it with 403. */
  unknownSources: Schema.optional(Schema.Literals(["challenge", "refuse"])),
})
export type RoutingConfig = typeof RoutingConfig.Type

/** One defect of a configuration: the key path (`trunks[0].gateways[1].port`) and what is wrong with it. */
export interface SchemaProblem {
  readonly key: string
  readonly reason: string
}

const keyPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path
    .map((segment) => (typeof segment === "object" ? segment.key : segment))
    .reduce<string>(
      (acc, segment) =>
        typeof segment === "number"
          ? `${acc}[${segment}]`
          : acc === ""
            ? String(segment)
            : `${acc}.${String(segment)}`,
      "",
    )

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const decoderOf =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (input: unknown): Result.Result<S["Type"], ReadonlyArray<SchemaProblem>> => {
    const decoded = Schema.decodeUnknownResult(schema, { errors: "all", onExcessProperty: "error" })(input)
    if (Result.isSuccess(decoded)) return Result.succeed(decoded.success)
    const issues = formatter(decoded.failure.issue).issues
    return Result.fail(
      issues.map((issue) => ({
        key: keyPath(issue.path ?? []) || "(root)",
        reason: issue.message,
      })),
    )
  }

export const decodeTrunk = decoderOf(Trunk)
export const decodeRoute = decoderOf(Route)

/** Decodes a whole configuration and checks what a schema cannot: names unique, routes name known trunks. */
export const decodeRoutingConfig = (
  input: unknown,
): Result.Result<RoutingConfig, ReadonlyArray<SchemaProblem>> => {
  const decoded = decoderOf(RoutingConfig)(input)
  if (Result.isFailure(decoded)) return decoded
  const config = decoded.success
  const problems: Array<SchemaProblem> = []
  const trunkNames = new Set<string>()
  config.trunks.forEach((trunk, i) => {
    if (trunkNames.has(trunk.name))
      problems.push({ key: `trunks[${i}].name`, reason: `duplicate trunk "${trunk.name}"` })
    trunkNames.add(trunk.name)
  })
  const routeNames = new Set<string>()
  config.routes.forEach((route, i) => {
    if (routeNames.has(route.name))
      problems.push({ key: `routes[${i}].name`, reason: `duplicate route "${route.name}"` })
    routeNames.add(route.name)
    route.trunks.forEach((name, j) => {
      const trunk = config.trunks.find((t) => t.name === name)
      if (trunk === undefined)
        problems.push({ key: `routes[${i}].trunks[${j}]`, reason: `unknown trunk "${name}"` })
      else if ((trunk.gateways ?? []).length === 0)
        problems.push({ key: `routes[${i}].trunks[${j}]`, reason: `trunk "${name}" has no gateways` })
    })
    route.fromTrunks?.forEach((name, j) => {
      if (!trunkNames.has(name) && !config.trunks.some((t) => t.name === name))
        problems.push({ key: `routes[${i}].fromTrunks[${j}]`, reason: `unknown trunk "${name}"` })
    })
  })
  return problems.length === 0 ? Result.succeed(config) : Result.fail(problems)
}

export const describeProblems = (problems: ReadonlyArray<SchemaProblem>): string =>
  problems.map((p) => `${p.key}: ${p.reason}`).join("; ")
