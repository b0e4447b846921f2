/**
 * The negotiator's configuration, from the environment (read here only). Errors name the variable.
 */
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { defaultInstanceId, InstanceId, isInstanceId } from "@b2bua/contracts"
import { Data } from "effect"

export interface NegotiatorConfig {
  readonly instance: InstanceId
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  /** How long a relay request may take before the relay counts as unavailable (then 503). */
  readonly relayTimeoutMs: number
  /**
   * Lease given to relay sessions. The call's owner renews it; if nobody does (the owner died and no
   * instance took the call over), the relay frees the ports when it lapses.
   */
  readonly leaseMs: number
  /** A relay whose last announcement is older than this is not chosen for new calls. */
  readonly relayStaleMs: number
  /** o= username of the SDP the suite sends (RFC 8866 §5.2; "-" hides the host's user names). */
  readonly originUser: string
  /** Most negotiations handled at once by this instance. */
  readonly concurrency: number
}

export class NegotiatorConfigError extends Data.TaggedError("NegotiatorConfigError")<{
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
    throw new NegotiatorConfigError({ key, reason: `expected an integer in ${min}..${max}, got "${text}"` })
  }
  return n
}

export const loadConfig = (env: Env): NegotiatorConfig => {
  const instanceText = env.B2BUA_SDP_INSTANCE
  if (instanceText !== undefined && !isInstanceId(instanceText)) {
    throw new NegotiatorConfigError({
      key: "B2BUA_SDP_INSTANCE",
      reason: "expected 1-16 lower-case letters or digits",
    })
  }
  const originUser = env.B2BUA_SDP_ORIGIN_USER ?? "-"
  if (!/^[!-~]{1,32}$/.test(originUser)) {
    throw new NegotiatorConfigError({
      key: "B2BUA_SDP_ORIGIN_USER",
      reason: "expected 1-32 visible characters without spaces",
    })
  }
  return {
    instance: instanceText === undefined ? defaultInstanceId("s") : InstanceId(instanceText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    // Relays answer from memory in well under a millisecond; a second means the relay is in trouble.
    relayTimeoutMs: int(env, "B2BUA_SDP_RELAY_TIMEOUT_MS", 1000, 50, 30_000),
    leaseMs: int(env, "B2BUA_SDP_RELAY_LEASE_MS", 300_000, 1000, 24 * 3600_000),
    // Relays announce once a second: three missed announcements take one out of the choice.
    relayStaleMs: int(env, "B2BUA_SDP_RELAY_STALE_MS", 3500, 500, 60_000),
    originUser,
    concurrency: int(env, "B2BUA_SDP_CONCURRENCY", 64, 1, 4096),
  }
}
