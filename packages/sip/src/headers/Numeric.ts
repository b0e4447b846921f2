/**
 * Headers that hold a number of seconds or a sequence number, with parameters where the RFC allows:
 * Expires / Min-Expires (RFC 3261 §20.19, §20.23), Session-Expires and Min-SE (RFC 4028 §4, §5),
 * RSeq and RAck (RFC 3262 §7.1, §7.2), Retry-After (RFC 3261 §20.33).
 */

import type { RAckValue } from "../dialog/ReliableProvisional.js"
import {
  formatParams,
  getParam,
  type Params,
  parseUnsigned,
  readParams,
  skipWsp,
  trimWsp,
} from "../grammar/Scanner.js"
import { badHeaderValue } from "../message/SipParseError.js"
import type { HeaderCodec } from "./HeaderCodec.js"

/** delta-seconds = 1*DIGIT; values beyond 2^32-1 are clamped to it (RFC 3261 §20.19 leniency). */
const MAX_DELTA = 2 ** 32 - 1

const parseDelta = (text: string, name: string): number => {
  const t = trimWsp(text)
  if (!/^\d{1,20}$/.test(t)) throw badHeaderValue(name, "not a number of seconds")
  return Math.min(Number(t), MAX_DELTA)
}

const deltaCodec = (name: string): HeaderCodec<number> => ({
  name,
  parse: (value) => parseDelta(value, name),
  format: (n) => String(n),
})

export const Expires = deltaCodec("Expires")
export const MinExpires = deltaCodec("Min-Expires")

/** Seconds followed by parameters. */
const readDeltaWithParams = (value: string, name: string): { seconds: number; params: Params } => {
  const semi = value.indexOf(";")
  const seconds = parseDelta(semi < 0 ? value : value.slice(0, semi), name)
  const params = semi < 0 ? [] : readParams(value, semi, `${name} header`).params
  return { seconds, params }
}

export interface SessionExpires {
  readonly seconds: number
  readonly refresher: "uac" | "uas" | undefined
  readonly params: Params
}

/** RFC 4028 §4: Session-Expires = delta-seconds *(SEMI se-params); se-params = refresher-param / generic-param. */
export const SessionExpiresHeader: HeaderCodec<SessionExpires> = {
  name: "Session-Expires",
  parse: (value) => {
    const { seconds, params } = readDeltaWithParams(value, "Session-Expires")
    const refresher = getParam(params, "refresher")?.toLowerCase()
    if (refresher !== undefined && refresher !== "uac" && refresher !== "uas") {
      throw badHeaderValue("Session-Expires", "refresher must be uac or uas")
    }
    return { seconds, refresher, params: params.filter(([n]) => n.toLowerCase() !== "refresher") }
  },
  format: (s) =>
    `${s.seconds}${s.refresher === undefined ? "" : `;refresher=${s.refresher}`}${formatParams(s.params)}`,
}

/** RFC 4028 §5: Min-SE = delta-seconds *(SEMI generic-param). */
export const MinSE: HeaderCodec<number> = {
  name: "Min-SE",
  parse: (value) => readDeltaWithParams(value, "Min-SE").seconds,
  format: (n) => String(n),
}

/** RFC 3262 §7.1: RSeq = 1*DIGIT, 1 to 2^31-1. */
export const RSeq: HeaderCodec<number> = {
  name: "RSeq",
  parse: (value) => {
    const n = parseUnsigned(trimWsp(value), 10)
    if (n < 1 || n > 2 ** 31 - 1) throw badHeaderValue("RSeq", "not a number from 1 to 2^31-1")
    return n
  },
  format: (n) => String(n),
}

/** RFC 3262 §7.2: RAck = response-num LWS CSeq-num LWS Method. */
export const RAck: HeaderCodec<RAckValue> = {
  name: "RAck",
  parse: (value) => {
    const parts = trimWsp(value).split(/[ \t]+/)
    if (parts.length !== 3) throw badHeaderValue("RAck", "expected response-num, CSeq number and method")
    const rseq = parseUnsigned(parts[0]!, 10)
    const cseq = parseUnsigned(parts[1]!, 10)
    if (rseq < 1 || cseq < 0 || cseq > 2 ** 31 - 1) throw badHeaderValue("RAck", "numbers out of range")
    return { rseq, cseq, method: parts[2]! }
  },
  format: (r) => `${r.rseq} ${r.cseq} ${r.method}`,
}

export interface RetryAfterValue {
  readonly seconds: number
  readonly comment: string | undefined
  readonly duration: number | undefined
}

/** RFC 3261 §20.33: Retry-After = delta-seconds [ comment ] *( SEMI retry-param ). */
export const RetryAfter: HeaderCodec<RetryAfterValue> = {
  name: "Retry-After",
  parse: (value) => {
    let i = skipWsp(value, 0)
    const start = i
    while (i < value.length && value.charCodeAt(i) >= 48 && value.charCodeAt(i) <= 57) i++
    const seconds = parseDelta(value.slice(start, i), "Retry-After")
    i = skipWsp(value, i)
    let comment: string | undefined
    if (value.charCodeAt(i) === 40) {
      const close = value.indexOf(")", i)
      if (close < 0) throw badHeaderValue("Retry-After", "unterminated comment")
      comment = value.slice(i + 1, close)
      i = close + 1
    }
    const params = readParams(value, i, "Retry-After header").params
    const durationText = getParam(params, "duration")
    return {
      seconds,
      comment,
      duration: durationText == null ? undefined : parseDelta(durationText, "Retry-After"),
    }
  },
  format: (r) =>
    `${r.seconds}${r.comment === undefined ? "" : ` (${r.comment})`}${r.duration === undefined ? "" : `;duration=${r.duration}`}`,
}
