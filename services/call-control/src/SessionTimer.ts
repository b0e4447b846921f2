/**
 * Session timers (RFC 4028) per leg. The suite is UAS on the A-leg and UAC on the B-leg, so each leg has
 * its own Session-Expires, refresher and Min-SE, and each leg's timer runs on its own:
 * - A-leg (§9): the caller's Session-Expires is answered in the 2xx (422 with the suite's Min-SE when it is
 *   too small, §6 — checked before the call starts, `admitSessionTimer`); the refresher is the caller's
 *   choice, else the policy's when the caller supports timers, else the suite (`uas`).
 * - B-leg (§7): the suite's own Session-Expires/Min-SE and `Supported: timer` on its INVITE; a 422 makes it
 *   retry with the callee's Min-SE (§7.3), never reaching A; the callee's 2xx decides the refresher.
 * - Where the suite is the refresher it refreshes at half the interval (§10) with UPDATE when the peer
 *   allows it, else a re-INVITE offering the suite's last SDP on that leg unchanged (RFC 3264 §8); where
 *   the peer is, the suite ends the call on both legs with a Reason header (RFC 3326) when no refresh came
 *   by the expiry minus min(32 s, interval/3) (§10).
 * - A refresh from a peer that changes nothing (an UPDATE without body, a re-INVITE re-offering the
 *   peer's last accepted SDP: the same o= line) is answered here, on its own leg: the legs stay independent, as a B2BUA/SBC does.
 *   A re-INVITE that carries a change is relayed as before; each leg then gets its own timer headers.
 * Pure: requests and responses in, the call's timer state and actions out. The shell runs the leg timers
 * `SessionA`/`SessionB` with StartTimer/TimerFired like the RFC 3261 timers.
 */
import {
  createResponse,
  type HeaderList,
  MinSE,
  readHeader,
  type SessionExpires,
  SessionExpiresHeader,
  SipParseError,
  type SipRequest,
  type SipResponse,
} from "@b2bua/sip"
import type { Call, CallAction, CallTimer, PendingReinvite, Step } from "./CallState.js"
import { T1, T2 } from "./CallState.js"
import { hangUpBoth } from "./Hangup.js"
import { ackFor, type Body, bodyOptions, contact, requestToA, requestToB, toB } from "./LegMessages.js"

/** RFC 4028 §4/§5: no session interval below 90 s; the recommended interval is 1800 s. */
export const RFC4028_MIN_SE = 90
/** The longest interval the suite accepts from a 422 (a day): a larger Min-SE is a broken peer. */
const MAX_INTERVAL = 86_400
/** 422 retries of one B-leg INVITE (§7.3): each must raise the interval, so two suffice. */
const MAX_422_RETRIES = 2
/** A refresh that met glare (491) is tried again after this (RFC 3261 §14.1: 2.1–4 s for the owner). */
const GLARE_RETRY_MS = 2100

export interface SessionTimerPolicy {
  /** The Session-Expires the suite asks for on the B-leg, and grants A when A asks none (seconds). */
  readonly interval: number
  /** The suite's Min-SE: smaller intervals are refused with 422 (§6) (seconds, at least 90). */
  readonly minSE: number
  /** Who refreshes the A-leg when the caller supports timers and leaves the choice to the suite (§9). */
  readonly aRefresher: "uac" | "uas"
}

export const defaultSessionTimerPolicy: SessionTimerPolicy = {
  interval: 1800,
  minSE: RFC4028_MIN_SE,
  aRefresher: "uac",
}

export type Leg = "A" | "B"

/** A refresh the suite sent and awaits, retransmitted over UDP like any client transaction (§17.1). */
export interface SessionRefresh {
  readonly request: SipRequest
  readonly intervalMs: number
  readonly elapsedMs: number
  /** A provisional response came (an INVITE refresh is then no longer retransmitted). */
  readonly heard: boolean
}

/** One leg's session timer. */
export interface LegSession {
  /** The negotiated session interval (seconds). */
  readonly interval: number
  /** Who keeps the session alive on this leg. */
  readonly refresher: "suite" | "peer"
  /** The largest Min-SE known on this leg (seconds), sent with the suite's refreshes. */
  readonly minSE: number
  /** The peer allows UPDATE (RFC 3311): refreshes use it, else re-INVITE. */
  readonly update: boolean
  /** What the leg's timer does when it fires (when no refresh is in flight). */
  readonly next: "Refresh" | "Expire"
  readonly refresh: SessionRefresh | undefined
  /** The ACK of the suite's last re-INVITE refresh: a retransmitted 2xx gets it again (§13.2.2.4). */
  readonly ack?: SipRequest | undefined
}

