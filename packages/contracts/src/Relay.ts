/**
 * The RTP relay's control contract (version 1): subjects and JSON payloads between the SDP negotiator or
 * call control and an rtp-relay instance. Pure: encoders and validating decoders, no connection code.
 *
 * Subjects (request/reply unless noted):
 *   b2b.v1.relay.<relay>.session.create   CreateSession  → RelayReply<SessionCreated>
 *   b2b.v1.relay.<relay>.session.update   UpdateSession  → RelayReply<SessionUpdated>
 *   b2b.v1.relay.<relay>.session.delete   DeleteSession  → RelayReply<SessionDeleted>
 *   b2b.v1.relay.<relay>.session.renew    RenewLease     → RelayReply<LeaseRenewed>
 *   b2b.v1.relay.announce                 RelayAnnounce, published by every relay once a second
 *   b2b.v1.relay.events.<instance>        RelayEvent, published to the session's owner
 *
 * Every payload carries `v: 1`. A decoder returns the value or a `RelayContractError` naming the field
 * (a dotted path such as `legs.a.remote.port`); unknown fields are ignored so v1 peers can add optional
 * fields without breaking each other.
 *
 * Leg model: a session joins leg `a` and leg `b`. Each leg gets its own local RTP port (even) and RTCP
 * port (RTP + 1, RFC 3550 §11) on the relay; what arrives on leg a's ports is sent to leg b's remote
 * from leg b's ports, and the other way round. `remote` is the address from the leg's SDP; the relay
 * latches onto the real source of the first packets (symmetric RTP, RFC 4961) unless `strict` accepts
 * only that source once latched.
 */
import { Data } from "effect"
import { type InstanceId, isInstanceId } from "./Ids.js"

const PREFIX = "b2b.v1.relay"

export const RELAY_CONTRACT_VERSION = 1

/** A relay instance token (same alphabet as every instance id: safe in subjects). */
export type RelayId = InstanceId

/** NATS subjects of the relay control plane; call sites never write these strings. */
export const relaySubjects = {
  create: (relay: RelayId): string => `${PREFIX}.${relay}.session.create`,
  update: (relay: RelayId): string => `${PREFIX}.${relay}.session.update`,
  delete: (relay: RelayId): string => `${PREFIX}.${relay}.session.delete`,
  /** Lease renewal: a session whose lease lapses is deleted and its ports freed. */
  renew: (relay: RelayId): string => `${PREFIX}.${relay}.session.renew`,
  /** Every relay publishes its `RelayAnnounce` here once a second. */
  announce: (): string => `${PREFIX}.announce`,
  /** Media events for the call-control instance that owns the session. */
  events: (owner: InstanceId): string => `${PREFIX}.events.${owner}`,
} as const

// ---------------------------------------------------------------------------------------------------
// Values

/** Session ids are chosen by the caller (e.g. derived from the call id): 1–64 of [A-Za-z0-9._-]. */
const SESSION_ID = /^[A-Za-z0-9._-]{1,64}$/
export const isSessionId = (s: string): boolean => SESSION_ID.test(s)

export interface Endpoint {
  /** IPv4 dotted quad or IPv6 literal (no brackets); SDP `c=` carries literals on trunks. */
  readonly host: string
  readonly port: number
}

export type LegName = "a" | "b"

/** RFC 3264 §5.1 direction attribute of the leg's endpoint, as it appeared in that endpoint's SDP. */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive"

/** RTP (with RTCP beside it) or T.38 fax over UDPTL (ITU-T T.38 §9: datagrams forwarded untouched). */
export type MediaKind = "rtp" | "udptl"

