/**
 * One bridged subscription (RFC 6665): the A-leg dialog, where the suite is the notifier facing the
 * subscriber, and the B-leg dialog, where the suite is the subscriber facing the notifier. Like a call,
 * each leg has its own Call-ID, tags, branches and Contact (topology hiding); Event (with its id) and
 * Expires cross, and so do Accept, the bodies and the identity headers the trunk allows.
 *
 * Pure: `stepSubscription(subscription, event) → [subscription, actions]`. The requests the suite sends
 * run in RFC 3261 §17.1.2 client transactions (packages/sip's machine: Timer E over UDP, Timer F for
 * every transport); retransmissions received are absorbed or answered with the response already sent
 * (§17.2.2). Timer K is not kept: a response whose transaction has completed is ignored, which is what
 * absorbing it would do. One subscription per dialog: a NOTIFY from another fork of the SUBSCRIBE
 * (RFC 6665 §4.1.2.4, another From-tag) gets 481.
 */
import { makeTag } from "@b2bua/contracts"
import {
  buildRequest,
  createNonInviteClient,
  createResponse,
  DEFAULT_TIMERS,
  Event,
  Expires,
  getParam,
  type HeaderList,
  type NonInviteClientEvent,
  type RequestPolicy,
  readHeader,
  SipParseError,
  type SipRequest,
  type SipResponse,
  SubscriptionState,
  stepNonInviteClient,
  type TransactionEffect,
  type ValidationFailure,
  type Via,
  validateRequest,
  viaBranch,
} from "@b2bua/sip"
import type { BTarget, CallIdentity, HostPort } from "./CallState.js"
import { bodyOf, bodyOptions, contact, formatHost, hostPortOf, targetUriOf, via } from "./LegMessages.js"
import {
  type ClientRelay,
  DEFAULT_EXPIRES_S,
  FINAL_NOTIFY_WAIT_MS,
  MAX_IN_FLIGHT,
  MAX_REMEMBERED,
  type ServerRecord,
  type Subscription,
  type SubscriptionAction,
  type SubscriptionEvent,
  type SubscriptionStep,
} from "./SubscriptionState.js"

export * from "./SubscriptionState.js"

/** Headers of a SUBSCRIBE that carry the subscription's meaning to the notifier (RFC 6665 §8.2). */
const SUBSCRIBE_HEADERS = [
  "event",
  "expires",
  "accept",
  "allow-events",
  "supported",
  "allow",
  "privacy",
  "p-asserted-identity",
]
/** Headers of a response to SUBSCRIBE passed back: 423's Min-Expires, 489's Allow-Events (RFC 6665 §8.3). */
const SUBSCRIBE_RESPONSE_HEADERS = [
  "min-expires",
  "allow-events",
  "retry-after",
  "accept",
  "unsupported",
  "supported",
  "allow",
]
/** Headers of a NOTIFY: the event, the subscription's state and the body's disposition (RFC 6665 §8.2.3). */
const NOTIFY_HEADERS = [
  "event",
  "subscription-state",
  "allow-events",
  "supported",
  "allow",
  "content-disposition",
]
const NOTIFY_RESPONSE_HEADERS = ["allow-events", "retry-after", "accept", "unsupported"]

/**
 * RFC 6665 §4.1.2.2: "If a SUBSCRIBE request to refresh a subscription receives a 404, 405, 410, 416,
 * 480-485, 489, 501, or 604 response, the subscriber MUST consider the subscription terminated."
 */
const REFRESH_TERMINATES = [404, 405, 410, 416, 480, 481, 482, 483, 484, 485, 489, 501, 604]

const copied = (m: SipRequest | SipResponse, keys: ReadonlyArray<string>, drop: ReadonlyArray<string> = []) =>
  m.fields.filter((f) => keys.includes(f.key) && !drop.includes(f.key)).map((f) => [f.name, f.value] as const)

/** Expires of a message, or undefined when absent or unreadable (requests are checked before). */
const expiresOf = (m: SipRequest | SipResponse): number | undefined => {
  try {
    return readHeader(m, Expires)
  } catch {
    return undefined
  }
}