/** The body of the SDP the suite last sent on a leg (a message: the media seam may rewrite it in place). */
export interface SdpSource {
  readonly body: Buffer
  readonly contentType: string | undefined
}

export interface LocalAnswer {
  readonly leg: Leg
  readonly seq: number
  readonly method: string
  readonly response: SipResponse
}

export interface SessionTimers {
  readonly policy: SessionTimerPolicy
  /** What the B-leg INVITE asks (raised by a 422, §7.3), and how many 422s it met. */
  readonly bAsk: { readonly interval: number; readonly minSE: number }
  readonly retries: number
  readonly a: LegSession | undefined
  readonly b: LegSession | undefined
  /** The suite's SDP on each leg (what it last sent there): a re-INVITE refresh offers it again. */
  readonly aSdp: SdpSource | undefined
  readonly bSdp: SdpSource | undefined
  /** The o= line of each peer's last SDP: a re-INVITE with the same one only refreshes (RFC 3264 §8). */
  readonly aOrigin: string | undefined
  readonly bOrigin: string | undefined
  /** The last refresh answered locally on each leg (retransmissions get it again; media leaves it alone). */
  readonly answered: ReadonlyArray<LocalAnswer>
}

export const initialSessionTimers = (policy: SessionTimerPolicy): SessionTimers => ({
  policy,
  bAsk: { interval: policy.interval, minSE: policy.minSE },
  retries: 0,
  a: undefined,
  b: undefined,
  aSdp: undefined,
  bSdp: undefined,
  aOrigin: undefined,
  bOrigin: undefined,
  answered: [],
})

/* ------------------------------------------------------------------------------------------------ */
/* Headers                                                                                           */

const tokens = (m: SipRequest | SipResponse, header: string): ReadonlyArray<string> =>
  m
    .headerValues(header)
    .flatMap((v) => v.split(","))
    .map((t) => t.trim().toLowerCase())
    .filter((t) => t !== "")

/** RFC 4028 §7.1: a UA that supports session timers says so in Supported (or requires them). */
export const supportsTimer = (m: SipRequest | SipResponse): boolean =>
  tokens(m, "Supported").includes("timer") || tokens(m, "Require").includes("timer")

const allowsUpdate = (m: SipRequest | SipResponse): boolean => tokens(m, "Allow").includes("update")

/** The Session-Expires of a message, or a SipParseError naming the defect. */
const sessionExpiresOf = (m: SipRequest | SipResponse): SessionExpires | SipParseError | undefined => {
  try {
    return readHeader(m, SessionExpiresHeader)
  } catch (e) {
    return e instanceof SipParseError ? e : new SipParseError("BadHeaderValue", "Bad Session-Expires header")
  }
}

const minSEOf = (m: SipRequest | SipResponse): number | SipParseError | undefined => {
  try {
    return readHeader(m, MinSE)
  } catch (e) {
    return e instanceof SipParseError ? e : new SipParseError("BadHeaderValue", "Bad Min-SE header")
  }
}

const validSE = (m: SipRequest | SipResponse): SessionExpires | undefined => {
  const se = sessionExpiresOf(m)
  return se instanceof SipParseError ? undefined : se
}

const validMinSE = (m: SipRequest | SipResponse): number | undefined => {
  const v = minSEOf(m)
  return v instanceof SipParseError ? undefined : v
}

export interface Refusal {
  readonly status: number
  readonly reason: string
  readonly headers: HeaderList
}

/**
 * Before a call (or a refresh) is accepted: a malformed Session-Expires or Min-SE gets 400 naming it; an
 * interval below the suite's Min-SE gets 422 with that Min-SE (§6) when the caller supports timers —
 * one that does not could not retry, so the suite raises the interval instead (as a proxy does, §8.1).
 */
export const admitSessionTimer = (request: SipRequest, policy: SessionTimerPolicy): Refusal | undefined => {
  const se = sessionExpiresOf(request)
  if (se instanceof SipParseError) return { status: 400, reason: `Bad Request (${se.reason})`, headers: [] }
  const min = minSEOf(request)
  if (min instanceof SipParseError) return { status: 400, reason: `Bad Request (${min.reason})`, headers: [] }
  if (se === undefined || se.seconds >= policy.minSE || !supportsTimer(request)) return undefined
  return {
    status: 422,
    reason: "Session Interval Too Small",
    headers: [["Min-SE", String(policy.minSE)]],
  }
}

/**
 * RFC 4028 §7.1: the B-leg INVITE asks for the suite's interval and Min-SE and says the suite supports
 * timers (the caller's Supported is copied; `timer` is added when it lacks it or the trunk drops it).
 */
