/**
 * The auth service's configuration file (YAML): domains and their realms, users with their credentials,
 * trunks (the contracts' Trunk schema), what happens to unknown sources, registrar limits, nonce
 * lifetime, brute-force limits, scanner User-Agents, and the suite's own registrations to carriers.
 * Validated with effect Schema; every error names the key path and the file. Pure apart from reading
 * the file; secrets are resolved by Config.ts (the only module that reads the environment).
 *
 * Passwords in this file are turned into HA1 hashes at start-up and only the hashes are stored (KV
 * `auth-credentials`); a file may carry the HA1 values instead of a password.
 */
import { readFileSync } from "node:fs"
import { type SchemaProblem, Trunk } from "@b2bua/contracts"
import { Data, Result, Schema, SchemaIssue } from "effect"
import { parse as parseYaml } from "yaml"
import { validCidr } from "./TrunkMatch.js"

const Seconds = (min: number, max: number) =>
  Schema.Int.check(Schema.isBetween({ minimum: min, maximum: max }))
const Algorithm = Schema.Literals(["SHA-256", "MD5"])
const Hex = (length: number) => Schema.String.check(Schema.isPattern(new RegExp(`^[0-9a-f]{${length}}$`)))
const HostPortText = Schema.String.check(
  Schema.isPattern(/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253}):\d{1,5}$/),
)

export const DomainConfig = Schema.Struct({
  /** The domain part of AORs (`example.com`, or an address such as `127.0.0.1`). */
  name: Schema.String.check(Schema.isPattern(/^[A-Za-z0-9.:-]{1,253}$/)),
  /** The digest realm offered for this domain (RFC 3261 §22.1: usually the domain). Default: the name. */
  realm: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
  /** Algorithms offered in challenges, most preferred first (RFC 8760 §2.4). Default SHA-256, MD5. */
  algorithms: Schema.optional(Schema.Array(Algorithm).check(Schema.isMinLength(1))),
})
export type DomainConfig = typeof DomainConfig.Type

