/**
 * One B2BUA call: the A-leg (the caller's dialog, where the suite is UAS) and the B-leg (the suite's own
 * dialog towards the destination, where it is UAC). Pure: `stepCall(call, event) → [call, actions]`; the
 * actor shell sends the actions' messages through the edge. Nothing of one leg's Via, Contact, Call-ID,
 * tags or Record-Route reaches the other (topology hiding); bodies (SDP) pass through unchanged until the
 * SDP negotiator lands.
 */
import { makeBranch, makeTag, type Owner } from "@b2bua/contracts"
import { buildRequest, createResponse, type HeaderList, type SipRequest, type SipResponse } from "@b2bua/sip"

export type CallPhase = "Calling" | "Early" | "Answered" | "Ending" | "Ended"

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface CallIdentity {
  /** The owner written into every tag and branch this call generates. */
  readonly owner: Owner
  /** Per-call randomness (letters/digits): tags, the B-leg Call-ID and branch prefixes derive from it. */
  readonly random: string
  /** host:port of the edge listener, for the suite's Via and Contact on both legs. */
  readonly local: HostPort
}

/**
 * One place the B-leg INVITE may go: a resolved gateway of a trunk, with what that trunk wants (its
 * numbers, which identity headers it gets) and when to give up on it for the next one (failover).
 */
export interface BTarget {
  readonly trunk: string
  readonly host: string
  readonly port: number
  readonly transport: "udp" | "tcp"
  /** User parts of the B-leg Request-URI/To and From, after the trunks' number rules. */
  readonly called: string
  readonly caller: string
  /** Final responses from this target that move the call to the next one. */
  readonly failoverCodes: ReadonlyArray<number>
  /** No response at all within this time moves the call to the next target (Timer B when it is the last). */
  readonly noAnswerMs: number
  /** Headers (lower-case names) not passed to this target. */
  readonly drop: ReadonlyArray<string>
}

export interface Call {
  readonly phase: CallPhase
  readonly id: CallIdentity
  readonly aInvite: SipRequest
  /** The suite's tag on the A-leg (To-tag of its responses). */
  readonly aTag: string
  /** The caller's Contact: where in-dialog requests to A go. */
  readonly aTarget: string
  readonly aLocalSeq: number
  readonly aFinal: SipResponse | undefined
  /** Whether A has ACKed the 2xx; until then the 2xx is retransmitted (RFC 3261 §13.3.1.4). */
  readonly aAcked: boolean
  /** The current interval of that retransmission. */
  readonly aRetransmit: number
  readonly bCallId: string
  readonly bFromTag: string
  readonly bInvite: SipRequest
  /** Where the current B-leg INVITE went, and where failover goes next, in order. */
  readonly dest: BTarget
  readonly nextTargets: ReadonlyArray<BTarget>
  /** Whether a provisional response with a body (early media) was relayed to A: no failover after it. */
  readonly earlyMedia: boolean
  readonly bRemoteTag: string | undefined
  readonly bTarget: string | undefined
  readonly bLocalSeq: number
  /** Whether the B-leg has answered anything yet (a provisional stops INVITE retransmissions). */
  readonly bHeard: boolean
  /** The current Timer A interval of the B-leg INVITE (RFC 3261 §17.1.1.2). */
  readonly bTimerA: number
  /** The suite's own BYE awaiting its final response, retransmitted over UDP with Timer E (§17.1.2.2). */
  readonly bye: PendingBye | undefined
  /** A re-INVITE being relayed (RFC 3261 §14): received on one leg, sent on the other. */
  readonly reinvite: PendingReinvite | undefined
  /** Requests sent so far (makes each branch unique). */
  readonly sent: number
}

export interface PendingBye {
  readonly side: "A" | "B"
  readonly request: SipRequest
  readonly interval: number
  readonly elapsed: number
}

export interface PendingReinvite {
  readonly from: "A" | "B"
  readonly received: SipRequest
  readonly relayed: SipRequest
}

export type CallTimer = "A" | "B" | "C" | "E" | "R"

export type CallEvent =
  | { readonly _tag: "FromA"; readonly message: SipRequest | SipResponse }
  | { readonly _tag: "FromB"; readonly message: SipRequest | SipResponse }
  | { readonly _tag: "TimerFired"; readonly timer: CallTimer }