export const offerHeaders = (
  timers: SessionTimers,
  aInvite: SipRequest,
  drop: ReadonlyArray<string>,
): HeaderList => [
  ["Session-Expires", String(timers.bAsk.interval)],
  ["Min-SE", String(timers.bAsk.minSE)],
  ...(tokens(aInvite, "Supported").includes("timer") && !drop.includes("supported")
    ? []
    : [["Supported", "timer"] as const]),
]

/** The Session-Expires value for a response on a leg, `refresher` as seen by the request's sender (UAC). */
const seValue = (leg: LegSession, senderIsPeer: boolean): string =>
  `${leg.interval};refresher=${(leg.refresher === "peer") === senderIsPeer ? "uac" : "uas"}`

/** §9: Session-Expires in a 2xx to the peer's request; Require: timer when the peer (the UAC) refreshes. */
const answerHeaders = (leg: LegSession, response: SipRequest | SipResponse | undefined): HeaderList => [
  ["Session-Expires", seValue(leg, true)],
  ...(leg.refresher === "peer" ? [["Require", "timer"] as const] : []),
  ...(response !== undefined && tokens(response, "Supported").includes("timer")
    ? []
    : [["Supported", "timer"] as const]),
]

/* ------------------------------------------------------------------------------------------------ */
/* Negotiation                                                                                       */

const legOf = (call: Call, leg: Leg): LegSession | undefined =>
  leg === "A" ? call.sessionTimer.a : call.sessionTimer.b

const withLeg = (timers: SessionTimers, leg: Leg, session: LegSession | undefined): SessionTimers =>
  leg === "A" ? { ...timers, a: session } : { ...timers, b: session }

const timerName = (leg: Leg): CallTimer => (leg === "A" ? "SessionA" : "SessionB")

/** §10: the refresher refreshes at half the interval; the other side ends the session at the expiry
 * minus the smaller of 32 seconds and a third of the interval. */
export const refreshDelayMs = (interval: number): number => interval * 500
export const expiryDelayMs = (interval: number): number => (interval - Math.min(32, interval / 3)) * 1000

/** Arms a leg's timer afresh (the session was just refreshed): its next duty and the StartTimer. */
const arm = (leg: Leg, session: LegSession): [LegSession, CallAction] => {
  const next = session.refresher === "suite" ? "Refresh" : "Expire"
  const delayMs = next === "Refresh" ? refreshDelayMs(session.interval) : expiryDelayMs(session.interval)
  return [
    { ...session, next, refresh: undefined },
    { _tag: "StartTimer", timer: timerName(leg), delayMs },
  ]
}

/**
 * §9, the suite as UAS on the A-leg: the caller's interval (raised to the Min-SEs, §5), its refresher
 * choice, else the policy's when it supports timers, else the suite's (`uas`: it cannot refresh).
 */
const negotiateA = (policy: SessionTimerPolicy, aInvite: SipRequest): LegSession => {
  const asked = validSE(aInvite)
  const supports = supportsTimer(aInvite)
  const floor = Math.max(policy.minSE, validMinSE(aInvite) ?? RFC4028_MIN_SE)
  const interval = Math.min(Math.max(asked?.seconds ?? policy.interval, floor), MAX_INTERVAL)
  const chosen = supports ? (asked?.refresher ?? policy.aRefresher) : "uas"
  return {
    interval,
    refresher: chosen === "uac" ? "peer" : "suite",
    minSE: floor,
    update: allowsUpdate(aInvite),
    next: chosen === "uac" ? "Expire" : "Refresh",
    refresh: undefined,
  }
}

/**
 * §7.2, the suite as UAC on the B-leg: the callee's 2xx decides — its Session-Expires and refresher
 * (`uac` is the suite); a 2xx without Session-Expires means no session timer on the B-leg.
 */
const fromAnswer = (
  previous: LegSession | undefined,
  minSE: number,
  response: SipResponse,
): LegSession | undefined => {
  const se = validSE(response)
  if (se === undefined) {
    // A peer that knows timers turned them off; one that does not keeps the suite refreshing (§9 uas).
    return supportsTimer(response) || previous === undefined ? undefined : previous
  }
  // The suite sent the request: `uac` (or no choice made, which a UAS must not do) is the suite.
  const suiteRefreshes = se.refresher !== "uas"
  return {
    interval: Math.min(Math.max(se.seconds, RFC4028_MIN_SE), MAX_INTERVAL),
    refresher: suiteRefreshes ? "suite" : "peer",
    minSE: Math.max(minSE, validMinSE(response) ?? 0),
    update: previous?.update ?? allowsUpdate(response),
    next: suiteRefreshes ? "Refresh" : "Expire",
    refresh: undefined,
  }
}

export interface Answered {
  readonly timers: SessionTimers
  /** Session-Expires/Require/Supported for the 2xx to A. */
  readonly toA: HeaderList
  readonly actions: ReadonlyArray<CallAction>
}