export interface LegSpec {
  /** The remote RTP address from the leg's SDP; absent until known (the relay then waits to latch). */
  readonly remote?: Endpoint | undefined
  /** The remote RTCP address when SDP names one (RFC 3605 `a=rtcp`); default remote port + 1. */
  readonly remoteRtcp?: Endpoint | undefined
  /** RFC 5761: RTCP shares the RTP port on this leg (the relay also listens on rtcpPort regardless). */
  readonly rtcpMux?: boolean | undefined
  /** After latching, accept only the latched source (drops injected RTP). Default false. */
  readonly strict?: boolean | undefined
  /** Payload type this leg's endpoint uses for RFC 4733 telephone-event (digits are detected on it). */
  readonly telephoneEventPt?: number | undefined
  /** RTP clock rate of the leg's audio, for jitter in ms (RFC 3550 §6.4.1). Default 8000. */
  readonly clockRate?: number | undefined
  /** Default "sendrecv". The relay drops what an `inactive`/`recvonly` endpoint sends and does not
   *  arm the media timeout on a leg that is not expected to send. */
  readonly direction?: Direction | undefined
}

/** Payload types the same codec has on each leg: packets a→b get `b`, packets b→a get `a`. */
export interface PtMapping {
  readonly a: number
  readonly b: number
}

export interface CreateSession {
  readonly v: 1
  readonly sessionId: string
  /** Call-control instance that receives this session's events. */
  readonly owner: InstanceId
  /** Lease: without a renew within this many ms the relay deletes the session. */
  readonly leaseMs: number
  readonly legs: { readonly a: LegSpec; readonly b: LegSpec }
  readonly ptMap?: ReadonlyArray<PtMapping> | undefined
  /** No packet from either sending leg for this long → a `media-timeout` event. Default: relay config. */
  readonly mediaTimeoutMs?: number | undefined
  readonly media?: MediaKind | undefined
}

/** The local addresses the relay chose; the SDP sent to each leg carries that leg's host/ports. */
export interface LocalLeg {
  readonly host: string
  readonly rtpPort: number
  readonly rtcpPort: number
}

export interface SessionCreated {
  readonly sessionId: string
  readonly legs: { readonly a: LocalLeg; readonly b: LocalLeg }
}

/** Fields to change; absent fields keep their value. A new `remote` restarts latching on that leg. */
export interface UpdateSession {
  readonly v: 1
  readonly sessionId: string
  readonly legs?: { readonly a?: LegSpec | undefined; readonly b?: LegSpec | undefined } | undefined
  readonly ptMap?: ReadonlyArray<PtMapping> | undefined
  readonly mediaTimeoutMs?: number | undefined
  /** Switching to "udptl" (T.38 re-INVITE) keeps the ports; stats restart for the new media. */
  readonly media?: MediaKind | undefined
}

export interface DeleteSession {
  readonly v: 1
  readonly sessionId: string
}

export interface RenewLease {
  readonly v: 1
  readonly sessionId: string
  readonly leaseMs: number
}

/** One direction of one leg as received by the relay (RFC 3550 §6.4.1 receiver statistics). */
export interface StreamStats {
  readonly packets: number
  readonly bytes: number
  /** Cumulative number of packets lost (RFC 3550 §A.3): expected − received, may be negative. */
  readonly lost: number
  /** Interarrival jitter (RFC 3550 §A.8) in milliseconds. */
  readonly jitterMs: number
  /** Wall-clock ms since the epoch of the last packet, or null when none arrived. */
  readonly lastPacketAt: number | null
  readonly rtcpPackets: number
  /** Packets dropped: wrong source in strict mode, direction, or malformed. */
  readonly dropped: number
  /** Far-end view from the RTCP reports this leg sent (RFC 3550 §6.4.1), when any arrived. */
  readonly farEnd?:
    | { readonly fractionLost: number; readonly lost: number; readonly jitterMs: number }
    | undefined
  /** E-model estimate (ITU-T G.107) from loss and jitter. */
  readonly mos: number
}

export interface SessionStats {
  readonly a: StreamStats
  readonly b: StreamStats
}

export interface SessionUpdated {
  readonly sessionId: string
  readonly legs: { readonly a: LocalLeg; readonly b: LocalLeg }
}

export interface SessionDeleted {
  readonly sessionId: string
  readonly stats: SessionStats
}

export interface LeaseRenewed {
  readonly sessionId: string
  readonly leaseMs: number
}