export type CallAction =
  | { readonly _tag: "SendA"; readonly message: SipRequest | SipResponse }
  | {
      readonly _tag: "SendB"
      readonly message: SipRequest | SipResponse
      readonly to: HostPort
      readonly transport: "udp" | "tcp"
    }
  | { readonly _tag: "StartTimer"; readonly timer: CallTimer; readonly delayMs: number }
  | { readonly _tag: "Ended"; readonly reason: string }
  /** A B-leg attempt starts towards a trunk (the shell counts the trunk's calls). */
  | { readonly _tag: "Attempt"; readonly trunk: string }

/** RFC 3261 §17.1.1.1 T1, and the INVITE timers the call runs on its B-leg: Timer B = 64*T1 (no answer at
 * all), Timer C > 3 minutes (§16.6 step 11: a provisional but no final response). */
export const T1 = 500
export const TIMER_B = 64 * T1
export const TIMER_C = 181_000
/** T2 caps the retransmission intervals (RFC 3261 §17.1.2.2, §13.3.1.4). */
export const T2 = 4000

export type Step = readonly [Call, ReadonlyArray<CallAction>]

/** host:port of a SIP URI (default port 5060), for sending to a Contact. */
export const hostPortOf = (uri: string): HostPort | undefined => {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri)
  if (m === null) return undefined
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!
  return { host, port: m[2] === undefined ? 5060 : Number(m[2]) }
}

/** The user part of a SIP/SIPS/tel URI (the number being called or calling). */
export const userPartOf = (uri: string): string => /^(?:sips?|tel):([^@;:]+)/i.exec(uri)?.[1] ?? "anonymous"

const via = (call: Call, n: number): string =>
  `SIP/2.0/${call.dest.transport.toUpperCase()} ${call.id.local.host}:${call.id.local.port};branch=${makeBranch(call.id.owner, `${call.id.random}${n}`)};rport`

const contact = (id: CallIdentity): string => `<sip:b2bua@${id.local.host}:${id.local.port}>`

/** Headers whose meaning is the session's, not the hop's: copied from one leg's request to the other's. */
const END_TO_END = [
  "content-type",
  "supported",
  "allow",
  "session-expires",
  "min-se",
  "privacy",
  "p-asserted-identity",
]

const endToEnd = (request: SipRequest | SipResponse, drop: ReadonlyArray<string> = []): HeaderList =>
  request.fields
    .filter((f) => END_TO_END.includes(f.key) && f.key !== "content-type" && !drop.includes(f.key))
    .map((f) => [f.name, f.value] as const)

/** Headers of the A-leg INVITE the next hop should see about the call's history, when the trunk allows. */
const HISTORY = ["diversion", "history-info"]
const history = (request: SipRequest, drop: ReadonlyArray<string>): HeaderList =>
  request.fields
    .filter((f) => HISTORY.includes(f.key) && !drop.includes(f.key))
    .map((f) => [f.name, f.value] as const)

/** Sends a message on the B-leg to where the current attempt goes. */
const toB = (call: Call, message: SipRequest | SipResponse): CallAction => ({
  _tag: "SendB",
  message,
  to: target(call),
  transport: call.dest.transport,
})

/** The B-leg INVITE for one target: fresh branch and CSeq, the target's numbers and header policy. */
const inviteToB = (call: Call, dest: BTarget, seq: number): SipRequest => {
  const a = call.aInvite
  const targetUri = `sip:${dest.called}@${formatHost(dest.host)}:${dest.port}${dest.transport === "tcp" ? ";transport=tcp" : ""}`
  // RFC 3261 §16.6 step 3 (applied by the B2BUA as a forwarding element): Max-Forwards decremented.
  const maxForwards = (a.maxForwards ?? 70) - 1
  return buildRequest({
    method: "INVITE",
    uri: targetUri,
    headers: [
      ["Via", via({ ...call, dest }, call.sent)],
      ["Max-Forwards", String(maxForwards)],
      ["From", `<sip:${dest.caller}@${formatHost(call.id.local.host)}>;tag=${call.bFromTag}`],
      ["To", `<${targetUri}>`],
      ["Call-ID", call.bCallId],
      ["CSeq", `${seq} INVITE`],
      ["Contact", contact(call.id)],
      ...endToEnd(a, dest.drop),
      ...history(a, dest.drop),
    ],
    body: a.body,
    ...(a.contentType === undefined ? {} : { contentType: a.contentType }),
  })
}