/** The peer's SDP on `leg` was accepted (its offer answered, or its answer taken): its o= line. */
const acceptedFrom = (timers: SessionTimers, leg: Leg, m: SipRequest | SipResponse): SessionTimers => {
  if (!isSdp(m)) return timers
  const origin = originOf(m.body)
  return leg === "A" ? { ...timers, aOrigin: origin } : { ...timers, bOrigin: origin }
}

/** The callee answered the B-leg INVITE: both legs' timers start; the 2xx to A carries A's (§9). */
export const onAnswered = (call: Call, bAnswer: SipResponse): Answered => {
  const timers = acceptedFrom(acceptedFrom(call.sessionTimer, "A", call.aInvite), "B", bAnswer)
  const [a, startA] = arm("A", negotiateA(timers.policy, call.aInvite))
  const b0 = fromAnswer(undefined, timers.bAsk.minSE, bAnswer)
  const b = b0 === undefined ? undefined : { ...b0, update: allowsUpdate(bAnswer) }
  const armedB = b === undefined ? undefined : arm("B", b)
  return {
    timers: { ...timers, a, b: armedB?.[0] },
    toA: answerHeaders(a, bAnswer),
    actions: [startA, ...(armedB === undefined ? [] : [armedB[1]])],
  }
}

/**
 * §7.3: the callee refused the B-leg INVITE's interval with 422: the next INVITE asks for its Min-SE.
 * Undefined when the 422 gives nothing larger to ask for, or after MAX_422_RETRIES.
 */
export const retryAfter422 = (timers: SessionTimers, response: SipResponse): SessionTimers | undefined => {
  const theirs = validMinSE(response)
  if (theirs === undefined || timers.retries >= MAX_422_RETRIES) return undefined
  if (theirs <= timers.bAsk.interval || theirs > MAX_INTERVAL) return undefined
  return {
    ...timers,
    retries: timers.retries + 1,
    bAsk: { interval: theirs, minSE: Math.max(timers.bAsk.minSE, theirs) },
  }
}

/* ------------------------------------------------------------------------------------------------ */
/* Refreshes the suite sends                                                                          */

const REFRESH_FAILED = (status: number) => `SIP;cause=${status};text="session refresh failed"`
export const SESSION_EXPIRED = 'SIP;cause=408;text="session expired"'

const sendOn = (call: Call, leg: Leg, message: SipRequest | SipResponse): CallAction =>
  leg === "A" ? { _tag: "SendA", message } : toB(call, message)

const udp = (call: Call, leg: Leg): boolean =>
  leg === "B" ? call.dest.transport === "udp" : call.aInvite.topVia.transport === "UDP"

const sdpBody = (source: SdpSource | undefined): Body | undefined =>
  source === undefined || source.body.length === 0
    ? undefined
    : { bytes: source.body, contentType: source.contentType }

const note = (leg: Leg, what: SessionTimerOutcome): CallAction => ({ _tag: "SessionTimer", leg, what })

export type SessionTimerOutcome = "refresh-sent" | "refreshed" | "expired" | "refresh-failed" | "retry-422"

/** §10: the suite refreshes the leg — UPDATE when the peer allows it, else a re-INVITE with its last SDP. */
const sendRefresh = (call: Call, leg: Leg, session: LegSession): Step => {
  const method = session.update ? "UPDATE" : "INVITE"
  // A re-INVITE while another is in progress would be glare (RFC 3261 §14.1): wait for it to finish.
  if (method === "INVITE" && call.reinvite !== undefined)
    return [call, [{ _tag: "StartTimer", timer: timerName(leg), delayMs: GLARE_RETRY_MS }]]
  const headers: HeaderList = [
    ["Contact", contact(call.id)],
    ["Session-Expires", seValue(session, false)],
    ["Min-SE", String(session.minSE)],
    ["Supported", "timer"],
  ]
  const body =
    method === "INVITE" ? sdpBody(leg === "A" ? call.sessionTimer.aSdp : call.sessionTimer.bSdp) : undefined
  const [next, request] =
    leg === "A" ? requestToA(call, method, headers, body) : requestToB(call, method, headers, body)
  const retransmit = udp(call, leg)
  const refresh: SessionRefresh = {
    request,
    intervalMs: retransmit ? T1 : 64 * T1,
    elapsedMs: 0,
    heard: false,
  }
  return [
    { ...next, sessionTimer: withLeg(next.sessionTimer, leg, { ...session, refresh }) },
    [
      sendOn(next, leg, request),
      { _tag: "StartTimer", timer: timerName(leg), delayMs: refresh.intervalMs },
      note(leg, "refresh-sent"),
    ],
  ]
}