/**
 * Why a request failed. `capacity`: the relay is full (call control answers 503 and may try another
 * relay); `no-ports`: the port range is exhausted; `bad-request`: a field is invalid (reason names it);
 * `exists`: create for a session id already present; `not-found`: no such session; `internal`.
 */
export type RelayErrorCode = "capacity" | "no-ports" | "bad-request" | "exists" | "not-found" | "internal"

export type RelayReply<T> =
  | { readonly v: 1; readonly ok: T }
  | { readonly v: 1; readonly error: { readonly code: RelayErrorCode; readonly reason: string } }

export interface RelayAnnounce {
  readonly v: 1
  readonly relayId: RelayId
  /** The address media reaches the relay on (what goes into SDP `c=`). */
  readonly address: string
  readonly sessions: number
  readonly capacity: number
  /** 0..1: the larger of sessions/capacity and the relay process's CPU share since the last announce. */
  readonly load: number
}

export type RelayEventBody =
  | { readonly type: "media-timeout"; readonly idleMs: number }
  | {
      /** RFC 4733 §2.5.1.4: reported once per event, when its end bit arrives. */
      readonly type: "dtmf"
      readonly leg: LegName
      /** RFC 4733 §3.2 event code 0–15 as "0"–"9", "*", "#", "A"–"D"; other codes as decimal strings. */
      readonly digit: string
      readonly durationMs: number
      readonly volume: number
    }
  | { readonly type: "lease-expired" }

export type RelayEvent = {
  readonly v: 1
  readonly relayId: RelayId
  readonly sessionId: string
} & RelayEventBody

// ---------------------------------------------------------------------------------------------------
// Errors

export class RelayContractError extends Data.TaggedError("RelayContractError")<{
  /** Dotted path of the offending field, or "" for the payload itself. */
  readonly field: string
  readonly reason: string
}> {
  override get message(): string {
    return this.field === "" ? `relay payload: ${this.reason}` : `relay payload ${this.field}: ${this.reason}`
  }
}

// ---------------------------------------------------------------------------------------------------
// Encoding

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** JSON of any relay payload (undefined fields vanish, as JSON does). */
export const encodeRelayPayload = (
  value:
    | CreateSession
    | UpdateSession
    | DeleteSession
    | RenewLease
    | RelayAnnounce
    | RelayEvent
    | RelayReply<SessionCreated | SessionUpdated | SessionDeleted | LeaseRenewed>,
): Uint8Array => encoder.encode(JSON.stringify(value))

// ---------------------------------------------------------------------------------------------------
// Decoding: a tiny field reader that names paths in its errors.

type Fail = RelayContractError
const fail = (field: string, reason: string): Fail => new RelayContractError({ field, reason })
const isFail = (x: unknown): x is Fail => x instanceof RelayContractError

type Obj = ReadonlyMap<string, unknown>
const join = (path: string, key: string): string => (path === "" ? key : `${path}.${key}`)

const asObject = (value: unknown, path: string): Obj | Fail =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? new Map(Object.entries(value))
    : fail(path, "expected an object")

const parseJson = (data: Uint8Array): Obj | Fail => {
  let text: string
  try {
    text = decoder.decode(data)
  } catch {
    return fail("", "not UTF-8")
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return fail("", "not JSON")
  }
  const o = asObject(value, "")
  if (isFail(o)) return o
  if (o.get("v") !== RELAY_CONTRACT_VERSION) return fail("v", `expected ${RELAY_CONTRACT_VERSION}`)
  return o
}

const int = (o: Obj, path: string, key: string, min: number, max: number): number | Fail => {
  const v = o.get(key)
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    return fail(join(path, key), `expected an integer in ${min}..${max}`)
  }
  return v
}
const optInt = (o: Obj, path: string, key: string, min: number, max: number): number | undefined | Fail =>
  o.get(key) === undefined ? undefined : int(o, path, key, min, max)

const num = (o: Obj, path: string, key: string, min: number, max: number): number | Fail => {
  const v = o.get(key)
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    return fail(join(path, key), `expected a number in ${min}..${max}`)
  }
  return v
}

const str = (o: Obj, path: string, key: string): string | Fail => {
  const v = o.get(key)
  return typeof v === "string" ? v : fail(join(path, key), "expected a string")
}