const stateOf = (m: SipRequest) => {
  try {
    return readHeader(m, SubscriptionState)
  } catch {
    return undefined
  }
}

const isTerminated = (m: SipRequest): boolean => stateOf(m)?.state === "terminated"

/** Where a response to this Via goes (RFC 3261 §18.2.2, RFC 3581 §4): received/rport, else sent-by. */
const viaDestination = (v: Via): HostPort => {
  const received = getParam(v.params, "received")
  const rport = getParam(v.params, "rport")
  const host = received ?? (v.host.startsWith("[") ? v.host.slice(1, -1) : v.host)
  return { host, port: rport !== undefined && rport !== null ? Number(rport) : (v.port ?? 5060) }
}

const sendOn = (s: Subscription, side: "A" | "B", message: SipRequest | SipResponse): SubscriptionAction => {
  if (side === "A") return { _tag: "SendA", message }
  const to =
    message.kind === "response"
      ? viaDestination(message.topVia)
      : (hostPortOf(s.bTarget ?? "") ?? { host: s.dest.host, port: s.dest.port })
  return { _tag: "SendB", message, to, transport: s.dest.transport }
}

/**
 * The checks a SUBSCRIBE from the subscriber passes before it is relayed: the request policy (RFC 3261
 * §8.2, §16.3: 483 at Max-Forwards 0, 416, 420 ...; any body type, the event package's, is relayed), one
 * readable Event (RFC 6665 §8.2.1), a readable Expires, and a Contact (RFC 3261 §8.1.1.8: the request
 * creates or refreshes a dialog). The failure names the defect.
 */
export const checkSubscribe = (request: SipRequest, policy: RequestPolicy): ValidationFailure | undefined => {
  const bodyType = request.contentType?.split(";")[0]?.trim().toLowerCase()
  const invalid = validateRequest(request, {
    ...policy,
    acceptedContentTypes: bodyType === undefined ? policy.acceptedContentTypes : [bodyType],
  })
  if (invalid !== undefined) return invalid
  const bad = (reason: string): ValidationFailure => ({ status: 400, reason, headers: [] })
  try {
    if (readHeader(request, Event) === undefined) return bad("Bad Request: SUBSCRIBE without Event")
    readHeader(request, Expires)
  } catch (e) {
    if (e instanceof SipParseError) return bad(e.reason)
    throw e
  }
  if (request.contacts.length === 0) return bad("Bad Request: SUBSCRIBE without Contact")
  return undefined
}

// --------------------------------------------------------------------------------------------------
// Messages on each leg

/** The B-leg's initial SUBSCRIBE towards one target: the suite's own identifiers, the event's headers. */
const subscribeToB = (s: Subscription, dest: BTarget, seq: number): SipRequest => {
  const a = s.aSubscribe
  const uri = targetUriOf(dest)
  // RFC 3261 §16.6 step 3, applied by the B2BUA as a forwarding element: Max-Forwards decremented.
  return buildRequest({
    method: "SUBSCRIBE",
    uri,
    headers: [
      ["Via", via({ id: s.id, dest }, s.sent)],
      ["Max-Forwards", String((a.maxForwards ?? 70) - 1)],
      ["From", `<sip:${dest.caller}@${formatHost(s.id.local.host)}>;tag=${s.bFromTag}`],
      ["To", `<${uri}>`],
      ["Call-ID", s.bCallId],
      ["CSeq", `${seq} SUBSCRIBE`],
      ["Contact", contact(s.id)],
      ...copied(a, SUBSCRIBE_HEADERS, dest.drop),
    ],
    ...bodyOptions(bodyOf(a)),
  })
}