/** The refresh again (Timer A/E over UDP, §17.1), until 64*T1: then the session is lost (§10: BYE). */
const retransmitRefresh = (call: Call, leg: Leg, session: LegSession, refresh: SessionRefresh): Step => {
  const elapsedMs = refresh.elapsedMs + refresh.intervalMs
  if (elapsedMs >= 64 * T1) {
    const [ended, actions] = hangUpBoth(call, REFRESH_FAILED(408))
    return [ended, [...actions, note(leg, "refresh-failed")]]
  }
  const resend = refresh.intervalMs < 64 * T1 && !refresh.heard && udp(call, leg)
  const doubled =
    refresh.request.method === "INVITE" ? refresh.intervalMs * 2 : Math.min(refresh.intervalMs * 2, T2)
  const intervalMs = resend ? Math.min(doubled, 64 * T1 - elapsedMs) : 64 * T1 - elapsedMs
  const next: LegSession = { ...session, refresh: { ...refresh, elapsedMs, intervalMs } }
  return [
    { ...call, sessionTimer: withLeg(call.sessionTimer, leg, next) },
    [
      ...(resend ? [sendOn(call, leg, refresh.request)] : []),
      { _tag: "StartTimer", timer: timerName(leg), delayMs: intervalMs },
    ],
  ]
}

/** A leg's session timer fired: refresh, retransmit the refresh, or end the expired session (§10). */
export const onSessionTimer = (call: Call, leg: Leg): Step => {
  const session = legOf(call, leg)
  if (session === undefined || call.phase !== "Answered") return [call, []]
  if (session.refresh !== undefined) return retransmitRefresh(call, leg, session, session.refresh)
  if (session.next === "Refresh") return sendRefresh(call, leg, session)
  const [ended, actions] = hangUpBoth(call, SESSION_EXPIRED)
  return [ended, [...actions, note(leg, "expired")]]
}

/** A response from `leg` to the suite's own refresh there; undefined when it is not one. */
export const onRefreshResponse = (call: Call, leg: Leg, m: SipResponse): Step | undefined => {
  const session = legOf(call, leg)
  const refresh = session?.refresh
  const ack = session?.ack
  if (refresh === undefined && ack !== undefined && m.cseq.method === "INVITE" && m.cseq.seq === ack.cseq.seq)
    return [call, m.status >= 200 && m.status < 300 ? [sendOn(call, leg, ack)] : []]
  if (
    session === undefined ||
    refresh === undefined ||
    m.cseq.seq !== refresh.request.cseq.seq ||
    m.cseq.method !== refresh.request.method
  )
    return undefined
  if (m.status < 200) {
    const heard: LegSession = { ...session, refresh: { ...refresh, heard: true } }
    return [{ ...call, sessionTimer: withLeg(call.sessionTimer, leg, heard) }, []]
  }
  // RFC 3261 §13.2.2.4 / §17.1.1.3: the suite ACKs the final response to its own re-INVITE.
  const ackRequest =
    refresh.request.method === "INVITE"
      ? ackFor(call, refresh.request, m, leg === "A" ? call.aTarget : call.bTarget)
      : undefined
  const acks: ReadonlyArray<CallAction> = ackRequest === undefined ? [] : [sendOn(call, leg, ackRequest)]
  const base: Call = { ...call, sent: call.sent + acks.length }
  const settle = (next: LegSession | undefined, extra: ReadonlyArray<CallAction>): Step => {
    if (next === undefined)
      return [{ ...base, sessionTimer: withLeg(base.sessionTimer, leg, undefined) }, [...acks, ...extra]]
    const [armed, start] = arm(leg, next)
    const kept: LegSession = { ...armed, ack: ackRequest }
    return [{ ...base, sessionTimer: withLeg(base.sessionTimer, leg, kept) }, [...acks, start, ...extra]]
  }
  if (m.status < 300) return settle(fromAnswer(session, session.minSE, m), [note(leg, "refreshed")])
  const cleared: LegSession = { ...session, refresh: undefined }
  const retry = (next: LegSession): Step => {
    const [sent, actions] = sendRefresh(
      { ...base, sessionTimer: withLeg(base.sessionTimer, leg, next) },
      leg,
      next,
    )
    return [sent, [...acks, ...actions]]
  }
  switch (m.status) {
    case 422: {
      // §7.4 with §7.3: the peer wants a longer interval; ask for its Min-SE at once.
      const theirs = validMinSE(m)
      if (theirs !== undefined && theirs > session.interval && theirs <= MAX_INTERVAL)
        return retry({ ...cleared, interval: theirs, minSE: Math.max(session.minSE, theirs) })
      break
    }
    case 405:
    case 501:
      // The peer does not take UPDATE after all: refresh with a re-INVITE now.
      if (refresh.request.method === "UPDATE") return retry({ ...cleared, update: false })
      break
    case 408:
    case 481: {
      // §10: a refresh that times out or finds no dialog ends the session.
      const [ended, actions] = hangUpBoth(base, REFRESH_FAILED(m.status))
      return [ended, [...acks, ...actions, note(leg, "refresh-failed")]]
    }
    case 491:
      return [
        { ...base, sessionTimer: withLeg(base.sessionTimer, leg, cleared) },
        [...acks, { _tag: "StartTimer", timer: timerName(leg), delayMs: GLARE_RETRY_MS }],
      ]
  }
  // Any other failure: the session stands until it expires (the suite sends BYE then, §10).
  const leftMs = expiryDelayMs(session.interval) - refreshDelayMs(session.interval) - refresh.elapsedMs
  return [
    { ...base, sessionTimer: withLeg(base.sessionTimer, leg, { ...cleared, next: "Expire" }) },
    [...acks, { _tag: "StartTimer", timer: timerName(leg), delayMs: Math.max(leftMs, 0) }],
  ]
}

