/**
 * Call control's configuration, from the environment (read here only). Errors name the variable.
 * Until the routing configuration file and the admin API land, one default route sends every call to
 * `B2BUA_ROUTE_TARGET` (the demo callee).
 */
import { hostname } from "node:os"
import { InstanceId, isInstanceId, parseHostPort } from "@b2bua/contracts"
import { Data } from "effect"

export interface CallControlConfig {
  readonly instance: InstanceId
  readonly natsUrl: string
  /** Where the default route sends calls (host:port). */
  readonly routeTarget: { readonly host: string; readonly port: number }
  /** The address the suite's SIP listeners are reached at, for Via and Contact when they listen on 0.0.0.0. */
  readonly advertisedHost: string
  /** Most calls in progress on this instance; beyond it new INVITEs are refused (503 at the edge). */
  readonly maxCalls: number
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
  const base = `c${
    hostname()
      .replace(/[^a-z0-9]/gi, "")
      .toLowerCase()
      .slice(0, 8) || "cc"
  }${process.pid.toString(36)}`
  return {
    instance: instanceText === undefined ? InstanceId(base.slice(0, 16)) : InstanceId(instanceText),
    natsUrl: env.NATS_URL ?? "nats://127.0.0.1:4222",
    routeTarget,
    advertisedHost: env.B2BUA_ADVERTISED_HOST ?? "127.0.0.1",
    maxCalls: Number(maxCallsText),
  }
}