/** A request in the B-leg dialog (a refresh): the notifier's tag and Contact, the B-leg's next CSeq. */
const requestToB = (s: Subscription, method: string, headers: HeaderList, from: SipRequest) => {
  const seq = s.bLocalSeq + 1
  const request = buildRequest({
    method,
    uri: s.bTarget ?? s.bSubscribe.uri,
    headers: [
      ["Via", via(s, s.sent)],
      ["Max-Forwards", "70"],
      ["From", s.bSubscribe.headerValues("From")[0]!],
      ["To", `${s.bSubscribe.headerValues("To")[0]!};tag=${s.bRemoteTag ?? ""}`],
      ["Call-ID", s.bCallId],
      ["CSeq", `${seq} ${method}`],
      ["Contact", contact(s.id)],
      ...headers,
    ],
    ...bodyOptions(bodyOf(from)),
  })
  return [{ ...s, bLocalSeq: seq, sent: s.sent + 1 }, request] as const
}

/** A NOTIFY in the A-leg dialog: From/To of A's SUBSCRIBE swapped, A's Contact as target (§12.2.1.1). */
const notifyToA = (s: Subscription, headers: HeaderList, from: SipRequest | undefined) => {
  const seq = s.aLocalSeq + 1
  const a = s.aSubscribe
  const request = buildRequest({
    method: "NOTIFY",
    uri: s.aTarget,
    headers: [
      ["Via", via({ id: s.id, dest: { transport: s.aReliable ? "tcp" : "udp" } }, s.sent)],
      ["Max-Forwards", "70"],
      ["From", `${a.headerValues("To")[0]!};tag=${s.aTag}`],
      ["To", a.headerValues("From")[0]!],
      ["Call-ID", a.callId],
      ["CSeq", `${seq} NOTIFY`],
      ["Contact", contact(s.id)],
      ...headers,
    ],
    ...(from === undefined ? {} : bodyOptions(bodyOf(from))),
  })
  return [{ ...s, aLocalSeq: seq, sent: s.sent + 1 }, request] as const
}

// --------------------------------------------------------------------------------------------------
// Transactions

const remember = (
  servers: ReadonlyArray<ServerRecord>,
  record: ServerRecord,
): ReadonlyArray<ServerRecord> => {
  const all = [...servers, record]
  // The oldest answered ones go first; requests still in progress are never forgotten.
  while (all.length > MAX_REMEMBERED) {
    const oldest = all.findIndex((r) => r.response !== undefined)
    if (oldest < 0) break
    all.splice(oldest, 1)
  }
  return all
}

const answered = (
  servers: ReadonlyArray<ServerRecord>,
  from: "A" | "B",
  request: SipRequest,
  response: SipResponse,
): ReadonlyArray<ServerRecord> => {
  const known = servers.some(
    (r) => r.from === from && r.method === request.method && r.seq === request.cseq.seq,
  )
  const record: ServerRecord = { from, method: request.method, seq: request.cseq.seq, response }
  return known
    ? servers.map((r) =>
        r.from === from && r.method === request.method && r.seq === request.cseq.seq ? record : r,
      )
    : remember(servers, record)
}

/** Answers a request received on `side` (and remembers the answer for its retransmissions). */
const respond = (
  s: Subscription,
  side: "A" | "B",
  request: SipRequest,
  status: number,
  reason?: string,
  headers: HeaderList = [],
): SubscriptionStep => {
  // RFC 3261 §8.2.6.2: a response to a request without To-tag carries the suite's tag on A's side.
  const toTag = side === "A" && request.toTag === undefined ? { toTag: s.aTag } : {}
  const response = createResponse(request, status, {
    ...toTag,
    headers,
    ...(reason === undefined ? {} : { reason }),
  })
  return [{ ...s, servers: answered(s.servers, side, request, response) }, [sendOn(s, side, response)]]
}

/** The shell's actions for a client transaction's sends and timers (Timer K is not kept, see above). */
const transactionActions = (
  s: Subscription,
  relay: ClientRelay,
  effect: TransactionEffect<SipRequest | SipResponse>,
): ReadonlyArray<SubscriptionAction> => {
  switch (effect._tag) {
    case "Send":
      return [sendOn(s, relay.to, effect.message)]
    case "StartTimer":
      return effect.timer === "E" || effect.timer === "F"
        ? [{ _tag: "StartTimer", timer: `${effect.timer}${relay.id}`, delayMs: effect.delayMs }]
        : []
    case "CancelTimer":
      return effect.timer === "E" || effect.timer === "F"
        ? [{ _tag: "CancelTimer", timer: `${effect.timer}${relay.id}` }]
        : []
    default:
      return []
  }
}