/* ------------------------------------------------------------------------------------------------ */
/* Refreshes the peers send                                                                          */

/** The o= line of an SDP body (RFC 8866 §5.2): the same line twice means the same session version. */
const originOf = (body: Buffer): string | undefined => /^o=.*$/m.exec(body.toString("latin1"))?.[0]?.trim()

const isSdp = (m: SipRequest | SipResponse): boolean =>
  m.body.length > 0 && (m.contentType ?? "").toLowerCase().startsWith("application/sdp")

/** §9 on a refresh received on `leg`: its interval and refresher (`uac` is the peer), else the leg's. */
const negotiateRefresh = (
  policy: SessionTimerPolicy,
  session: LegSession | undefined,
  m: SipRequest,
): LegSession | undefined => {
  const se = validSE(m)
  if (se === undefined && session === undefined) return undefined
  const floor = Math.max(policy.minSE, validMinSE(m) ?? RFC4028_MIN_SE, session?.minSE ?? 0)
  const interval = Math.min(
    Math.max(se?.seconds ?? session?.interval ?? policy.interval, floor),
    MAX_INTERVAL,
  )
  const refresher = !supportsTimer(m)
    ? "suite"
    : se?.refresher === "uac"
      ? "peer"
      : se?.refresher === "uas"
        ? "suite"
        : (session?.refresher ?? "peer")
  return {
    interval,
    refresher,
    minSE: floor,
    update: session?.update ?? allowsUpdate(m),
    next: refresher === "suite" ? "Refresh" : "Expire",
    refresh: undefined,
  }
}

/**
 * A re-INVITE or UPDATE from the peer on `leg`: a malformed or too small Session-Expires is refused
 * (400, 422 with Min-SE, §6); one that only refreshes is answered here (the leg's timer restarts, the
 * other leg is untouched); undefined for one that carries a change (the caller relays it).
 */
export const onPeerRefresh = (call: Call, leg: Leg, m: SipRequest): Step | undefined => {
  if (call.phase !== "Answered") return undefined
  const timers = call.sessionTimer
  const again = timers.answered.find((x) => x.leg === leg && x.seq === m.cseq.seq && x.method === m.method)
  if (again !== undefined) return [call, [sendOn(call, leg, again.response)]]
  const refusal = admitSessionTimer(m, timers.policy)
  if (refusal !== undefined) {
    const { status, reason, headers } = refusal
    return [call, [sendOn(call, leg, createResponse(m, status, { reason, headers }))]]
  }
  const session = legOf(call, leg)
  // Glare with the suite's own refresh re-INVITE on this leg (RFC 3261 §14.2).
  if (m.method === "INVITE" && session?.refresh?.request.method === "INVITE")
    return [call, [sendOn(call, leg, createResponse(m, 491))]]
  const peerOrigin = leg === "A" ? timers.aOrigin : timers.bOrigin
  const ours = sdpBody(leg === "A" ? timers.aSdp : timers.bSdp)
  // A re-INVITE only refreshes when it re-offers the peer's last SDP and the suite has one to answer with.
  const onlyRefresh =
    m.method === "UPDATE"
      ? m.body.length === 0
      : isSdp(m) && ours !== undefined && peerOrigin !== undefined && originOf(m.body) === peerOrigin
  if (!onlyRefresh) {
    // A change would be relayed into the other leg, where the suite's own re-INVITE refresh is pending.
    const other = legOf(call, leg === "A" ? "B" : "A")
    return m.method === "INVITE" && other?.refresh?.request.method === "INVITE"
      ? [call, [sendOn(call, leg, createResponse(m, 491))]]
      : undefined
  }
  const negotiated = negotiateRefresh(timers.policy, session, m)
  const body = m.method === "INVITE" ? ours : undefined
  const headers: HeaderList = [
    ["Contact", contact(call.id)],
    ...(negotiated === undefined ? [] : answerHeaders(negotiated, undefined)),
  ]
  const response = createResponse(m, 200, { headers, ...bodyOptions(body) })
  const answered: ReadonlyArray<LocalAnswer> = [
    ...timers.answered.filter((x) => x.leg !== leg),
    { leg, seq: m.cseq.seq, method: m.method, response },
  ]
  if (negotiated === undefined)
    return [{ ...call, sessionTimer: { ...timers, answered } }, [sendOn(call, leg, response)]]
  const [armed, start] = arm(leg, negotiated)
  return [
    { ...call, sessionTimer: { ...withLeg(timers, leg, armed), answered } },
    [sendOn(call, leg, response), start, note(leg, "refreshed")],
  ]
}