const formatHost = (host: string): string => (host.includes(":") ? `[${host}]` : host)

/** Starts the B-leg attempt towards `dest`: INVITE, its retransmission and give-up timers. */
const attempt = (call: Call, dest: BTarget, nextTargets: ReadonlyArray<BTarget>, seq: number): Step => {
  const bInvite = inviteToB(call, dest, seq)
  const next: Call = {
    ...call,
    dest,
    nextTargets,
    bInvite,
    bLocalSeq: seq,
    bHeard: false,
    bTimerA: T1,
    bRemoteTag: undefined,
    sent: call.sent + 1,
  }
  return [
    next,
    [
      { _tag: "Attempt", trunk: dest.trunk },
      toB(next, bInvite),
      // Over UDP the INVITE is retransmitted with Timer A until anything comes back (§17.1.1.2).
      ...(dest.transport === "udp" ? [{ _tag: "StartTimer", timer: "A", delayMs: T1 } as const] : []),
      {
        _tag: "StartTimer",
        timer: "B",
        delayMs: nextTargets.length > 0 ? Math.min(dest.noAnswerMs, TIMER_B) : TIMER_B,
      },
    ],
  ]
}

/**
 * Failover (the trunk's rule): a failure or silence of the current target moves the call to the next one,
 * unless A already has a final response or early media was relayed to it (A would hear two sessions).
 */
const canFailOver = (call: Call): boolean =>
  call.nextTargets.length > 0 &&
  call.aFinal === undefined &&
  !call.earlyMedia &&
  (call.phase === "Calling" || call.phase === "Early")

const failOver = (call: Call, extra: ReadonlyArray<CallAction>): Step => {
  const [dest, ...rest] = call.nextTargets
  const [next, actions] = attempt(call, dest!, rest, call.bLocalSeq + 1)
  return [next, [...extra, ...actions]]
}

/** Starts a call from the A-leg INVITE: 100 Trying to A at once, the B-leg INVITE to the first target. */
export const startCall = (
  aInvite: SipRequest,
  id: CallIdentity,
  targets: readonly [BTarget, ...ReadonlyArray<BTarget>],
): Step => {
  const [first, ...rest] = targets
  const draft: Call = {
    phase: "Calling",
    id,
    aInvite,
    aTag: makeTag(id.owner, `${id.random}a`),
    aTarget: aInvite.contacts[0]?.uri ?? aInvite.uri,
    aLocalSeq: 0,
    aFinal: undefined,
    aAcked: false,
    aRetransmit: T1,
    bCallId: `${makeTag(id.owner, id.random)}@b2bua`,
    bFromTag: makeTag(id.owner, `${id.random}b`),
    bInvite: aInvite,
    dest: first,
    nextTargets: rest,
    earlyMedia: false,
    bRemoteTag: undefined,
    bTarget: undefined,
    bLocalSeq: 0,
    bHeard: false,
    bTimerA: T1,
    bye: undefined,
    reinvite: undefined,
    sent: 0,
  }
  const [call, actions] = attempt(draft, first, rest, 1)
  return [
    call,
    [
      { _tag: "SendA", message: createResponse(aInvite, 100) },
      ...actions,
      // Timer C > 3 minutes (§16.6 step 11) covers the whole setup, whatever failover does.
      { _tag: "StartTimer", timer: "C", delayMs: TIMER_C },
    ],
  ]
}

/** The B-leg INVITE never got a final response: 408 to A (§8.1.3.1, §16.7 step 6), CANCEL on B if it rang. */
const timeout = (call: Call): Step => {
  if (call.aFinal !== undefined) return [call, []]
  const toA = createResponse(call.aInvite, 408, {
    toTag: call.aTag,
    reason: "Request Timeout (no answer from the destination)",
  })
  if (!call.bHeard) {
    return [
      { ...call, phase: "Ended", aFinal: toA },
      [
        { _tag: "SendA", message: toA },
        { _tag: "Ended", reason: "B-leg timeout" },
      ],
    ]
  }
  return [
    { ...call, phase: "Ending", aFinal: toA },
    [{ _tag: "SendA", message: toA }, toB(call, cancelToB(call))],
  ]
}