export const UserConfig = Schema.Struct({
  /** The user part of the AOR, also the digest username. */
  user: Schema.String.check(Schema.isPattern(/^[^\s@:"\\]{1,128}$/)),
  domain: Schema.String,
  /** Plain password: hashed at start-up, never stored. Give either this or `ha1`. */
  password: Schema.optional(Schema.String.check(Schema.isMinLength(1))),
  /** H(user:realm:password) per algorithm (RFC 7616 §3.4.2). */
  ha1: Schema.optional(Schema.Struct({ MD5: Schema.optional(Hex(32)), "SHA-256": Schema.optional(Hex(64)) })),
})
export type UserConfig = typeof UserConfig.Type

const SecretRef = Schema.Union([
  Schema.Struct({ env: Schema.String.check(Schema.isPattern(/^[A-Z_][A-Z0-9_]*$/)) }),
  Schema.Struct({ file: Schema.String.check(Schema.isMinLength(1)) }),
])

export const OutboundConfig = Schema.Struct({
  /** The trunk this registration belongs to (one registration per trunk). */
  trunk: Schema.String,
  /** The carrier's registrar, host:port. */
  registrar: HostPortText,
  transport: Schema.optional(Schema.Literals(["udp", "tcp"])),
  /** The AOR the suite registers (To and From), `sip:user@domain`. */
  aor: Schema.String.check(Schema.isPattern(/^sips?:[^@\s]+@[^\s]+$/)),
  /** Digest username, when it differs from the AOR's user part. */
  username: Schema.optional(Schema.String),
  /** Requested interval in seconds (the carrier may shorten it). */
  expires: Schema.optional(Seconds(60, 86_400)),
  /** Where the password is: an environment variable or a secret file. */
  secret: SecretRef,
})
export type OutboundConfig = typeof OutboundConfig.Type

export const AuthFile = Schema.Struct({
  domains: Schema.optional(Schema.Array(DomainConfig)),
  users: Schema.optional(Schema.Array(UserConfig)),
  trunks: Schema.optional(Schema.Array(Trunk)),
  /** A request from no known trunk and without valid credentials: challenged (407) or refused (403). */
  unknownSources: Schema.optional(Schema.Literals(["challenge", "refuse"])),
  registrar: Schema.optional(
    Schema.Struct({
      minExpires: Schema.optional(Seconds(1, 86_400)),
      maxExpires: Schema.optional(Seconds(1, 604_800)),
      defaultExpires: Schema.optional(Seconds(1, 604_800)),
      maxContacts: Schema.optional(Seconds(1, 100)),
    }),
  ),
  nonce: Schema.optional(Schema.Struct({ lifetimeSeconds: Schema.optional(Seconds(10, 86_400)) })),
  bruteForce: Schema.optional(
    Schema.Struct({
      threshold: Schema.optional(Seconds(1, 10_000)),
      windowSeconds: Schema.optional(Seconds(1, 86_400)),
      cooldownSeconds: Schema.optional(Seconds(1, 86_400)),
    }),
  ),
  /** User-Agent substrings (case-insensitive) of scanners, dropped without an answer. */
  scanners: Schema.optional(Schema.Array(Schema.String.check(Schema.isMinLength(1)))),
  outbound: Schema.optional(Schema.Array(OutboundConfig)),
})
export type AuthFile = typeof AuthFile.Type

export class AuthConfigError extends Data.TaggedError("AuthConfigError")<{
  readonly file: string
  readonly problems: ReadonlyArray<SchemaProblem>
}> {
  override get message(): string {
    return `configuration ${this.file}: ${this.problems.map((p) => `${p.key}: ${p.reason}`).join("; ")}`
  }
}

/** Friendly-scanner and its kin: the User-Agents of the usual SIP scanning tools. */
export const DEFAULT_SCANNERS: ReadonlyArray<string> = [
  "friendly-scanner",
  "sipvicious",
  "sipcli",
  "sip-scan",
  "sipsak",
  "iWar",
  "sundayddr",
  "VaxSIPUserAgent",
  "SIPBomber",
  "pplsip",
]

const keyPath = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path
    .map((s) => (typeof s === "object" ? s.key : s))
    .reduce<string>(
      (acc, s) => (typeof s === "number" ? `${acc}[${s}]` : acc === "" ? String(s) : `${acc}.${String(s)}`),
      "",
    )

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** What a schema cannot say: references between sections. */
const crossCheck = (file: AuthFile): SchemaProblem[] => {
  const problems: SchemaProblem[] = []
  const domains = new Map((file.domains ?? []).map((d) => [d.name.toLowerCase(), d]))
  const credentials = new Set<string>()
  ;(file.users ?? []).forEach((u, i) => {
    const domain = domains.get(u.domain.toLowerCase())
    if (domain === undefined)
      problems.push({ key: `users[${i}].domain`, reason: `unknown domain "${u.domain}"` })
    if (u.password === undefined && u.ha1 === undefined)
      problems.push({ key: `users[${i}]`, reason: "needs password or ha1" })
    const realm = domain?.realm ?? domain?.name ?? u.domain
    const key = `${realm}\u0000${u.user}`
    if (credentials.has(key)) problems.push({ key: `users[${i}].user`, reason: `duplicate user "${u.user}"` })
    credentials.add(key)
  })
  const trunkNames = new Set<string>()
  ;(file.trunks ?? []).forEach((t, i) => {
    if (trunkNames.has(t.name))
      problems.push({ key: `trunks[${i}].name`, reason: `duplicate trunk "${t.name}"` })
    trunkNames.add(t.name)
    ;(t.sources ?? []).forEach((cidr, j) => {
      if (!validCidr(cidr))
        problems.push({ key: `trunks[${i}].sources[${j}]`, reason: `not an address or CIDR: "${cidr}"` })
    })
    if (t.digest !== undefined && !credentials.has(`${t.digest.realm}\u0000${t.digest.user}`))
      problems.push({
        key: `trunks[${i}].digest`,
        reason: `no user "${t.digest.user}" in a domain with realm "${t.digest.realm}"`,
      })
  })
  const registered = new Set<string>()
  ;(file.outbound ?? []).forEach((o, i) => {
    if (registered.has(o.trunk))
      problems.push({ key: `outbound[${i}].trunk`, reason: `trunk "${o.trunk}" registered twice` })
    registered.add(o.trunk)
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/.test(o.trunk))
      problems.push({ key: `outbound[${i}].trunk`, reason: "expected a trunk name (a-z, 0-9, _ and -)" })
  })
  return problems
}

/** Decodes an already parsed document. */
export const decodeAuthFile = (input: unknown, file: string): AuthFile | AuthConfigError => {
  const decoded = Schema.decodeUnknownResult(AuthFile, { errors: "all", onExcessProperty: "error" })(
    input ?? {},
  )
  if (Result.isFailure(decoded)) {
    const problems = formatter(decoded.failure.issue).issues.map((issue) => ({
      key: keyPath(issue.path ?? []) || "(root)",
      reason: issue.message,
    }))
    return new AuthConfigError({ file, problems })
  }
  const problems = crossCheck(decoded.success)
  return problems.length === 0 ? decoded.success : new AuthConfigError({ file, problems })
}

/** Reads and decodes the file; YAML syntax errors name the line. */
export const readAuthFile = (file: string): AuthFile | AuthConfigError => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (e) {
    return new AuthConfigError({
      file,
      problems: [{ key: "(file)", reason: e instanceof Error ? e.message : String(e) }],
    })
  }
  let doc: unknown
  try {
    doc = parseYaml(text)
  } catch (e) {
    return new AuthConfigError({
      file,
      problems: [{ key: "(yaml)", reason: e instanceof Error ? e.message.split("\n")[0]! : String(e) }],
    })
  }
  return decodeAuthFile(doc, file)
}