/** Sends `request` on leg `to` in a new client transaction (RFC 3261 §17.1.2.2: Timer E over UDP, F). */
const startClient = (
  s: Subscription,
  to: "A" | "B",
  request: SipRequest,
  received: SipRequest | undefined,
  before: ReadonlyArray<SubscriptionAction> = [],
): SubscriptionStep => {
  const id = s.txCount + 1
  const reliable = to === "A" ? s.aReliable : s.dest.transport === "tcp"
  const [tx, effects] = stepNonInviteClient(
    createNonInviteClient<SipRequest | SipResponse>(request, reliable, DEFAULT_TIMERS),
    { _tag: "Start" },
  )
  const relay: ClientRelay = { id, to, request, tx, received }
  const next: Subscription = { ...s, txCount: id, clients: [...s.clients, relay] }
  return [next, [...before, ...effects.flatMap((e) => transactionActions(next, relay, e))]]
}

/** Steps a client transaction; its final response (or Timer F's timeout, a 408) goes to the logic above it. */
const stepClient = (
  s: Subscription,
  relay: ClientRelay,
  event: NonInviteClientEvent<SipRequest | SipResponse>,
  at: number,
): SubscriptionStep => {
  const [tx, effects] = stepNonInviteClient(relay.tx, event)
  const updated: ClientRelay = { ...relay, tx }
  const done = tx.state === "Completed" || tx.state === "Terminated"
  let current: Subscription = {
    ...s,
    clients: done
      ? s.clients.filter((c) => c.id !== relay.id)
      : s.clients.map((c) => (c.id === relay.id ? updated : c)),
  }
  const actions: SubscriptionAction[] = []
  for (const effect of effects) {
    let final: SipResponse | undefined
    if (effect._tag === "PassToTu" && effect.message.kind === "response" && effect.message.status >= 200)
      final = effect.message
    // RFC 3261 §8.1.3.1: a transaction timeout is treated as a 408.
    if (effect._tag === "Timeout") final = createResponse(relay.request, 408, { reason: "Request Timeout" })
    if (final === undefined) {
      actions.push(...transactionActions(current, updated, effect))
      continue
    }
    const [next, more] = onFinal(current, updated, final, at)
    current = next
    actions.push(...more)
  }
  return [current, actions]
}

const findClient = (s: Subscription, side: "A" | "B", response: SipResponse): ClientRelay | undefined => {
  const branch = viaBranch(response.topVia)
  return s.clients.find(
    (c) =>
      c.to === side && c.request.method === response.cseq.method && viaBranch(c.request.topVia) === branch,
  )
}

// --------------------------------------------------------------------------------------------------
// The subscription's logic

/** The subscription lapses in `seconds` (0: an unsubscribe or fetch, the final NOTIFY is awaited). */
const expireIn = (s: Subscription, seconds: number, at: number): SubscriptionStep => {
  const delayMs = seconds === 0 ? FINAL_NOTIFY_WAIT_MS : seconds * 1000
  return [{ ...s, expiresAt: at + delayMs }, [{ _tag: "StartTimer", timer: "Expires", delayMs }]]
}

/**
 * Both dialogs end. Requests still being relayed get 481 on the leg they came from (their subscription
 * no longer exists); the shell stops every timer, releases the claim and lingers for retransmissions.
 */