/** Relays a B-leg response to the A-leg INVITE with the suite's tag, Contact and the same body. */
const relayToA = (call: Call, response: SipResponse): SipResponse =>
  createResponse(call.aInvite, response.status, {
    reason: response.reason,
    toTag: call.aTag,
    headers:
      response.status < 300 ? [["Contact", contact(call.id)], ...endToEnd(response)] : endToEnd(response),
    body: response.body,
    ...(response.contentType === undefined ? {} : { contentType: response.contentType }),
  })

/**
 * The ACK for a response to an INVITE the suite sent: for a 2xx a new transaction to the remote target
 * (RFC 3261 §13.2.2.4), for a non-2xx the INVITE's own branch and Request-URI (§17.1.1.3).
 */
const ackFor = (
  call: Call,
  invite: SipRequest,
  response: SipResponse,
  remoteTarget: string | undefined,
): SipRequest => {
  const success = response.status < 300
  const to = invite.headerValues("To")[0]!
  return buildRequest({
    method: "ACK",
    uri: success ? (remoteTarget ?? invite.uri) : invite.uri,
    headers: [
      ["Via", success ? via(call, call.sent) : invite.headerValues("Via")[0]!],
      ["Max-Forwards", "70"],
      ["From", invite.headerValues("From")[0]!],
      ["To", invite.toTag === undefined ? `${to};tag=${response.toTag ?? ""}` : to],
      ["Call-ID", invite.callId],
      ["CSeq", `${invite.cseq.seq} ACK`],
    ],
  })
}

const ackToB = (call: Call, response: SipResponse): SipRequest =>
  ackFor(call, call.bInvite, response, response.contacts[0]?.uri ?? call.bTarget)

interface Body {
  readonly bytes: Buffer
  readonly contentType: string | undefined
}

const bodyOf = (m: SipRequest | SipResponse): Body | undefined =>
  m.body.length === 0 ? undefined : { bytes: m.body, contentType: m.contentType }

const bodyOptions = (body: Body | undefined) =>
  body === undefined
    ? {}
    : body.contentType === undefined
      ? { body: body.bytes }
      : { body: body.bytes, contentType: body.contentType }

/** A request in the B-leg dialog (BYE, re-INVITE ...) from the suite. */
const requestToB = (call: Call, method: string, extra: HeaderList = [], body?: Body): [Call, SipRequest] => {
  const seq = call.bLocalSeq + 1
  const request = buildRequest({
    method,
    uri: call.bTarget ?? call.bInvite.uri,
    headers: [
      ["Via", via(call, call.sent)],
      ["Max-Forwards", "70"],
      ["From", call.bInvite.headerValues("From")[0]!],
      ["To", `${call.bInvite.headerValues("To")[0]!};tag=${call.bRemoteTag ?? ""}`],
      ["Call-ID", call.bCallId],
      ["CSeq", `${seq} ${method}`],
      ...extra,
    ],
    ...bodyOptions(body),
  })
  return [{ ...call, bLocalSeq: seq, sent: call.sent + 1 }, request]
}

/** A request in the A-leg dialog from the suite: From/To swapped, the caller's Contact as target (§12.2.1.1). */
const requestToA = (call: Call, method: string, extra: HeaderList = [], body?: Body): [Call, SipRequest] => {
  const seq = call.aLocalSeq + 1
  const a = call.aInvite
  const request = buildRequest({
    method,
    uri: call.aTarget,
    headers: [
      ["Via", via(call, call.sent)],
      ["Max-Forwards", "70"],
      ["From", `${a.headerValues("To")[0]!};tag=${call.aTag}`],
      ["To", a.headerValues("From")[0]!],
      ["Call-ID", a.callId],
      ["CSeq", `${seq} ${method}`],
      ...extra,
    ],
    ...bodyOptions(body),
  })
  return [{ ...call, aLocalSeq: seq, sent: call.sent + 1 }, request]
}

/** CANCEL of the B-leg INVITE: same Request-URI, Call-ID, From, To and top Via branch (§9.1). */
const cancelToB = (call: Call): SipRequest =>
  buildRequest({
    method: "CANCEL",
    uri: call.bInvite.uri,
    headers: [
      ["Via", call.bInvite.headerValues("Via")[0]!],
      ["Max-Forwards", "70"],
      ["From", call.bInvite.headerValues("From")[0]!],
      ["To", call.bInvite.headerValues("To")[0]!],
      ["Call-ID", call.bCallId],
      ["CSeq", `${call.bInvite.cseq.seq} CANCEL`],
    ],
  })