const optBool = (o: Obj, path: string, key: string): boolean | undefined | Fail => {
  const v = o.get(key)
  if (v === undefined) return undefined
  return typeof v === "boolean" ? v : fail(join(path, key), "expected a boolean")
}

const oneOf = <T extends string>(
  o: Obj,
  path: string,
  key: string,
  values: ReadonlyArray<T>,
): T | undefined | Fail => {
  const v = o.get(key)
  if (v === undefined) return undefined
  const hit = values.find((x) => x === v)
  return hit ?? fail(join(path, key), `expected one of ${values.join(", ")}`)
}

const sessionIdOf = (o: Obj): string | Fail => {
  const s = str(o, "", "sessionId")
  if (isFail(s)) return s
  return isSessionId(s) ? s : fail("sessionId", "expected 1-64 of A-Z a-z 0-9 . _ -")
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/
/** An IP literal: IPv4 dotted quad, or an IPv6 literal (colons required). */
export const isIpLiteral = (s: string): boolean => IPV4.test(s) || (s.includes(":") && IPV6.test(s))

const endpoint = (value: unknown, path: string): Endpoint | Fail => {
  const o = asObject(value, path)
  if (isFail(o)) return o
  const host = str(o, path, "host")
  if (isFail(host)) return host
  if (!isIpLiteral(host)) return fail(join(path, "host"), "expected an IPv4 or IPv6 literal")
  const port = int(o, path, "port", 1, 65535)
  if (isFail(port)) return port
  return { host, port }
}
const optEndpoint = (o: Obj, path: string, key: string): Endpoint | undefined | Fail => {
  const v = o.get(key)
  return v === undefined ? undefined : endpoint(v, join(path, key))
}

const DIRECTIONS: ReadonlyArray<Direction> = ["sendrecv", "sendonly", "recvonly", "inactive"]
const MEDIA: ReadonlyArray<MediaKind> = ["rtp", "udptl"]

const legSpec = (value: unknown, path: string): LegSpec | Fail => {
  const o = asObject(value, path)
  if (isFail(o)) return o
  const remote = optEndpoint(o, path, "remote")
  if (isFail(remote)) return remote
  const remoteRtcp = optEndpoint(o, path, "remoteRtcp")
  if (isFail(remoteRtcp)) return remoteRtcp
  const rtcpMux = optBool(o, path, "rtcpMux")
  if (isFail(rtcpMux)) return rtcpMux
  const strict = optBool(o, path, "strict")
  if (isFail(strict)) return strict
  // RFC 3551 §3: dynamic payload types 96–127; RFC 4733 events use a dynamic type, but accept 0–127.
  const telephoneEventPt = optInt(o, path, "telephoneEventPt", 0, 127)
  if (isFail(telephoneEventPt)) return telephoneEventPt
  const clockRate = optInt(o, path, "clockRate", 1000, 192000)
  if (isFail(clockRate)) return clockRate
  const direction = oneOf(o, path, "direction", DIRECTIONS)
  if (isFail(direction)) return direction
  return { remote, remoteRtcp, rtcpMux, strict, telephoneEventPt, clockRate, direction }
}

const legs = (o: Obj, required: boolean): { a?: LegSpec | undefined; b?: LegSpec | undefined } | Fail => {
  const v = o.get("legs")
  if (v === undefined && !required) return {}
  const l = asObject(v, "legs")
  if (isFail(l)) return l
  const out: { a?: LegSpec | undefined; b?: LegSpec | undefined } = {}
  for (const name of ["a", "b"] as const) {
    const leg = l.get(name)
    if (leg === undefined) {
      if (required) return fail(`legs.${name}`, "missing")
      continue
    }
    const spec = legSpec(leg, `legs.${name}`)
    if (isFail(spec)) return spec
    out[name] = spec
  }
  return out
}

const ptMap = (o: Obj): ReadonlyArray<PtMapping> | undefined | Fail => {
  const v = o.get("ptMap")
  if (v === undefined) return undefined
  if (!Array.isArray(v)) return fail("ptMap", "expected an array")
  if (v.length > 32) return fail("ptMap", "at most 32 entries")
  const out: Array<PtMapping> = []
  const seenA = new Set<number>()
  const seenB = new Set<number>()
  for (let i = 0; i < v.length; i++) {
    const path = `ptMap.${i}`
    const e = asObject(v[i], path)
    if (isFail(e)) return e
    const a = int(e, path, "a", 0, 127)
    if (isFail(a)) return a
    const b = int(e, path, "b", 0, 127)
    if (isFail(b)) return b
    // A payload type maps to one number on the other leg, or rewriting would be ambiguous.
    if (seenA.has(a)) return fail(`${path}.a`, `payload type ${a} mapped twice`)
    if (seenB.has(b)) return fail(`${path}.b`, `payload type ${b} mapped twice`)
    seenA.add(a)
    seenB.add(b)
    out.push({ a, b })
  }
  return out
}

const LEASE_MAX_MS = 24 * 3600 * 1000
const TIMEOUT_MAX_MS = 3600 * 1000

export const decodeCreateSession = (data: Uint8Array): CreateSession | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const sessionId = sessionIdOf(o)
  if (isFail(sessionId)) return sessionId
  const owner = str(o, "", "owner")
  if (isFail(owner)) return owner
  if (!isInstanceId(owner)) return fail("owner", "expected an instance id")
  const leaseMs = int(o, "", "leaseMs", 1000, LEASE_MAX_MS)
  if (isFail(leaseMs)) return leaseMs
  const l = legs(o, true)
  if (isFail(l)) return l
  const pts = ptMap(o)
  if (isFail(pts)) return pts
  const mediaTimeoutMs = optInt(o, "", "mediaTimeoutMs", 1000, TIMEOUT_MAX_MS)
  if (isFail(mediaTimeoutMs)) return mediaTimeoutMs
  const media = oneOf(o, "", "media", MEDIA)
  if (isFail(media)) return media
  if (l.a === undefined || l.b === undefined) return fail("legs", "expected a and b")
  return { v: 1, sessionId, owner, leaseMs, legs: { a: l.a, b: l.b }, ptMap: pts, mediaTimeoutMs, media }
}