/* ------------------------------------------------------------------------------------------------ */
/* Relayed re-INVITEs and UPDATEs: each leg keeps its own timer                                      */

/** The timer headers a request relayed into `leg` carries (§7.4: the leg's interval and refresher). */
export const relayedRequestHeaders = (call: Call, leg: Leg, received: SipRequest): HeaderList => {
  const session = legOf(call, leg)
  const supported: HeaderList = tokens(received, "Supported").includes("timer")
    ? []
    : [["Supported", "timer"]]
  return session === undefined
    ? supported
    : [["Session-Expires", seValue(session, false)], ["Min-SE", String(session.minSE)], ...supported]
}

/**
 * The far leg answered a relayed re-INVITE/UPDATE with 2xx: both legs were refreshed. The far leg takes
 * the response's Session-Expires (§7.2); the asking leg is negotiated from its request (§9), and the
 * answer to it carries the result.
 */
export const onRelayedRefresh = (
  call: Call,
  pending: PendingReinvite,
  response: SipResponse,
): { readonly call: Call; readonly headers: HeaderList; readonly actions: ReadonlyArray<CallAction> } => {
  if (response.status < 200 || response.status >= 300 || call.phase !== "Answered")
    return { call, headers: [], actions: [] }
  const asking = pending.from
  const far: Leg = asking === "A" ? "B" : "A"
  const farSession = legOf(call, far)
  const farNext = fromAnswer(farSession, farSession?.minSE ?? call.sessionTimer.policy.minSE, response)
  const askNext = negotiateRefresh(call.sessionTimer.policy, legOf(call, asking), pending.received)
  // The offer/answer across the legs succeeded: both peers' SDPs are now the session's.
  let timers = acceptedFrom(acceptedFrom(call.sessionTimer, asking, pending.received), far, response)
  const actions: CallAction[] = []
  if (farNext !== undefined) {
    const [armed, start] = arm(far, farNext)
    timers = withLeg(timers, far, armed)
    actions.push(start)
  } else timers = withLeg(timers, far, undefined)
  let headers: HeaderList = []
  if (askNext !== undefined) {
    const [armed, start] = arm(asking, askNext)
    timers = withLeg(timers, asking, armed)
    actions.push(start)
    headers = answerHeaders(armed, response).filter(([name]) => name !== "Supported")
  }
  return { call: { ...call, sessionTimer: timers }, headers, actions }
}

/* ------------------------------------------------------------------------------------------------ */
/* Bookkeeping the machine needs: SDPs seen, the media seam, storage, takeover                      */

/**
 * After each step: the message of the SDP the suite sends on each leg (its body is what a re-INVITE
 * refresh offers again). The peers' o= lines are recorded only when an offer/answer succeeded (the
 * initial INVITE and its 2xx, a relayed re-INVITE/UPDATE and its 2xx): a refused offer re-sent later is
 * still a change, not a refresh.
 */
export const observeSdp = ([call, actions]: Step): Step => {
  let timers = call.sessionTimer
  for (const action of actions) {
    if ((action._tag === "SendA" || action._tag === "SendB") && isSdp(action.message))
      timers =
        action._tag === "SendA" ? { ...timers, aSdp: action.message } : { ...timers, bSdp: action.message }
  }
  return timers === call.sessionTimer ? [call, actions] : [{ ...call, sessionTimer: timers }, actions]
}

/** The suite's own refreshes and local answers re-offer SDP the media seam already produced: leave them. */
export const isOwnRefresh = (call: Call, message: SipRequest | SipResponse): boolean => {
  const t = call.sessionTimer
  return (
    t.a?.refresh?.request === message ||
    t.b?.refresh?.request === message ||
    t.answered.some((x) => x.response === message)
  )
}

