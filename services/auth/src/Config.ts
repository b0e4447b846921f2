/**
 * The auth service's configuration: the environment (read here and nowhere else) and the YAML file it
 * names. Errors name the variable, or the file and key. Passwords become HA1 hashes here; the outbound
 * registration passwords (secrets: an environment variable or a file) are resolved here too.
 *
 *   NATS_URL                 nats://127.0.0.1:4222
 *   B2BUA_AUTH_INSTANCE      instance token (default from host name and pid)
 *   B2BUA_AUTH_CONFIG        the YAML file (users, domains, trunks, outbound registrations); absent: none
 *   B2BUA_NONCE_KEY          the nonce HMAC key shared by every auth instance (>= 16 characters), or
 *   B2BUA_NONCE_KEY_FILE     a file holding it; absent: a random key (one instance only)
 *   B2BUA_AUTH_SIP_ADDRESS   host:port of the suite's SIP edge as carriers see it (outbound Via/Contact)
 */

import { randomBytes } from "node:crypto"
import { readFileSync } from "node:fs"
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { defaultInstanceId, InstanceId, isInstanceId, parseHostPort, type Trunk } from "@b2bua/contracts"
import { Data } from "effect"
import { AuthConfigError, type AuthFile, DEFAULT_SCANNERS, readAuthFile } from "./AuthConfig.js"
import type { RegistrarPolicy } from "./Bindings.js"
import { computeHa1 } from "./Digest.js"

export type OfferedAlgorithm = "SHA-256" | "MD5"

export interface DomainSettings {
  readonly name: string
  readonly realm: string
  readonly algorithms: ReadonlyArray<OfferedAlgorithm>
}

/** What the credential store keeps for a user or a trunk: never the password. */
export interface StoredCredential {
  readonly username: string
  readonly realm: string
  /** The AOR this user may register (`sip:user@domain`). */
  readonly aor: string
  readonly ha1: { readonly MD5?: string | undefined; readonly "SHA-256"?: string | undefined }
}

export interface OutboundRegistration {
  readonly trunk: string
  readonly registrar: { readonly host: string; readonly port: number }
  readonly transport: "udp" | "tcp"
  readonly aor: string
  readonly username: string
  readonly password: string
  readonly expires: number
}

export interface BruteForcePolicy {
  readonly threshold: number
  readonly windowMs: number
  readonly cooldownMs: number
}

export interface AuthServiceConfig {
  readonly instance: InstanceId
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  readonly configFile: string | undefined
  readonly nonceKey: Uint8Array
  /** False when the key was generated at start-up (other instances cannot check this one's nonces). */
  readonly nonceKeyShared: boolean
  readonly sipAddress: { readonly host: string; readonly port: number }
  readonly domains: ReadonlyArray<DomainSettings>
  readonly credentials: ReadonlyArray<StoredCredential>
  readonly trunks: ReadonlyArray<Trunk>
  readonly unknownSources: "challenge" | "refuse"
  readonly registrar: RegistrarPolicy
  readonly nonceLifetimeMs: number
  readonly bruteForce: BruteForcePolicy
  readonly scanners: ReadonlyArray<string>
  readonly outbound: ReadonlyArray<OutboundRegistration>
  /** How often expired bindings and nonce counts are removed from KV. */
  readonly sweepIntervalMs: number
  /** An outbound registration's lease: the holder renews it at a third of this. */
  readonly leaseMs: number
  /** Back-off after a failed outbound registration: base (doubling per failure) and cap. */
  readonly retryBaseMs: number
  readonly retryMaxMs: number
}

export class AuthServiceConfigError extends Data.TaggedError("AuthServiceConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration ${this.key}: ${this.reason}`
  }
}

type Env = Readonly<Record<string, string | undefined>>

const integer = (env: Env, key: string, fallback: number, min: number, max: number): number => {
  const raw = env[key]
  if (raw === undefined || raw === "") return fallback
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max)
    throw new AuthServiceConfigError({
      key,
      reason: `expected an integer from ${min} to ${max}, got "${raw}"`,
    })
  return Number(raw)
}

const readSecretFile = (key: string, path: string): string => {
  try {
    return readFileSync(path, "utf8").trim()
  } catch (e) {
    throw new AuthServiceConfigError({ key, reason: e instanceof Error ? e.message : String(e) })
  }
}

const nonceKeyOf = (env: Env): { key: Uint8Array; shared: boolean } => {
  const file = env.B2BUA_NONCE_KEY_FILE
  const text =
    env.B2BUA_NONCE_KEY ?? (file === undefined ? undefined : readSecretFile("B2BUA_NONCE_KEY_FILE", file))
  if (text === undefined) return { key: randomBytes(32), shared: false }
  if (text.length < 16)
    throw new AuthServiceConfigError({
      key: env.B2BUA_NONCE_KEY === undefined ? "B2BUA_NONCE_KEY_FILE" : "B2BUA_NONCE_KEY",
      reason: "the nonce key needs at least 16 characters",
    })
  return { key: Buffer.from(text, "utf8"), shared: true }
}