const end = (
  s: Subscription,
  actions: ReadonlyArray<SubscriptionAction>,
  reason: string,
): SubscriptionStep => {
  let next = s
  const answers: SubscriptionAction[] = []
  for (const c of s.clients) {
    const r = c.received
    if (r === undefined) continue
    const from = c.to === "A" ? "B" : "A"
    const response = createResponse(r, 481, {
      reason: "Call/Transaction Does Not Exist (subscription ended)",
      ...(r === s.aSubscribe ? { toTag: s.aTag } : {}),
    })
    next = {
      ...next,
      servers: answered(next.servers, from, r, response),
      ...(r === s.aSubscribe ? { aFinal: response } : {}),
    }
    answers.push(sendOn(next, from, response))
  }
  return [
    { ...next, phase: "Ended", clients: [], expiresAt: undefined },
    [...actions, ...answers, { _tag: "Ended", reason }],
  ]
}

/** A terminated subscription ends once A has the final response to its SUBSCRIBE and its last NOTIFY. */
const finishIfDone = (
  s: Subscription,
  actions: ReadonlyArray<SubscriptionAction>,
  reason: string,
): SubscriptionStep =>
  s.phase === "Terminating" && s.aFinal !== undefined && !s.clients.some((c) => c.to === "A")
    ? end(s, actions, reason)
    : [s, actions]

/** The B-leg's answer to the initial SUBSCRIBE (or its timeout). */
const initialAnswered = (s: Subscription, r: SipResponse, at: number): SubscriptionStep => {
  if (r.status < 300) {
    // RFC 6665 §4.2.1.1: the 2xx carries the subscription's real duration in Expires; A gets the same.
    const expires = expiresOf(r) ?? expiresOf(s.aSubscribe) ?? DEFAULT_EXPIRES_S
    const ok = createResponse(s.aSubscribe, r.status, {
      reason: r.reason,
      toTag: s.aTag,
      headers: [
        ["Contact", contact(s.id)],
        ["Expires", String(expires)],
        ...copied(r, SUBSCRIBE_RESPONSE_HEADERS),
      ],
    })
    const next: Subscription = {
      ...s,
      phase: s.phase === "Subscribing" ? "Active" : s.phase,
      bRemoteTag: s.bRemoteTag ?? r.toTag,
      bTarget: r.contacts[0]?.uri ?? s.bTarget ?? s.bSubscribe.uri,
      aFinal: ok,
      servers: answered(s.servers, "A", s.aSubscribe, ok),
    }
    const send: SubscriptionAction = { _tag: "SendA", message: ok }
    if (next.phase === "Terminating") return finishIfDone(next, [send], "terminated by the notifier")
    const [timed, timer] = expireIn(next, expires, at)
    return [timed, [send, ...timer]]
  }
  // Failover (the trunk's rule) while no NOTIFY has created a dialog with this target.
  const [nextTarget, ...rest] = s.nextTargets
  if (nextTarget !== undefined && s.bRemoteTag === undefined && s.dest.failoverCodes.includes(r.status))
    return attempt(s, nextTarget, rest, s.bLocalSeq + 1)
  const failure = createResponse(s.aSubscribe, r.status, {
    reason: r.reason,
    toTag: s.aTag,
    headers: copied(r, SUBSCRIBE_RESPONSE_HEADERS),
  })
  return end(
    { ...s, aFinal: failure, servers: answered(s.servers, "A", s.aSubscribe, failure) },
    [{ _tag: "SendA", message: failure }],
    `B-leg ${r.status}`,
  )
}

/** B's answer to a refresh (or unsubscribe) relayed from A. */
const refreshAnswered = (
  s: Subscription,
  received: SipRequest,
  r: SipResponse,
  at: number,
): SubscriptionStep => {
  const expires = r.status < 300 ? (expiresOf(r) ?? expiresOf(received) ?? DEFAULT_EXPIRES_S) : undefined
  const reply = createResponse(received, r.status, {
    reason: r.reason,
    headers: [
      ...(expires === undefined
        ? []
        : ([
            ["Contact", contact(s.id)],
            ["Expires", String(expires)],
          ] as const)),
      ...copied(r, SUBSCRIBE_RESPONSE_HEADERS),
    ],
  })
  const next: Subscription = { ...s, servers: answered(s.servers, "A", received, reply) }
  const send: SubscriptionAction = { _tag: "SendA", message: reply }
  if (REFRESH_TERMINATES.includes(r.status)) return end(next, [send], `refresh ${r.status}`)
  if (expires === undefined || next.phase !== "Active") return [next, [send]]
  const [timed, timer] = expireIn(next, expires, at)
  return [timed, [send, ...timer]]
}