export const decodeUpdateSession = (data: Uint8Array): UpdateSession | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const sessionId = sessionIdOf(o)
  if (isFail(sessionId)) return sessionId
  const l = legs(o, false)
  if (isFail(l)) return l
  const pts = ptMap(o)
  if (isFail(pts)) return pts
  const mediaTimeoutMs = optInt(o, "", "mediaTimeoutMs", 1000, TIMEOUT_MAX_MS)
  if (isFail(mediaTimeoutMs)) return mediaTimeoutMs
  const media = oneOf(o, "", "media", MEDIA)
  if (isFail(media)) return media
  return { v: 1, sessionId, legs: l, ptMap: pts, mediaTimeoutMs, media }
}

export const decodeDeleteSession = (data: Uint8Array): DeleteSession | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const sessionId = sessionIdOf(o)
  if (isFail(sessionId)) return sessionId
  return { v: 1, sessionId }
}

export const decodeRenewLease = (data: Uint8Array): RenewLease | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const sessionId = sessionIdOf(o)
  if (isFail(sessionId)) return sessionId
  const leaseMs = int(o, "", "leaseMs", 1000, LEASE_MAX_MS)
  if (isFail(leaseMs)) return leaseMs
  return { v: 1, sessionId, leaseMs }
}

const ERROR_CODES: ReadonlyArray<RelayErrorCode> = [
  "capacity",
  "no-ports",
  "bad-request",
  "exists",
  "not-found",
  "internal",
]

