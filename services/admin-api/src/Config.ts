/**
 * admin-api's configuration, from the environment (read here only). Errors name the variable.
 *
 *   B2BUA_ADMIN_LISTEN        host:port of the gRPC endpoint (default 127.0.0.1:50051: loopback until the
 *                             operator opens it on purpose; set 0.0.0.0:50051 in a container)
 *   B2BUA_ADMIN_TOKEN         the bearer token every call must carry (`authorization: Bearer <token>`),
 *   B2BUA_ADMIN_TOKEN_FILE    or a file holding it (a mounted secret); one of the two is required
 *   B2BUA_ADMIN_TLS_CERT_FILE, B2BUA_ADMIN_TLS_KEY_FILE   TLS (PEM); both or neither
 *   B2BUA_ADMIN_TLS_CA_FILE   with TLS: clients must present a certificate signed by this CA (mTLS)
 *   B2BUA_ADMIN_INSTANCE      instance name in logs (default: host name + pid)
 *   B2BUA_ADMIN_SHUTDOWN_GRACE_MS   how long calls in flight may finish at shutdown (default 5000)
 *   NATS_URL                  default nats://127.0.0.1:4222
 */

import { readFileSync } from "node:fs"
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { defaultInstanceId, parseHostPort } from "@b2bua/contracts"
import { Data } from "effect"

export interface TlsConfig {
  readonly cert: Buffer
  readonly key: Buffer
  /** Present: client certificates are required and checked against it (mTLS). */
  readonly ca: Buffer | undefined
}

export interface AdminApiConfig {
  readonly instance: string
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  readonly listen: { readonly host: string; readonly port: number }
  readonly token: string
  readonly tls: TlsConfig | undefined
  readonly shutdownGraceMs: number
}

export class AdminApiConfigError extends Data.TaggedError("AdminApiConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration ${this.key}: ${this.reason}`
  }
}

type Env = Readonly<Record<string, string | undefined>>

const readFile = (key: string, path: string): Buffer => {
  try {
    return readFileSync(path)
  } catch (e) {
    throw new AdminApiConfigError({
      key,
      reason: `cannot read ${path}: ${e instanceof Error ? e.message : e}`,
    })
  }
}

/** A token is sent in an HTTP/2 header: visible ASCII, and long enough not to be guessed. */
const TOKEN = /^[\x21-\x7e]{16,512}$/

const tokenOf = (env: Env): string => {
  const inline = env.B2BUA_ADMIN_TOKEN
  const file = env.B2BUA_ADMIN_TOKEN_FILE
  if (inline !== undefined && file !== undefined)
    throw new AdminApiConfigError({
      key: "B2BUA_ADMIN_TOKEN",
      reason: "set either it or B2BUA_ADMIN_TOKEN_FILE",
    })
  const [key, token] =
    file !== undefined
      ? ["B2BUA_ADMIN_TOKEN_FILE", readFile("B2BUA_ADMIN_TOKEN_FILE", file).toString("utf8").trim()]
      : ["B2BUA_ADMIN_TOKEN", inline]
  if (token === undefined)
    throw new AdminApiConfigError({
      key,
      reason: "required (or B2BUA_ADMIN_TOKEN_FILE): the API refuses anonymous calls",
    })
  if (!TOKEN.test(token))
    throw new AdminApiConfigError({ key, reason: "expected 16-512 visible ASCII characters" })
  return token
}

const tlsOf = (env: Env): TlsConfig | undefined => {
  const certFile = env.B2BUA_ADMIN_TLS_CERT_FILE
  const keyFile = env.B2BUA_ADMIN_TLS_KEY_FILE
  const caFile = env.B2BUA_ADMIN_TLS_CA_FILE
  if (certFile === undefined && keyFile === undefined) {
    if (caFile !== undefined)
      throw new AdminApiConfigError({
        key: "B2BUA_ADMIN_TLS_CA_FILE",
        reason: "needs B2BUA_ADMIN_TLS_CERT_FILE and _KEY_FILE",
      })
    return undefined
  }
  if (certFile === undefined || keyFile === undefined)
    throw new AdminApiConfigError({
      key: certFile === undefined ? "B2BUA_ADMIN_TLS_CERT_FILE" : "B2BUA_ADMIN_TLS_KEY_FILE",
      reason: "TLS needs both the certificate and the key",
    })
  return {
    cert: readFile("B2BUA_ADMIN_TLS_CERT_FILE", certFile),
    key: readFile("B2BUA_ADMIN_TLS_KEY_FILE", keyFile),
    ca: caFile === undefined ? undefined : readFile("B2BUA_ADMIN_TLS_CA_FILE", caFile),
  }
}

export const loadConfig = (env: Env): AdminApiConfig => {
  const listenText = env.B2BUA_ADMIN_LISTEN ?? "127.0.0.1:50051"
  const listen = parseHostPort(listenText)
  if (listen === undefined)
    throw new AdminApiConfigError({
      key: "B2BUA_ADMIN_LISTEN",
      reason: `expected host:port, got "${listenText}"`,
    })
  const graceText = env.B2BUA_ADMIN_SHUTDOWN_GRACE_MS ?? "5000"
  if (!/^\d{1,6}$/.test(graceText))
    throw new AdminApiConfigError({
      key: "B2BUA_ADMIN_SHUTDOWN_GRACE_MS",
      reason: `expected milliseconds, got "${graceText}"`,
    })
  return {
    instance: env.B2BUA_ADMIN_INSTANCE ?? defaultInstanceId("m"),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    listen,
    token: tokenOf(env),
    tls: tlsOf(env),
    shutdownGraceMs: Number(graceText),
  }
}