/** A's answer to a NOTIFY: relayed to B; a terminated NOTIFY, a 481 or a timeout ends the subscription. */
const notifyAnswered = (s: Subscription, relay: ClientRelay, r: SipResponse): SubscriptionStep => {
  const received = relay.received
  const terminated = isTerminated(relay.request)
  if (received === undefined) return finishIfDone(s, [], "subscription expired")
  const reply = createResponse(received, r.status, {
    reason: r.reason,
    headers: copied(r, NOTIFY_RESPONSE_HEADERS),
  })
  const next: Subscription = { ...s, servers: answered(s.servers, "B", received, reply) }
  const send = sendOn(next, "B", reply)
  if (terminated) return finishIfDone(next, [send], "terminated by the notifier")
  // RFC 6665 §4.2.2: a notifier whose NOTIFY gets 481, or times out, removes the subscription; B does so
  // when the answer reaches it, and the suite ends its side with it.
  if (r.status === 481 || r.status === 408) return end(next, [send], `NOTIFY ${r.status} from the subscriber`)
  return [next, [send]]
}

const onFinal = (s: Subscription, relay: ClientRelay, r: SipResponse, at: number): SubscriptionStep => {
  if (relay.to === "A") return notifyAnswered(s, relay, r)
  if (relay.request === s.bSubscribe) return initialAnswered(s, r, at)
  return relay.received === undefined ? [s, []] : refreshAnswered(s, relay.received, r, at)
}

/** Starts the B-leg attempt towards `dest`: the initial SUBSCRIBE in its client transaction. */
const attempt = (
  s: Subscription,
  dest: BTarget,
  nextTargets: ReadonlyArray<BTarget>,
  seq: number,
): SubscriptionStep => {
  const bSubscribe = subscribeToB(s, dest, seq)
  const next: Subscription = { ...s, dest, nextTargets, bSubscribe, bLocalSeq: seq, sent: s.sent + 1 }
  return startClient(next, "B", bSubscribe, s.aSubscribe)
}

/** Starts a subscription from A's initial SUBSCRIBE (checked with `checkSubscribe`): SUBSCRIBE to B. */
export const startSubscription = (options: {
  readonly subscribe: SipRequest
  readonly id: CallIdentity
  readonly targets: readonly [BTarget, ...ReadonlyArray<BTarget>]
  /** Whether A's transport is reliable (TCP): no Timer E for NOTIFYs towards A. */
  readonly aReliable: boolean
}): SubscriptionStep => {
  const { subscribe, id, targets, aReliable } = options
  const [first, ...rest] = targets
  const draft: Subscription = {
    phase: "Subscribing",
    id,
    aSubscribe: subscribe,
    aTag: makeTag(id.owner, `${id.random}a`),
    aTarget: subscribe.contacts[0]?.uri ?? subscribe.uri,
    aReliable,
    aRemoteSeq: subscribe.cseq.seq,
    aLocalSeq: 0,
    aFinal: undefined,
    bCallId: `${makeTag(id.owner, id.random)}@b2bua`,
    bFromTag: makeTag(id.owner, `${id.random}b`),
    bSubscribe: subscribe,
    dest: first,
    nextTargets: rest,
    bRemoteTag: undefined,
    bTarget: undefined,
    bRemoteSeq: undefined,
    bLocalSeq: 0,
    expiresAt: undefined,
    clients: [],
    servers: [{ from: "A", method: "SUBSCRIBE", seq: subscribe.cseq.seq, response: undefined }],
    txCount: 0,
    sent: 0,
  }
  return attempt(draft, first, rest, 1)
}