/** Whether what a surviving instance must know changed (stored with the call). */
export const sessionTimersChanged = (before: SessionTimers, after: SessionTimers): boolean => {
  const same = (x: LegSession | undefined, y: LegSession | undefined) =>
    x === y ||
    (x !== undefined &&
      y !== undefined &&
      x.interval === y.interval &&
      x.refresher === y.refresher &&
      x.update === y.update)
  return !same(before.a, after.a) || !same(before.b, after.b)
}

/** After a takeover: each leg's timer starts afresh (a refresh in flight died with the old owner). */
export const resumeSessionTimers = (call: Call): ReadonlyArray<CallAction> => {
  if (call.phase !== "Answered") return []
  const actions: CallAction[] = []
  for (const leg of ["A", "B"] as const) {
    const session = legOf(call, leg)
    if (session !== undefined) actions.push(arm(leg, session)[1])
  }
  return actions
}

/* ------------------------------------------------------------------------------------------------ */
/* Storage (CallRecord)                                                                              */

const b64 = (source: SdpSource | undefined) =>
  source === undefined
    ? null
    : { body: source.body.toString("base64"), contentType: source.contentType ?? null }

const storedLeg = (session: LegSession | undefined) =>
  session === undefined
    ? null
    : {
        interval: session.interval,
        refresher: session.refresher,
        minSE: session.minSE,
        update: session.update,
      }

/** The stored form (plain JSON): a refresh in flight and the local answers are not kept. */
export const encodeSessionTimers = (t: SessionTimers): unknown => ({
  policy: t.policy,
  bAsk: t.bAsk,
  retries: t.retries,
  a: storedLeg(t.a),
  b: storedLeg(t.b),
  aSdp: b64(t.aSdp),
  bSdp: b64(t.bSdp),
  aOrigin: t.aOrigin ?? null,
  bOrigin: t.bOrigin ?? null,
})

type Fields = ReadonlyMap<string, unknown>
const fields = (value: unknown): Fields | undefined =>
  typeof value === "object" && value !== null ? new Map(Object.entries(value)) : undefined
const positive = (f: Fields, k: string): number | undefined => {
  const v = f.get(k)
  return typeof v === "number" && Number.isInteger(v) && v > 0 && v <= MAX_INTERVAL ? v : undefined
}

const decodeLeg = (value: unknown): LegSession | undefined | "bad" => {
  if (value === null || value === undefined) return undefined
  const f = fields(value)
  const interval = f && positive(f, "interval")
  const minSE = f && positive(f, "minSE")
  const refresher = f?.get("refresher")
  if (interval === undefined || minSE === undefined || (refresher !== "suite" && refresher !== "peer"))
    return "bad"
  return {
    interval,
    refresher,
    minSE,
    update: f?.get("update") === true,
    next: refresher === "suite" ? "Refresh" : "Expire",
    refresh: undefined,
  }
}

const decodeSdp = (value: unknown): SdpSource | undefined => {
  const f = fields(value)
  const body = f?.get("body")
  if (typeof body !== "string") return undefined
  const contentType = f?.get("contentType")
  return {
    body: Buffer.from(body, "base64"),
    contentType: typeof contentType === "string" ? contentType : undefined,
  }
}

/**
 * Decodes the stored timers; a record from before session timers (absent) starts with `policy` and no
 * leg timers. A string names what is wrong.
 */
export const decodeSessionTimers = (value: unknown, policy: SessionTimerPolicy): SessionTimers | string => {
  if (value === undefined) return initialSessionTimers(policy)
  const f = fields(value)
  if (f === undefined) return "sessionTimer is not an object"
  const p = fields(f.get("policy"))
  const interval = p && positive(p, "interval")
  const minSE = p && positive(p, "minSE")
  const aRefresher = p?.get("aRefresher")
  const ask = fields(f.get("bAsk"))
  const askInterval = ask && positive(ask, "interval")
  const askMin = ask && positive(ask, "minSE")
  const a = decodeLeg(f.get("a"))
  const b = decodeLeg(f.get("b"))
  if (
    interval === undefined ||
    minSE === undefined ||
    (aRefresher !== "uac" && aRefresher !== "uas") ||
    askInterval === undefined ||
    askMin === undefined ||
    a === "bad" ||
    b === "bad"
  )
    return "sessionTimer: bad fields"
  const origin = (k: string) => {
    const v = f.get(k)
    return typeof v === "string" ? v : undefined
  }
  const retries = f.get("retries")
  return {
    policy: { interval, minSE, aRefresher },
    bAsk: { interval: askInterval, minSE: askMin },
    retries: typeof retries === "number" ? retries : 0,
    a,
    b,
    aSdp: decodeSdp(f.get("aSdp")),
    bSdp: decodeSdp(f.get("bSdp")),
    aOrigin: origin("aOrigin"),
    bOrigin: origin("bOrigin"),
    answered: [],
  }
}