/**
 * A re-INVITE from one leg (hold/resume, codec change, T.38): relayed into the other leg's dialog with
 * its body; 491 when one is already in progress (glare, RFC 3261 §14.2) or the call is not answered.
 */
const relayReinvite = (call: Call, from: "A" | "B", m: SipRequest): Step => {
  const reply = (status: number): CallAction => {
    const response = createResponse(m, status)
    return from === "A" ? { _tag: "SendA", message: response } : toB(call, response)
  }
  if (call.reinvite !== undefined || call.phase !== "Answered") return [call, [reply(491)]]
  const extra: HeaderList = [["Contact", contact(call.id)], ...endToEnd(m)]
  const [next, relayed] =
    from === "A" ? requestToB(call, "INVITE", extra, bodyOf(m)) : requestToA(call, "INVITE", extra, bodyOf(m))
  const send: CallAction = from === "A" ? toB(call, relayed) : { _tag: "SendA", message: relayed }
  return [{ ...next, reinvite: { from, received: m, relayed } }, [reply(100), send]]
}

/** The answer to a relayed re-INVITE: ACKed on the leg it came from, relayed to the leg that asked. */
const answerReinvite = (call: Call, pending: PendingReinvite, response: SipResponse): Step => {
  if (response.status < 200) {
    if (response.status === 100) return [call, []]
    const provisional = createResponse(pending.received, response.status, { reason: response.reason })
    return [call, [pending.from === "A" ? { _tag: "SendA", message: provisional } : toB(call, provisional)]]
  }
  const remoteTarget = pending.from === "A" ? call.bTarget : call.aTarget
  const ack = ackFor(call, pending.relayed, response, remoteTarget)
  const answer = createResponse(pending.received, response.status, {
    reason: response.reason,
    headers:
      response.status < 300 ? [["Contact", contact(call.id)], ...endToEnd(response)] : endToEnd(response),
    ...bodyOptions(bodyOf(response)),
  })
  const next: Call = { ...call, reinvite: undefined, sent: call.sent + 1 }
  return pending.from === "A"
    ? [next, [toB(call, ack), { _tag: "SendA", message: answer }]]
    : [next, [{ _tag: "SendA", message: ack }, toB(call, answer)]]
}

/** Sends the suite's BYE on one leg and starts its retransmission timer (non-INVITE client, §17.1.2.2). */
const sendBye = (
  call: Call,
  side: "A" | "B",
  bye: SipRequest,
): readonly [Call, ReadonlyArray<CallAction>] => [
  { ...call, bye: { side, request: bye, interval: T1, elapsed: 0 } },
  [
    side === "A" ? { _tag: "SendA", message: bye } : toB(call, bye),
    { _tag: "StartTimer", timer: "E", delayMs: T1 },
  ],
]

/**
 * After the call ended, the shell keeps the actor a while (a transaction lifetime) so that
 * retransmissions still get their answers: a repeated BYE its 200, a repeated 2xx its ACK, a repeated
 * INVITE its final response.
 */
const afterEnd = (call: Call, event: CallEvent): Step => {
  if (event._tag === "TimerFired") return [call, []]
  const m = event.message
  if (m.kind === "request") {
    if (m.method === "BYE") {
      const ok = createResponse(m, 200)
      return [call, [event._tag === "FromA" ? { _tag: "SendA", message: ok } : toB(call, ok)]]
    }
    if (
      event._tag === "FromA" &&
      m.method === "INVITE" &&
      m.toTag === undefined &&
      call.aFinal !== undefined
    ) {
      return [call, [{ _tag: "SendA", message: call.aFinal }]]
    }
    return [call, []]
  }
  if (
    event._tag === "FromB" &&
    m.cseq.method === "INVITE" &&
    m.status >= 200 &&
    m.status < 300 &&
    m.cseq.seq === call.bInvite.cseq.seq
  ) {
    return [call, [toB(call, ackToB(call, m))]]
  }
  return [call, []]
}

const target = (call: Call): HostPort =>
  hostPortOf(call.bTarget ?? "") ?? { host: call.dest.host, port: call.dest.port }