/** A retransmission (RFC 3261 §17.2.2): the response already sent again, or nothing while in progress. */
const retransmission = (s: Subscription, side: "A" | "B", m: SipRequest): SubscriptionStep | undefined => {
  const record = s.servers.find((r) => r.from === side && r.method === m.method && r.seq === m.cseq.seq)
  if (record === undefined) return undefined
  return [s, record.response === undefined ? [] : [sendOn(s, side, record.response)]]
}

/** A NOTIFY from the notifier: relayed into A's dialog (a first NOTIFY creates the B-leg dialog). */
const notifyFromB = (s: Subscription, m: SipRequest, at: number): SubscriptionStep => {
  const state = (() => {
    try {
      return readHeader(m, SubscriptionState)
    } catch (e) {
      if (e instanceof SipParseError) return e
      throw e
    }
  })()
  if (state instanceof SipParseError) return respond(s, "B", m, 400, state.reason)
  if (s.phase === "Terminating")
    return state?.state === "terminated"
      ? respond(s, "B", m, 200)
      : respond(s, "B", m, 481, "Call/Transaction Does Not Exist (subscription terminated)")
  // RFC 6665 §8.2.3: every NOTIFY carries the subscription's state.
  if (state === undefined) return respond(s, "B", m, 400, "Bad Request: NOTIFY without Subscription-State")
  if (s.bRemoteTag !== undefined && m.fromTag !== s.bRemoteTag)
    return respond(s, "B", m, 481, "Call/Transaction Does Not Exist (another fork of the SUBSCRIBE)")
  // RFC 3261 §12.2.2: a lower CSeq than the last one from this side is out of order.
  if (s.bRemoteSeq !== undefined && m.cseq.seq < s.bRemoteSeq)
    return respond(s, "B", m, 500, "Server Internal Error (CSeq out of order)")
  if (s.clients.length >= MAX_IN_FLIGHT)
    return respond(s, "B", m, 500, "Server Internal Error (too many requests in progress)", [
      ["Retry-After", "1"],
    ])
  // RFC 6665 §4.1.2.4: a NOTIFY may arrive before the SUBSCRIBE's 2xx; it creates the dialog. NOTIFY is a
  // target refresh request (§4.1.3): its Contact is where the B-leg's next requests go.
  let next: Subscription = {
    ...s,
    bRemoteTag: s.bRemoteTag ?? m.fromTag,
    bTarget: m.contacts[0]?.uri ?? s.bTarget,
    bRemoteSeq: m.cseq.seq,
    servers: remember(s.servers, { from: "B", method: "NOTIFY", seq: m.cseq.seq, response: undefined }),
  }
  const before: SubscriptionAction[] = []
  if (state.state === "terminated") {
    // RFC 6665 §4.1.3: the subscription is over; both dialogs end once A has answered this NOTIFY.
    next = { ...next, phase: "Terminating", expiresAt: undefined }
    before.push({ _tag: "CancelTimer", timer: "Expires" })
  } else if (state.expires !== undefined && next.aFinal !== undefined) {
    // RFC 6665 §4.2.2: the notifier may shorten the subscription in the NOTIFY's expires parameter.
    const [timed, timer] = expireIn(next, state.expires, at)
    next = timed
    before.push(...timer)
  }
  const [withNotify, notify] = notifyToA(next, copied(m, NOTIFY_HEADERS), m)
  return startClient(withNotify, "A", notify, m, before)
}