/** Everything the file says, with defaults, passwords hashed and secrets resolved. */
export const settingsOf = (file: AuthFile, env: Env, fileName: string) => {
  const domains: DomainSettings[] = (file.domains ?? []).map((d) => ({
    name: d.name.toLowerCase(),
    realm: d.realm ?? d.name.toLowerCase(),
    algorithms: d.algorithms ?? ["SHA-256", "MD5"],
  }))
  const credentials: StoredCredential[] = (file.users ?? []).map((u) => {
    const domain = domains.find((d) => d.name === u.domain.toLowerCase())
    const realm = domain?.realm ?? u.domain.toLowerCase()
    const ha1 =
      u.password === undefined
        ? { MD5: u.ha1?.MD5, "SHA-256": u.ha1?.["SHA-256"] }
        : {
            MD5: computeHa1("MD5", u.user, realm, u.password),
            "SHA-256": computeHa1("SHA-256", u.user, realm, u.password),
          }
    return { username: u.user, realm, aor: `sip:${u.user}@${u.domain.toLowerCase()}`, ha1 }
  })
  const outbound: OutboundRegistration[] = (file.outbound ?? []).map((o, i) => {
    const key = `${fileName} outbound[${i}].secret`
    let password: string | undefined
    if ("env" in o.secret) {
      password = env[o.secret.env]
      if (password === undefined || password === "")
        throw new AuthServiceConfigError({ key: o.secret.env, reason: `not set (needed by ${key})` })
    } else {
      password = readSecretFile(key, o.secret.file)
    }
    const registrar = parseHostPort(o.registrar)
    if (registrar === undefined)
      throw new AuthServiceConfigError({
        key: `${fileName} outbound[${i}].registrar`,
        reason: "expected host:port",
      })
    const user = /^sips?:([^@]+)@/.exec(o.aor)?.[1] ?? ""
    return {
      trunk: o.trunk,
      registrar,
      transport: o.transport ?? "udp",
      aor: o.aor,
      username: o.username ?? user,
      password,
      expires: o.expires ?? 3600,
    }
  })
  const registrar: RegistrarPolicy = {
    minExpires: file.registrar?.minExpires ?? 60,
    maxExpires: file.registrar?.maxExpires ?? 7200,
    defaultExpires: file.registrar?.defaultExpires ?? 3600,
    maxContacts: file.registrar?.maxContacts ?? 10,
  }
  if (registrar.minExpires > registrar.maxExpires)
    throw new AuthServiceConfigError({
      key: `${fileName} registrar.minExpires`,
      reason: "greater than registrar.maxExpires",
    })
  return {
    domains,
    credentials,
    trunks: file.trunks ?? [],
    unknownSources: file.unknownSources ?? "challenge",
    registrar,
    nonceLifetimeMs: (file.nonce?.lifetimeSeconds ?? 300) * 1000,
    bruteForce: {
      threshold: file.bruteForce?.threshold ?? 10,
      windowMs: (file.bruteForce?.windowSeconds ?? 60) * 1000,
      cooldownMs: (file.bruteForce?.cooldownSeconds ?? 300) * 1000,
    },
    scanners: file.scanners ?? DEFAULT_SCANNERS,
    outbound,
  }
}

export const loadConfig = (env: Env): AuthServiceConfig => {
  const instanceText = env.B2BUA_AUTH_INSTANCE
  if (instanceText !== undefined && !isInstanceId(instanceText))
    throw new AuthServiceConfigError({
      key: "B2BUA_AUTH_INSTANCE",
      reason: "expected 1-16 lower-case letters or digits",
    })
  const configFile = env.B2BUA_AUTH_CONFIG === "" ? undefined : env.B2BUA_AUTH_CONFIG
  const read = configFile === undefined ? {} : readAuthFile(configFile)
  if (read instanceof AuthConfigError) throw read
  const file: AuthFile = read
  const sipAddressText = env.B2BUA_AUTH_SIP_ADDRESS ?? "127.0.0.1:5060"
  const sipAddress = parseHostPort(sipAddressText)
  if (sipAddress === undefined)
    throw new AuthServiceConfigError({
      key: "B2BUA_AUTH_SIP_ADDRESS",
      reason: `expected host:port, got "${sipAddressText}"`,
    })
  const nonce = nonceKeyOf(env)
  return {
    instance: instanceText === undefined ? defaultInstanceId("a") : InstanceId(instanceText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    configFile,
    nonceKey: nonce.key,
    nonceKeyShared: nonce.shared,
    sipAddress,
    ...settingsOf(file, env, configFile ?? "(none)"),
    sweepIntervalMs: integer(env, "B2BUA_AUTH_SWEEP_MS", 30_000, 100, 3_600_000),
    leaseMs: integer(env, "B2BUA_AUTH_LEASE_MS", 15_000, 1_000, 600_000),
    retryBaseMs: integer(env, "B2BUA_AUTH_RETRY_BASE_MS", 5_000, 100, 3_600_000),
    retryMaxMs: integer(env, "B2BUA_AUTH_RETRY_MAX_MS", 300_000, 100, 86_400_000),
  }
}