/** Decodes a reply envelope; `ok` is checked by the given decoder of the success body. */
const decodeReply = <T>(
  data: Uint8Array,
  body: (o: Obj, path: string) => T | Fail,
): RelayReply<T> | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const err = o.get("error")
  if (err !== undefined) {
    const e = asObject(err, "error")
    if (isFail(e)) return e
    const code = oneOf(e, "error", "code", ERROR_CODES)
    if (isFail(code)) return code
    if (code === undefined) return fail("error.code", "missing")
    const reason = str(e, "error", "reason")
    if (isFail(reason)) return reason
    return { v: 1, error: { code, reason } }
  }
  const ok = asObject(o.get("ok"), "ok")
  if (isFail(ok)) return fail("", "expected ok or error")
  const value = body(ok, "ok")
  if (isFail(value)) return value
  return { v: 1, ok: value }
}

const replySessionId = (o: Obj, path: string): string | Fail => {
  const s = str(o, path, "sessionId")
  if (isFail(s)) return s
  return isSessionId(s) ? s : fail(join(path, "sessionId"), "expected a session id")
}

const localLeg = (value: unknown, path: string): LocalLeg | Fail => {
  const o = asObject(value, path)
  if (isFail(o)) return o
  const host = str(o, path, "host")
  if (isFail(host)) return host
  if (!isIpLiteral(host)) return fail(join(path, "host"), "expected an IPv4 or IPv6 literal")
  const rtpPort = int(o, path, "rtpPort", 1, 65535)
  if (isFail(rtpPort)) return rtpPort
  const rtcpPort = int(o, path, "rtcpPort", 1, 65535)
  if (isFail(rtcpPort)) return rtcpPort
  return { host, rtpPort, rtcpPort }
}

const localLegs = (o: Obj, path: string): { a: LocalLeg; b: LocalLeg } | Fail => {
  const p = join(path, "legs")
  const l = asObject(o.get("legs"), p)
  if (isFail(l)) return l
  const a = localLeg(l.get("a"), `${p}.a`)
  if (isFail(a)) return a
  const b = localLeg(l.get("b"), `${p}.b`)
  if (isFail(b)) return b
  return { a, b }
}

const sessionWithLegs = (o: Obj, path: string): SessionCreated | Fail => {
  const sessionId = replySessionId(o, path)
  if (isFail(sessionId)) return sessionId
  const l = localLegs(o, path)
  if (isFail(l)) return l
  return { sessionId, legs: l }
}

const streamStats = (value: unknown, path: string): StreamStats | Fail => {
  const o = asObject(value, path)
  if (isFail(o)) return o
  const big = Number.MAX_SAFE_INTEGER
  const packets = int(o, path, "packets", 0, big)
  if (isFail(packets)) return packets
  const bytes = int(o, path, "bytes", 0, big)
  if (isFail(bytes)) return bytes
  const lost = int(o, path, "lost", -big, big)
  if (isFail(lost)) return lost
  const jitterMs = num(o, path, "jitterMs", 0, big)
  if (isFail(jitterMs)) return jitterMs
  const last = o.get("lastPacketAt")
  const lastPacketAt = last === null ? null : int(o, path, "lastPacketAt", 0, big)
  if (isFail(lastPacketAt)) return lastPacketAt
  const rtcpPackets = int(o, path, "rtcpPackets", 0, big)
  if (isFail(rtcpPackets)) return rtcpPackets
  const dropped = int(o, path, "dropped", 0, big)
  if (isFail(dropped)) return dropped
  const mos = num(o, path, "mos", 1, 5)
  if (isFail(mos)) return mos
  const fe = o.get("farEnd")
  if (fe === undefined) return { packets, bytes, lost, jitterMs, lastPacketAt, rtcpPackets, dropped, mos }
  const fp = join(path, "farEnd")
  const f = asObject(fe, fp)
  if (isFail(f)) return f
  const fractionLost = num(f, fp, "fractionLost", 0, 1)
  if (isFail(fractionLost)) return fractionLost
  const feLost = int(f, fp, "lost", -big, big)
  if (isFail(feLost)) return feLost
  const feJitter = num(f, fp, "jitterMs", 0, big)
  if (isFail(feJitter)) return feJitter
  const farEnd = { fractionLost, lost: feLost, jitterMs: feJitter }
  return { packets, bytes, lost, jitterMs, lastPacketAt, rtcpPackets, dropped, mos, farEnd }
}

