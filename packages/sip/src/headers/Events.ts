/** Event and Subscription-State (RFC 6665 §8.2.1, §8.2.3). */
import { formatParams, getParam, isToken, type Params, readParams, trimWsp } from "../grammar/Scanner.js"
import { badHeaderValue } from "../message/SipParseError.js"
import type { HeaderCodec } from "./HeaderCodec.js"

export interface EventValue {
  /** event-type: package [ "." template ]. */
  readonly package: string
  readonly id: string | undefined
  readonly params: Params
}

export const Event: HeaderCodec<EventValue> = {
  name: "Event",
  parse: (value) => {
    const semi = value.indexOf(";")
    const pkg = trimWsp(semi < 0 ? value : value.slice(0, semi))
    if (!isToken(pkg)) throw badHeaderValue("Event", "event type is not a token")
    const params = semi < 0 ? [] : readParams(value, semi, "Event header").params
    return { package: pkg, id: getParam(params, "id") ?? undefined, params }
  },
  format: (e) => `${e.package}${formatParams(e.params)}`,
}

export interface SubscriptionStateValue {
  readonly state: "active" | "pending" | "terminated" | string
  readonly expires: number | undefined
  readonly reason: string | undefined
  readonly retryAfter: number | undefined
  readonly params: Params
}

export const SubscriptionState: HeaderCodec<SubscriptionStateValue> = {
  name: "Subscription-State",
  parse: (value) => {
    const semi = value.indexOf(";")
    const state = trimWsp(semi < 0 ? value : value.slice(0, semi)).toLowerCase()
    if (!isToken(state)) throw badHeaderValue("Subscription-State", "state is not a token")
    const params = semi < 0 ? [] : readParams(value, semi, "Subscription-State header").params
    const num = (name: string): number | undefined => {
      const v = getParam(params, name)
      if (v == null) return undefined
      if (!/^\d{1,10}$/.test(v)) throw badHeaderValue("Subscription-State", `${name} is not a number`)
      return Number(v)
    }
    return {
      state,
      expires: num("expires"),
      reason: getParam(params, "reason") ?? undefined,
      retryAfter: num("retry-after"),
      params,
    }
  },
  format: (s) => `${s.state}${formatParams(s.params)}`,
}
