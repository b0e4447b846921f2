/**
 * Call control's configuration, from the environment (read here only). Errors name the variable.
 * Routing itself lives in the KV store (seeded from `B2BUA_ROUTING_FILE`); `B2BUA_ROUTE_TARGET` is where
 * the built-in configuration's default route goes when neither the store nor a file has one.
 */
import { jetStreamReplicasFrom } from "@b2bua/bus"
import { loadConfigFile } from "@b2bua/config"
import {
  decodeRoutingConfig,
  defaultInstanceId,
  InstanceId,
  isInstanceId,
  parseHostPort,
  type RoutingConfig,
} from "@b2bua/contracts"
import { Data, Result } from "effect"
import type { MediaMode } from "./media/MediaSeam.js"
import { RFC4028_MIN_SE, type SessionTimerPolicy } from "./SessionTimer.js"

export interface CallControlConfig {
  readonly instance: InstanceId
  readonly natsUrl: string
  /** Copies of the KV buckets and streams this service creates (`B2BUA_JETSTREAM_REPLICAS`). */
  readonly jetStreamReplicas: number
  /** Where the built-in default route sends calls (host:port). */
  readonly routeTarget: { readonly host: string; readonly port: number }
  /** The routing configuration file that seeds an empty store (YAML), checked at start. */
  readonly routingFile: { readonly path: string; readonly config: RoutingConfig } | undefined
  /** How often the routing store is read again (ms): the delay before a change reaches new calls. */
  readonly routingRefreshMs: number
  /** `relay`: every SDP goes through the SDP negotiator and media through the relay; `passthrough`: unchanged. */
  readonly media: MediaMode
  /** `service`: the auth service identifies callers and locates registered users; `local`: source CIDRs only. */
  readonly auth: "service" | "local"
  /** The edges' SIP port, for the Via of the suite's own pings before any edge has been heard from. */
  readonly sipPort: number
  /** The address the suite's SIP listeners are reached at, for Via and Contact when they listen on 0.0.0.0. */
  readonly advertisedHost: string
  /** Most calls in progress on this instance; beyond it new INVITEs are refused (503 at the edge). */
  readonly maxCalls: number
  /** Session timers (RFC 4028): the interval asked on B-legs, the Min-SE, the A-leg refresher policy. */
  readonly sessionTimer: SessionTimerPolicy
}

export class CallControlConfigError extends Data.TaggedError("CallControlConfigError")<{
  readonly key: string
  readonly reason: string
}> {
  override get message(): string {
    return `configuration ${this.key}: ${this.reason}`
  }
}

type Env = Readonly<Record<string, string | undefined>>

export const loadConfig = (env: Env): CallControlConfig => {
  const instanceText = env.B2BUA_CC_INSTANCE
  if (instanceText !== undefined && !isInstanceId(instanceText)) {
    throw new CallControlConfigError({
      key: "B2BUA_CC_INSTANCE",
      reason: "expected 1-16 lower-case letters or digits",
    })
  }
  const targetText = env.B2BUA_ROUTE_TARGET ?? env.B2BUA_DEMO_CALLEE ?? "127.0.0.1:5080"
  const routeTarget = parseHostPort(targetText)
  if (routeTarget === undefined) {
    throw new CallControlConfigError({
      key: "B2BUA_ROUTE_TARGET",
      reason: `expected host:port, got "${targetText}"`,
    })
  }
  const maxCallsText = env.B2BUA_MAX_CALLS ?? "10000"
  if (!/^\d{1,7}$/.test(maxCallsText) || Number(maxCallsText) < 1) {
    throw new CallControlConfigError({
      key: "B2BUA_MAX_CALLS",
      reason: `expected a positive integer, got "${maxCallsText}"`,
    })
  }
  const refreshText = env.B2BUA_ROUTING_REFRESH_MS ?? "2000"
  if (!/^\d{2,7}$/.test(refreshText) || Number(refreshText) < 100) {
    throw new CallControlConfigError({
      key: "B2BUA_ROUTING_REFRESH_MS",
      reason: `expected milliseconds (at least 100), got "${refreshText}"`,
    })
  }
  const sipPortText = env.B2BUA_SIP_PORT ?? "5060"
  if (!/^\d{1,5}$/.test(sipPortText) || Number(sipPortText) < 1 || Number(sipPortText) > 65535) {
    throw new CallControlConfigError({
      key: "B2BUA_SIP_PORT",
      reason: `expected a port, got "${sipPortText}"`,
    })
  }
  const media = env.B2BUA_MEDIA ?? "relay"
  if (media !== "relay" && media !== "passthrough") {
    throw new CallControlConfigError({
      key: "B2BUA_MEDIA",
      reason: `expected relay or passthrough, got "${media}"`,
    })
  }
  const auth = env.B2BUA_AUTH ?? "service"
  if (auth !== "service" && auth !== "local") {
    throw new CallControlConfigError({
      key: "B2BUA_AUTH",
      reason: `expected service or local, got "${auth}"`,
    })
  }
  const sessionTimer = loadSessionTimer(env)
  return {
    instance: instanceText === undefined ? defaultInstanceId("c") : InstanceId(instanceText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    jetStreamReplicas: jetStreamReplicasFrom(env),
    routeTarget,
    routingFile: loadRoutingFile(env.B2BUA_ROUTING_FILE),
    routingRefreshMs: Number(refreshText),
    sipPort: Number(sipPortText),
    media,
    auth,
    advertisedHost: env.B2BUA_ADVERTISED_HOST ?? "127.0.0.1",
    maxCalls: Number(maxCallsText),
    sessionTimer,
  }
}

/** RFC 4028 §4/§5: intervals of at least 90 s; the interval asked for is at least the Min-SE. */
const loadSessionTimer = (env: Env): SessionTimerPolicy => {
  const minText = env.B2BUA_MIN_SE ?? String(RFC4028_MIN_SE)
  if (!/^\d{1,5}$/.test(minText) || Number(minText) < RFC4028_MIN_SE || Number(minText) > 86400) {
    throw new CallControlConfigError({
      key: "B2BUA_MIN_SE",
      reason: `expected seconds from ${RFC4028_MIN_SE} to 86400, got "${minText}"`,
    })
  }
  const intervalText = env.B2BUA_SESSION_EXPIRES ?? "1800"
  if (
    !/^\d{1,5}$/.test(intervalText) ||
    Number(intervalText) < Number(minText) ||
    Number(intervalText) > 86400
  ) {
    throw new CallControlConfigError({
      key: "B2BUA_SESSION_EXPIRES",
      reason: `expected seconds from B2BUA_MIN_SE (${minText}) to 86400, got "${intervalText}"`,
    })
  }
  const refresher = env.B2BUA_SESSION_REFRESHER ?? "uac"
  if (refresher !== "uac" && refresher !== "uas") {
    throw new CallControlConfigError({
      key: "B2BUA_SESSION_REFRESHER",
      reason: `expected uac or uas, got "${refresher}"`,
    })
  }
  return { interval: Number(intervalText), minSE: Number(minText), aRefresher: refresher }
}

/** The file is checked at start even when the store already has a configuration: a typo fails loudly. */
const loadRoutingFile = (path: string | undefined) => {
  if (path === undefined || path === "") return undefined
  const loaded = loadConfigFile(path, decodeRoutingConfig)
  if (Result.isFailure(loaded))
    throw new CallControlConfigError({ key: "B2BUA_ROUTING_FILE", reason: loaded.failure.message })
  return { path, config: loaded.success }
}