/** A refresh or unsubscribe from the subscriber: relayed into the B-leg dialog with its own CSeq. */
const subscribeFromA = (s: Subscription, m: SipRequest): SubscriptionStep => {
  if (m.toTag === undefined)
    return respond(
      s,
      "A",
      m,
      500,
      "Server Internal Error (a subscription with these identifiers is in progress)",
      [["Retry-After", "1"]],
    )
  if (s.phase === "Terminating")
    return respond(s, "A", m, 481, "Call/Transaction Does Not Exist (subscription terminated)")
  if (m.cseq.seq <= s.aRemoteSeq) return respond(s, "A", m, 500, "Server Internal Error (CSeq out of order)")
  if (s.bRemoteTag === undefined)
    return respond(s, "A", m, 500, "Server Internal Error (no dialog on the other leg yet)", [
      ["Retry-After", "1"],
    ])
  if (s.clients.length >= MAX_IN_FLIGHT)
    return respond(s, "A", m, 500, "Server Internal Error (too many requests in progress)", [
      ["Retry-After", "1"],
    ])
  try {
    readHeader(m, Expires)
  } catch (e) {
    if (e instanceof SipParseError) return respond(s, "A", m, 400, e.reason)
    throw e
  }
  const next: Subscription = {
    ...s,
    aRemoteSeq: m.cseq.seq,
    // RFC 6665 §4.1.2.2: a refresh is a target refresh request; its Contact is where NOTIFYs go now.
    aTarget: m.contacts[0]?.uri ?? s.aTarget,
    servers: remember(s.servers, { from: "A", method: "SUBSCRIBE", seq: m.cseq.seq, response: undefined }),
  }
  const [withRequest, request] = requestToB(next, "SUBSCRIBE", copied(m, SUBSCRIBE_HEADERS, s.dest.drop), m)
  return startClient(withRequest, "B", request, m)
}

/** The subscription lapsed without a refresh: the suite, notifier on A's side, says so (RFC 6665 §4.2.2). */
const expired = (s: Subscription): SubscriptionStep => {
  if (s.phase !== "Active" && s.phase !== "Subscribing") return [s, []]
  const event = s.aSubscribe.headerValues("Event")[0]!
  const [next, notify] = notifyToA(
    { ...s, phase: "Terminating", expiresAt: undefined },
    [
      ["Event", event],
      ["Subscription-State", "terminated;reason=timeout"],
    ],
    undefined,
  )
  return startClient(next, "A", notify, undefined)
}

/** After both dialogs ended: retransmissions get their answers, a late final NOTIFY its 200, others 481. */
const afterEnd = (s: Subscription, event: SubscriptionEvent): SubscriptionStep => {
  if (event._tag === "TimerFired") return [s, []]
  const m = event.message
  if (m.kind === "response" || m.method === "ACK") return [s, []]
  const side = event._tag === "FromA" ? "A" : "B"
  const again = retransmission(s, side, m)
  if (again !== undefined) return again
  if (side === "B" && m.method === "NOTIFY" && isTerminated(m)) return respond(s, "B", m, 200)
  return respond(s, side, m, 481, "Call/Transaction Does Not Exist (subscription ended)")
}

export const stepSubscription = (s: Subscription, event: SubscriptionEvent): SubscriptionStep => {
  if (s.phase === "Ended") return afterEnd(s, event)
  if (event._tag === "TimerFired") {
    if (event.timer === "Expires") return expired(s)
    const kind = event.timer.slice(0, 1) as "E" | "F"
    const relay = s.clients.find((c) => c.id === Number(event.timer.slice(1)))
    return relay === undefined ? [s, []] : stepClient(s, relay, { _tag: "TimerFired", timer: kind }, event.at)
  }
  const m = event.message
  const side = event._tag === "FromA" ? "A" : "B"
  if (m.kind === "response") {
    const relay = findClient(s, side, m)
    return relay === undefined
      ? [s, []]
      : stepClient(s, relay, { _tag: "ResponseReceived", status: m.status, response: m }, event.at)
  }
  if (m.method === "ACK") return [s, []]
  const again = retransmission(s, side, m)
  if (again !== undefined) return again
  // RFC 3261 §9.2: CANCEL of a non-INVITE request has no effect on it; the CANCEL itself gets 200.
  if (m.method === "CANCEL") return respond(s, side, m, 200)
  if (side === "B")
    return m.method === "NOTIFY"
      ? notifyFromB(s, m, event.at)
      : respond(s, "B", m, 405, undefined, [["Allow", "NOTIFY"]])
  return m.method === "SUBSCRIBE"
    ? subscribeFromA(s, m)
    : respond(s, "A", m, 405, undefined, [["Allow", "SUBSCRIBE"]])
}
