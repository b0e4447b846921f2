/**
 * The relay's configuration, from the environment (read here only). Errors name the variable.
 */
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { defaultInstanceId, InstanceId, isInstanceId, isIpLiteral } from "@b2bua/contracts"
import { Data } from "effect"
import type { IoMode } from "./ForwardingPlane.js"
import type { PortRange } from "./PortAllocator.js"

export interface RelayConfig {
  readonly relayId: InstanceId
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  /** The address legs bind to and SDP advertises. */
  readonly address: string
  readonly ports: PortRange
  /** Most sessions at once; beyond it create fails with `capacity` (call control answers 503). */
  readonly maxSessions: number
  /** Forwarding backend: io_uring (auto falls back to epoll where io_uring is unavailable). */
  readonly io: IoMode
  /** io_uring interrupt coalescing: after a first completion, wait this long for more (0: off). */
  readonly coalesceUs: number
  /** How long a closed session's ports stay out of use (stale media must not reach the next call). */
  readonly quarantineMs: number
  /** No media for this long → media-timeout event (a session may set its own). */
  readonly mediaTimeoutMs: number
  /** How often counters, digits, timeouts and leases are looked at. */
  readonly pollMs: number
  readonly announceMs: number
}

export class RelayConfigError extends Data.TaggedError("RelayConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration ${this.key}: ${this.reason}`
  }
}

type Env = Readonly<Record<string, string | undefined>>

const int = (env: Env, key: string, dflt: number, min: number, max: number): number => {
  const text = env[key]
  if (text === undefined || text === "") return dflt
  const n = Number(text)
  if (!/^\d{1,9}$/.test(text) || n < min || n > max) {
    throw new RelayConfigError({ key, reason: `expected an integer in ${min}..${max}, got "${text}"` })
  }
  return n
}

export const parsePortRange = (text: string): PortRange | undefined => {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text)
  if (m === null) return undefined
  const min = Number(m[1])
  const max = Number(m[2])
  if (min < 1024 || max > 65535 || max - min < 3) return undefined
  return { min, max }
}

export const loadConfig = (env: Env): RelayConfig => {
  const idText = env.B2BUA_RELAY_ID
  if (idText !== undefined && !isInstanceId(idText)) {
    throw new RelayConfigError({
      key: "B2BUA_RELAY_ID",
      reason: "expected 1-16 lower-case letters or digits",
    })
  }
  const address = env.B2BUA_RELAY_ADDRESS ?? "127.0.0.1"
  if (!isIpLiteral(address)) {
    throw new RelayConfigError({
      key: "B2BUA_RELAY_ADDRESS",
      reason: `expected an IP literal, got "${address}"`,
    })
  }
  const portsText = env.B2BUA_RTP_PORTS ?? "30000-39999"
  const ports = parsePortRange(portsText)
  if (ports === undefined) {
    throw new RelayConfigError({
      key: "B2BUA_RTP_PORTS",
      reason: `expected min-max within 1024-65535 (at least 4 ports), got "${portsText}"`,
    })
  }
  const io = env.B2BUA_RELAY_IO ?? "auto"
  if (io !== "auto" && io !== "io_uring" && io !== "epoll") {
    throw new RelayConfigError({
      key: "B2BUA_RELAY_IO",
      reason: `expected auto, io_uring or epoll, got "${io}"`,
    })
  }
  // Each session holds two port pairs.
  const pairs = Math.floor((ports.max - ports.min + 1) / 2)
  return {
    relayId: idText === undefined ? defaultInstanceId("r") : InstanceId(idText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    address,
    ports,
    maxSessions: int(env, "B2BUA_RELAY_MAX_SESSIONS", Math.max(1, Math.floor(pairs / 2)), 1, 1_000_000),
    io,
    // 0.2 ms: batches several packets per wake-up at moderate load, small against 20 ms packetisation.
    coalesceUs: int(env, "B2BUA_RELAY_COALESCE_US", 200, 0, 10_000),
    // 10 s: longer than any jitter buffer or retransmitted re-INVITE, short enough not to starve the range.
    quarantineMs: int(env, "B2BUA_RELAY_QUARANTINE_MS", 10_000, 0, 3_600_000),
    mediaTimeoutMs: int(env, "B2BUA_RELAY_MEDIA_TIMEOUT_MS", 60_000, 1000, 3_600_000),
    pollMs: int(env, "B2BUA_RELAY_POLL_MS", 250, 10, 10_000),
    announceMs: int(env, "B2BUA_RELAY_ANNOUNCE_MS", 1000, 100, 60_000),
  }
}