export const stepCall = (call: Call, event: CallEvent): Step => {
  if (call.phase === "Ended") return afterEnd(call, event)
  if (event._tag === "TimerFired") {
    switch (event.timer) {
      case "E": {
        const bye = call.bye
        if (bye === undefined) return [call, []]
        const elapsed = bye.elapsed + bye.interval
        if (elapsed >= 64 * T1)
          return [{ ...call, phase: "Ended", bye: undefined }, [{ _tag: "Ended", reason: "BYE unanswered" }]]
        const interval = Math.min(bye.interval * 2, T2)
        return [
          { ...call, bye: { ...bye, interval, elapsed } },
          [
            bye.side === "A" ? { _tag: "SendA", message: bye.request } : toB(call, bye.request),
            { _tag: "StartTimer", timer: "E", delayMs: interval },
          ],
        ]
      }
      case "A": {
        if (call.bHeard || call.phase !== "Calling") return [call, []]
        const next = call.bTimerA * 2
        return [
          { ...call, bTimerA: next },
          [toB(call, call.bInvite), { _tag: "StartTimer", timer: "A", delayMs: next }],
        ]
      }
      case "R": {
        // §13.3.1.4: the 2xx is retransmitted with T1 doubling up to T2 until the ACK, for 64*T1.
        if (call.aAcked || call.aFinal === undefined || call.aFinal.status >= 300) return [call, []]
        if (call.aRetransmit >= 64 * T1) return [call, []]
        const next = Math.min(call.aRetransmit * 2, T2)
        return [
          { ...call, aRetransmit: call.aRetransmit + next },
          [
            { _tag: "SendA", message: call.aFinal },
            { _tag: "StartTimer", timer: "R", delayMs: next },
          ],
        ]
      }
      case "B":
        if (call.bHeard) return [call, []]
        // RFC 3261 §17.1.1.2: Timer B ends this attempt; with targets left, the next one is tried.
        return canFailOver(call) ? failOver(call, []) : timeout(call)
      case "C":
        return call.phase === "Early" || call.phase === "Calling" ? timeout(call) : [call, []]
    }
  }
  const m = event.message
  if (event._tag === "FromB") {
    if (m.kind === "response") {
      if (
        m.cseq.method === "INVITE" &&
        call.reinvite?.from === "A" &&
        m.cseq.seq === call.reinvite.relayed.cseq.seq
      ) {
        return answerReinvite(call, call.reinvite, m)
      }
      if (m.cseq.method === "INVITE") {
        // A late response of an earlier attempt (failover moved on): not this dialog's any more.
        if (m.cseq.seq !== call.bInvite.cseq.seq) return [call, []]
        call = call.bHeard ? call : { ...call, bHeard: true }
        if (m.status === 100) return [call, []]
        if (m.status < 200) {
          if (call.phase !== "Calling" && call.phase !== "Early") return [call, []]
          return [
            {
              ...call,
              phase: "Early",
              bRemoteTag: m.toTag ?? call.bRemoteTag,
              earlyMedia: call.earlyMedia || m.body.length > 0,
            },
            [{ _tag: "SendA", message: relayToA(call, m) }],
          ]
        }
        if (m.status < 300) {
          const answered: Call = {
            ...call,
            phase: call.phase === "Ending" ? "Ending" : "Answered",
            bRemoteTag: m.toTag,
            bTarget: m.contacts[0]?.uri ?? call.bInvite.uri,
          }
          const ack = ackToB(answered, m)
          const next = { ...answered, sent: answered.sent + 1 }
          // A retransmission of the 2xx already handled: ACK it again, nothing more.
          if (call.bTarget !== undefined) return [next, [toB(next, ack)]]
          if (call.phase === "Ending" || call.phase === "Ended") {
            // RFC 3261 §9.1 note / the issue: a CANCEL that crossed a 200 ends in ACK + BYE on the B-leg.
            const [afterBye, bye] = requestToB(next, "BYE")
            const [withBye, byeActions] = sendBye(afterBye, "B", bye)
            return [withBye, [toB(next, ack), ...byeActions]]
          }
          if (call.aFinal !== undefined) return [next, [toB(next, ack)]] // 2xx retransmission
          const toA = relayToA(next, m)
          return [
            { ...next, aFinal: toA },
            [
              toB(next, ack),
              { _tag: "SendA", message: toA },
              { _tag: "StartTimer", timer: "R", delayMs: T1 },
            ],
          ]
        }
        // A final non-2xx on the B-leg: ACK it and relay the failure to A (unless A already had its final
        // response: after a CANCEL or a timeout, this 487 closes the B-leg and the call).
        const ack = ackToB(call, m)
        if (call.aFinal !== undefined) {
          return [
            { ...call, phase: "Ended" },
            [toB(call, ack), { _tag: "Ended", reason: `B-leg ${m.status} after the A-leg's final response` }],
          ]
        }
        if (canFailOver(call) && call.dest.failoverCodes.includes(m.status))
          return failOver(call, [toB(call, ack)])
        const toA = relayToA(call, m)
        return [
          { ...call, phase: "Ended", aFinal: toA },
          [toB(call, ack), { _tag: "SendA", message: toA }, { _tag: "Ended", reason: `B-leg ${m.status}` }],
        ]
      }
      if (m.cseq.method === "BYE" && m.status >= 200)
        return [{ ...call, phase: "Ended" }, [{ _tag: "Ended", reason: "BYE completed" }]]
      return [call, []]
    }
    // Requests from the callee within the B-leg dialog.
    if (m.method === "BYE") {
      const ok = createResponse(m, 200)
      // A retransmitted BYE while the call is already ending: only the 200 again (§17.2.2).
      if (call.phase === "Ending") return [call, [toB(call, ok)]]
      const [next, bye] = requestToA(call, "BYE")
      const [withBye, byeActions] = sendBye({ ...next, phase: "Ending" }, "A", bye)
      return [withBye, [toB(call, ok), ...byeActions]]
    }
    if (m.method === "ACK") return [call, []]
    if (m.method === "INVITE") return relayReinvite(call, "B", m)
    return [call, [toB(call, createResponse(m, 501))]]
  }

  // From the caller.
  if (m.kind === "response") {
    if (
      m.cseq.method === "INVITE" &&
      call.reinvite?.from === "B" &&
      m.cseq.seq === call.reinvite.relayed.cseq.seq
    ) {
      return answerReinvite(call, call.reinvite, m)
    }
    if (m.cseq.method === "BYE" && m.status >= 200)
      return [{ ...call, phase: "Ended" }, [{ _tag: "Ended", reason: "BYE completed" }]]
    return [call, []]
  }
  switch (m.method) {
    case "INVITE":
      // A retransmission of the initial INVITE (§17.2.1): the last response again.
      if (m.toTag === undefined)
        return [call, call.aFinal === undefined ? [] : [{ _tag: "SendA", message: call.aFinal }]]
      return relayReinvite(call, "A", m)
    case "ACK":
      return call.aAcked ? [call, []] : [{ ...call, aAcked: true }, []]
    case "CANCEL": {
      // RFC 3261 §9.2: 200 to the CANCEL, 487 to the INVITE; CANCEL the B-leg INVITE with its branch (§9.1).
      const ok = createResponse(m, 200)
      if (call.aFinal !== undefined) return [call, [{ _tag: "SendA", message: ok }]]
      const terminated = createResponse(call.aInvite, 487, { toTag: call.aTag })
      const cancel = cancelToB(call)
      return [
        { ...call, phase: "Ending", aFinal: terminated },
        [{ _tag: "SendA", message: ok }, { _tag: "SendA", message: terminated }, toB(call, cancel)],
      ]
    }
    case "BYE": {
      const ok = createResponse(m, 200)
      // A BYE shows the caller has the 2xx: its retransmission stops (RFC 3261 §13.3.1.4).
      call = call.aAcked ? call : { ...call, aAcked: true }
      if (call.phase === "Ending") return [call, [{ _tag: "SendA", message: ok }]]
      if (call.bRemoteTag === undefined || call.phase !== "Answered") {
        return [
          { ...call, phase: "Ended" },
          [
            { _tag: "SendA", message: ok },
            { _tag: "Ended", reason: "BYE before answer" },
          ],
        ]
      }
      const [next, bye] = requestToB(call, "BYE")
      const [withBye, byeActions] = sendBye({ ...next, phase: "Ending" }, "B", bye)
      return [withBye, [{ _tag: "SendA", message: ok }, ...byeActions]]
    }
    default:
      return [
        call,
        [
          {
            _tag: "SendA",
            message: createResponse(m, 501),
          },
        ],
      ]
  }
}
