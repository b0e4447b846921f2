/**
 * The edge's configuration, from the environment (the only place the edge reads it). Every value is
 * checked; an error names the variable and says what was expected.
 */
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { defaultInstanceId, InstanceId, isInstanceId } from "@b2bua/contracts"
import { Data } from "effect"

export type ListenTransport = "udp" | "tcp"

export interface ListenAddress {
  readonly transport: ListenTransport
  readonly host: string
  readonly port: number
}

export interface EdgeConfig {
  readonly instance: InstanceId
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  readonly listen: ReadonlyArray<ListenAddress>
  /** How long a new request waits for call control to take it before 503 (ms). */
  readonly callControlTimeoutMs: number
  /** Retry-After of the 503 sent when call control is absent or overloaded (s). */
  readonly retryAfterSeconds: number
  /** Requests handed to call control and not yet taken, beyond which new ones get 503 at once. */
  readonly maxInFlight: number
  /** Idle TCP connections are closed after this long (ms). */
  readonly tcpIdleMs: number
  /** Most concurrent TCP connections. */
  readonly maxTcpConnections: number
}

export class ConfigError extends Data.TaggedError("ConfigError")<{
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
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError({ key, reason: `expected an integer from ${min} to ${max}, got "${raw}"` })
  }
  return Number(raw)
}

const parseListen = (key: string, text: string): ListenAddress[] =>
  text.split(",").map((item) => {
    const m = /^(udp|tcp):(\[[0-9a-fA-F:.]+\]|[0-9.]+|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item.trim())
    if (m === null || Number(m[3]) > 65535) {
      throw new ConfigError({
        key,
        reason: `expected transport:host:port items like "udp:0.0.0.0:5060", got "${item}"`,
      })
    }
    const host = m[2]!.startsWith("[") ? m[2]!.slice(1, -1) : m[2]!
    const transport: ListenTransport = m[1] === "udp" ? "udp" : "tcp"
    return { transport, host, port: Number(m[3]) }
  })

export const loadConfig = (env: Env): EdgeConfig => {
  const port = integer(env, "B2BUA_SIP_PORT", 5060, 1, 65535)
  const instanceText = env.B2BUA_EDGE_INSTANCE
  if (instanceText !== undefined && !isInstanceId(instanceText)) {
    throw new ConfigError({
      key: "B2BUA_EDGE_INSTANCE",
      reason: "expected 1-16 lower-case letters or digits",
    })
  }
  return {
    instance: instanceText === undefined ? defaultInstanceId("e") : InstanceId(instanceText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    listen: parseListen(
      "B2BUA_SIP_LISTEN",
      env.B2BUA_SIP_LISTEN ?? `udp:0.0.0.0:${port},tcp:0.0.0.0:${port}`,
    ),
    callControlTimeoutMs: integer(env, "B2BUA_CC_TIMEOUT_MS", 2000, 10, 60_000),
    retryAfterSeconds: integer(env, "B2BUA_RETRY_AFTER_S", 5, 0, 3600),
    maxInFlight: integer(env, "B2BUA_EDGE_MAX_INFLIGHT", 1000, 1, 1_000_000),
    tcpIdleMs: integer(env, "B2BUA_TCP_IDLE_MS", 300_000, 1000, 86_400_000),
    maxTcpConnections: integer(env, "B2BUA_TCP_MAX_CONNECTIONS", 10_000, 1, 1_000_000),
  }
}