export const decodeCreateReply = (data: Uint8Array): RelayReply<SessionCreated> | RelayContractError =>
  decodeReply(data, sessionWithLegs)

export const decodeUpdateReply = (data: Uint8Array): RelayReply<SessionUpdated> | RelayContractError =>
  decodeReply(data, sessionWithLegs)

export const decodeDeleteReply = (data: Uint8Array): RelayReply<SessionDeleted> | RelayContractError =>
  decodeReply(data, (o, path) => {
    const sessionId = replySessionId(o, path)
    if (isFail(sessionId)) return sessionId
    const sp = join(path, "stats")
    const s = asObject(o.get("stats"), sp)
    if (isFail(s)) return s
    const a = streamStats(s.get("a"), `${sp}.a`)
    if (isFail(a)) return a
    const b = streamStats(s.get("b"), `${sp}.b`)
    if (isFail(b)) return b
    return { sessionId, stats: { a, b } }
  })

export const decodeRenewReply = (data: Uint8Array): RelayReply<LeaseRenewed> | RelayContractError =>
  decodeReply(data, (o, path) => {
    const sessionId = replySessionId(o, path)
    if (isFail(sessionId)) return sessionId
    const leaseMs = int(o, path, "leaseMs", 1000, LEASE_MAX_MS)
    if (isFail(leaseMs)) return leaseMs
    return { sessionId, leaseMs }
  })

export const decodeRelayAnnounce = (data: Uint8Array): RelayAnnounce | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const relayId = str(o, "", "relayId")
  if (isFail(relayId)) return relayId
  if (!isInstanceId(relayId)) return fail("relayId", "expected an instance id")
  const address = str(o, "", "address")
  if (isFail(address)) return address
  if (!isIpLiteral(address)) return fail("address", "expected an IPv4 or IPv6 literal")
  const sessions = int(o, "", "sessions", 0, Number.MAX_SAFE_INTEGER)
  if (isFail(sessions)) return sessions
  const capacity = int(o, "", "capacity", 0, Number.MAX_SAFE_INTEGER)
  if (isFail(capacity)) return capacity
  const load = num(o, "", "load", 0, 1)
  if (isFail(load)) return load
  return { v: 1, relayId, address, sessions, capacity, load }
}

export const decodeRelayEvent = (data: Uint8Array): RelayEvent | RelayContractError => {
  const o = parseJson(data)
  if (isFail(o)) return o
  const relayId = str(o, "", "relayId")
  if (isFail(relayId)) return relayId
  if (!isInstanceId(relayId)) return fail("relayId", "expected an instance id")
  const sessionId = sessionIdOf(o)
  if (isFail(sessionId)) return sessionId
  const type = oneOf(o, "", "type", ["media-timeout", "dtmf", "lease-expired"] as const)
  if (isFail(type)) return type
  switch (type) {
    case undefined:
      return fail("type", "missing")
    case "media-timeout": {
      const idleMs = int(o, "", "idleMs", 0, Number.MAX_SAFE_INTEGER)
      if (isFail(idleMs)) return idleMs
      return { v: 1, relayId, sessionId, type, idleMs }
    }
    case "dtmf": {
      const leg = oneOf(o, "", "leg", ["a", "b"] as const)
      if (isFail(leg)) return leg
      if (leg === undefined) return fail("leg", "missing")
      const digit = str(o, "", "digit")
      if (isFail(digit)) return digit
      if (!/^([0-9*#A-D]|\d{2,3})$/.test(digit)) return fail("digit", "expected 0-9 * # A-D or an event code")
      // RFC 4733 §2.3.5: duration is 16 bits of timestamp units; long events are split, so cap at 1 h.
      const durationMs = int(o, "", "durationMs", 0, 3_600_000)
      if (isFail(durationMs)) return durationMs
      // RFC 4733 §2.3.4: volume is 0..63 (-dBm0, sign dropped).
      const volume = int(o, "", "volume", 0, 63)
      if (isFail(volume)) return volume
      return { v: 1, relayId, sessionId, type, leg, digit, durationMs, volume }
    }
    case "lease-expired":
      return { v: 1, relayId, sessionId, type }
  }
}
