/**
 * The call-control service: takes new requests from the edge (queue group), claims each call in KV
 * (create-only, so a retransmission or CANCEL reaching another instance never makes a second call), runs
 * one actor per call — a fiber reading a bounded mailbox and stepping the pure Call machine — and sends
 * what the machine says through the edge that received the call. A dialog-creating SUBSCRIBE takes the
 * same path into its own actor (SubscriptionActor.ts).
 */
import { createHash, randomBytes } from "node:crypto"
import {
  Bus,
  type BusMessage,
  ensureStream,
  type KvConflict,
  type KvEntry,
  openKv,
  publishDurable,
} from "@b2bua/bus"
import {
  adminStreams,
  adminSubjects,
  type CallControlReplyV1,
  decodeCallControlRequest,
  decodeRelayEvent,
  decodeSipEnvelopeMeta,
  describeAdminProblem,
  EnvelopeError,
  encodeAdminPayload,
  encodeNewRequestReply,
  encodeSipEnvelopeHeaders,
  formatHostPort,
  type InstanceId,
  initialMediaState,
  isInstanceId,
  ListenerId,
  type MediaStateV1,
  makeTag,
  type NegotiationPolicyV1,
  parseHostPort,
  QueueGroups,
  RelayContractError,
  relaySubjects,
  type SipEnvelopeMeta,
  Subjects,
  type Trunk,
} from "@b2bua/contracts"
import {
  createResponse,
  parseMessage,
  type RequestPolicy,
  type SipMessage,
  type SipRequest,
  serializeMessage,
  validateRequest,
} from "@b2bua/sip"
import { Metrics } from "@b2bua/telemetry"
import { Effect, Exit, Fiber, Queue, Result, Schedule, Scope } from "effect"
import {
  type BTarget,
  type Call,
  type CallAction,
  type CallEvent,
  type CallTimer,
  hostPortOf,
  startCall,
  stepCall,
} from "./Call.js"
import { decodeCall, encodeCall } from "./CallRecord.js"
import { makeCallTelemetry } from "./CallTelemetry.js"
import type { CallControlConfig } from "./Config.js"
import { type CallMedia, makeMediaSeam } from "./media/MediaSeam.js"
import { negotiationPolicy } from "./media/NegotiationPolicy.js"
import { sdpRole } from "./media/SdpRole.js"
import { type CallTimeline, type CallView, callDetailRecord, callEvent } from "./Reporting.js"
import { type RouteOutcome, routeCall } from "./routing/Admission.js"
import { startGatewayHealth } from "./routing/GatewayHealth.js"
import { identify } from "./routing/Identity.js"
import { locateTargets } from "./routing/Locate.js"
import { type RoutingConfigError, startRouting } from "./routing/RoutingStore.js"
import { TrunkLimits } from "./routing/TrunkLimits.js"
import { shareTrunkLoad } from "./routing/TrunkLoadSharing.js"
import { admitSessionTimer, resumeSessionTimers, sessionTimersChanged } from "./SessionTimer.js"
import { checkSubscribe } from "./Subscription.js"
import { makeSubscriptions } from "./SubscriptionActor.js"
import { type Deadlines, noteDeadlines, recordChanged, resumeTimers } from "./Takeover.js"

interface Actor {
  readonly key: string
  readonly aMeta: SipEnvelopeMeta
  readonly mailbox: Queue.Queue<CallEvent>
  /** Running timers of this call, by name; a timer is a fiber that sleeps and then posts an event. */
  readonly timers: Map<CallTimer, Fiber.Fiber<void>>
  /** The trunks whose limits this call counts against (inbound; outbound of the current attempt). */
  readonly inboundTrunk: string | undefined
  outboundTrunk: string | undefined
  /** The call's media state (stored with the call) and what the seam remembers of its SDPs. */
  readonly media: CallMedia
  /** Stage times and outcome, for call events and the call's record (contracts Admin). */
  readonly timeline: CallTimeline
  call: Call
  /** When the call's running timers fire, stored with the call for a takeover (Takeover.ts). */
  deadlines: Deadlines
  /** Set when the ended call's linger time is over: the actor stops and is forgotten. */
  released: boolean
}

/** How long an ended call still answers retransmissions (RFC 3261 §17: 64*T1, a transaction's life). */
const LINGER_MS = 32_000
/** Calls from users the auth service authenticated take the routes of the trunk with this name. */
const USERS_TRUNK = "users"
/** Relay sessions are leased (contracts Relay); the owner renews them well within the shortest lease. */
const LEASE_RENEW_MS = 30_000

export interface CallControlStats {
  callsStarted: number
  callsEnded: number
  callsTakenOver: number
  mailboxOverflows: number
  /** RFC 4028: refreshes the suite sent or received, sessions that expired, refreshes that failed. */
  sessionRefreshes: number
  sessionExpiries: number
  /** New INVITEs not started because the edge had stopped waiting (it answered 503: B2b-Answer-By). */
  newCallsTooLate: number
}

export interface RunningCallControl {
  readonly stats: CallControlStats
  readonly activeCalls: () => number
}

/** Each call's mailbox holds this many messages; beyond it messages are dropped (and counted): SIP
 * retransmits, so a drop delays, and an unbounded queue would not protect the instance. */
const MAILBOX = 256
/**
 * New requests handled at once: each waits on several round trips (auth, KV claim and record, the
 * negotiator and relay for the B-leg INVITE's offer), so one at a time would cap the call rate at the
 * inverse of their sum. Copies of one INVITE handled side by side are kept to one call by the
 * create-only claim; beyond this many in flight, NATS holds them in the subscription's bounded buffer.
 */
const NEW_REQUEST_CONCURRENCY = 64
const ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO, SUBSCRIBE, NOTIFY, MESSAGE, PRACK, REFER"

/** What call control accepts on a new INVITE (the B2BUA forwards, so Max-Forwards applies). */
const REQUEST_POLICY: RequestPolicy = {
  allowedMethods: ALLOW.split(", "),
  supportedExtensions: ["timer", "100rel"],
  acceptedContentTypes: ["application/sdp"],
  uriSchemes: ["sip", "sips", "tel"],
  forwards: true,
}

const claimKey = (callId: string, fromTag: string | undefined): string =>
  createHash("sha256")
    .update(`${callId}|${fromTag ?? ""}`)
    .digest("hex")
    .slice(0, 40)

const callKey = (m: SipMessage): string => `${m.callId}|${m.fromTag ?? ""}`

export const runCallControl = (
  config: CallControlConfig,
  /** Registers the graceful drain (SIGTERM) with the process runtime; tests may leave it out. */
  registerDrain: (drain: Effect.Effect<void>) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<RunningCallControl, RoutingConfigError, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const claims = yield* openKv("call-claims").pipe(Effect.orDie)
    const store = yield* openKv("calls").pipe(Effect.orDie)
    const owner = { kind: "callControl" as const, instance: config.instance }
    const actors = new Map<string, Actor>()
    /** Calls whose claim is being written (an INVITE retransmitted meanwhile must not start a second). */
    const claiming = new Set<string>()
    const byATag = new Map<string, Actor>()
    const byBCallId = new Map<string, Actor>()
    const byBTag = new Map<string, Actor>()
    /** Calls not yet ended (lingering ended calls are not counted against the limit). */
    let active = 0
    /** New calls past the call-limit check and not yet counted in `active` (handled concurrently). */
    let admitting = 0
    const stats: CallControlStats = {
      callsStarted: 0,
      callsEnded: 0,
      callsTakenOver: 0,
      mailboxOverflows: 0,
      sessionRefreshes: 0,
      sessionExpiries: 0,
      newCallsTooLate: 0,
    }
    const telemetry = makeCallTelemetry(yield* Metrics, () => active)
    const fork = Effect.runForkWith(yield* Effect.context<never>())
    // The streams operators read (the admin API creates them too; whoever starts first).
    for (const definition of [adminStreams.callEvents, adminStreams.callRecords])
      yield* ensureStream(definition).pipe(
        Effect.catch((e) =>
          Effect.logWarning("stream not ensured").pipe(Effect.annotateLogs({ error: e.message })),
        ),
      )
    const routing = yield* startRouting({
      file: config.routingFile,
      fallbackTarget: config.routeTarget,
      refreshMs: config.routingRefreshMs,
    })
    const limits = new TrunkLimits()
    yield* shareTrunkLoad(config.instance, limits)
    const media = makeMediaSeam(bus, config.media)
    const policyOf = (actor: Actor): NegotiationPolicyV1 =>
      negotiationPolicy(
        routing.current().trunk(actor.inboundTrunk ?? ""),
        routing.current().trunk(actor.outboundTrunk ?? ""),
      )
    /** The last edge heard from: the suite's own requests (pings) leave through it. */
    let lastEdge: SipEnvelopeMeta | undefined
    const localOf = (meta: SipEnvelopeMeta) => {
      const hostPort = parseHostPort(meta.local)!
      return {
        host: hostPort.host === "0.0.0.0" || hostPort.host === "::" ? config.advertisedHost : hostPort.host,
        port: hostPort.port,
      }
    }

    const sendVia = (
      meta: SipEnvelopeMeta,
      message: SipMessage,
      remote: { host: string; port: number },
      transport = meta.transport,
    ) =>
      bus
        .publish(
          Subjects.edgeSend(meta.edge),
          serializeMessage(message),
          encodeSipEnvelopeHeaders({
            ...meta,
            transport,
            listener: transport === meta.transport ? meta.listener : ListenerId(`${transport}:any`),
            remote: formatHostPort(remote.host, remote.port),
            connection: transport === meta.transport ? meta.connection : undefined,
          }),
        )
        .pipe(Effect.orDie)

    // Bridged subscriptions (RFC 6665): their own actors (SubscriptionActor.ts), the same claims and routing.
    const subscriptions = yield* makeSubscriptions({
      owner,
      localOf,
      send: sendVia,
      releaseClaim: (s) => claims.remove(claimKey(s.callId, s.fromTag)).pipe(Effect.ignore),
      store,
      handOver: (other, meta, raw) =>
        bus
          .request(Subjects.callControlInstance(other), raw, {
            timeoutMs: 1000,
            headers: encodeSipEnvelopeHeaders(meta),
          })
          .pipe(Effect.ignore),
    })

    const replyTo = (
      meta: SipEnvelopeMeta,
      request: SipRequest,
      status: number,
      headers: ReadonlyArray<readonly [string, string]> = [],
      reason?: string,
    ) => {
      const common = reason === undefined ? { headers } : { headers, reason }
      const options =
        request.toTag === undefined
          ? { ...common, toTag: makeTag(owner, randomBytes(5).toString("hex")) }
          : common
      return sendVia(meta, createResponse(request, status, options), parseHostPort(meta.remote)!)
    }

    /** Before a message with SDP leaves on a leg: the negotiator's SDP, or the refusal as the call's next event. */
    const withMedia = (
      actor: Actor,
      message: SipMessage,
      toLeg: "A" | "B",
      send: Effect.Effect<void>,
    ): Effect.Effect<CallEvent | undefined> => {
      const role = sdpRole(actor.call, message, toLeg)
      if (role === undefined) return send.pipe(Effect.as(undefined))
      return media.prepare(actor.media, message, toLeg, role).pipe(
        Effect.flatMap((prepared) =>
          prepared._tag === "Send"
            ? send.pipe(Effect.as(undefined))
            : Effect.succeed<CallEvent>({
                _tag: "MediaRefused",
                message,
                status: prepared.status,
                reason: prepared.reason,
                headers: prepared.headers,
              }),
        ),
      )
    }

    const perform = (actor: Actor, action: CallAction): Effect.Effect<CallEvent | undefined> => {
      switch (action._tag) {
        case "SendA": {
          const m = action.message
          const remote =
            m.kind === "request"
              ? (hostPortOf(actor.call.aTarget) ?? parseHostPort(actor.aMeta.remote)!)
              : parseHostPort(actor.aMeta.remote)!
          return withMedia(
            actor,
            m,
            "A",
            Effect.suspend(() => sendVia(actor.aMeta, m, remote)),
          )
        }
        case "SendB":
          return withMedia(
            actor,
            action.message,
            "B",
            // Serialized after the negotiator rewrote the body.
            Effect.suspend(() => sendVia(actor.aMeta, action.message, action.to, action.transport)),
          )
        case "Attempt":
          return Effect.sync((): undefined => {
            if (actor.outboundTrunk !== undefined) limits.release(actor.outboundTrunk)
            const trunk = routing.current().trunk(action.trunk)
            actor.outboundTrunk = action.trunk
            if (trunk !== undefined) limits.take(trunk, Date.now())
          })
        case "SessionTimer":
          return Effect.gen(function* () {
            if (action.what === "refreshed") stats.sessionRefreshes++
            if (action.what === "expired" || action.what === "refresh-failed") {
              stats.sessionExpiries++
              actor.timeline.hangupBy ??= "system"
            }
            const log =
              action.what === "refreshed" || action.what === "refresh-sent" ? Effect.logDebug : Effect.logInfo
            yield* log("session timer").pipe(
              Effect.annotateLogs({ callId: actor.call.aInvite.callId, leg: action.leg, what: action.what }),
            )
            return undefined
          })
        case "StartTimer":
          return Effect.sync((): undefined => {
            const previous = actor.timers.get(action.timer)
            if (previous !== undefined) fork(Fiber.interrupt(previous))
            actor.timers.set(
              action.timer,
              fork(
                Effect.sleep(action.delayMs).pipe(
                  Effect.andThen(deliver(actor, { _tag: "TimerFired", timer: action.timer })),
                ),
              ),
            )
          })
        case "Ended":
          return Effect.gen(function* () {
            actor.timeline.reason ??= action.reason
            yield* reportEnd(actor)
            stats.callsEnded++
            active--
            if (actor.inboundTrunk !== undefined) limits.release(actor.inboundTrunk)
            if (actor.outboundTrunk !== undefined) limits.release(actor.outboundTrunk)
            for (const timer of actor.timers.values()) yield* Fiber.interrupt(timer)
            actor.timers.clear()
            yield* claims
              .remove(claimKey(actor.call.aInvite.callId, actor.call.aInvite.fromTag))
              .pipe(Effect.ignore)
            yield* forget(actor)
            yield* media.release(actor.media)
            yield* Effect.logInfo("call ended").pipe(
              Effect.annotateLogs({ callId: actor.call.aInvite.callId, reason: action.reason }),
            )
            // Linger, answering retransmissions, then forget the call.
            fork(
              Effect.sleep(LINGER_MS).pipe(
                Effect.andThen(
                  Effect.suspend(() => {
                    actor.released = true
                    actors.delete(actor.key)
                    byATag.delete(actor.call.aTag)
                    byBCallId.delete(actor.call.bCallId)
                    byBTag.delete(actor.call.bFromTag)
                    return Queue.offer(actor.mailbox, { _tag: "TimerFired", timer: "E" })
                  }),
                ),
              ),
            )
            return undefined
          })
      }
    }

    /** The call as stored for takeover: written when its dialogs change (phase, remote tag, CSeqs). */
    const storeKey = (actor: Actor) =>
      `call.${claimKey(actor.call.aInvite.callId, actor.call.aInvite.fromTag)}`
    const persist = (actor: Actor) =>
      store
        .put(
          storeKey(actor),
          encodeCall(config.instance, actor.aMeta, actor.call, actor.media.media, actor.deadlines),
        )
        .pipe(
          Effect.catch((e) =>
            Effect.logWarning("call not stored").pipe(Effect.annotateLogs({ error: e.message })),
          ),
        )
    const index = (actor: Actor) =>
      Effect.forEach([actor.call.aTag, actor.call.bFromTag], (tag) =>
        store.put(`tag.${tag}`, new TextEncoder().encode(storeKey(actor))).pipe(Effect.ignore),
      )
    const forget = (actor: Actor) =>
      Effect.forEach([storeKey(actor), `tag.${actor.call.aTag}`, `tag.${actor.call.bFromTag}`], (k) =>
        store.remove(k).pipe(Effect.ignore),
      )
    const changed = (before: Call, after: Call): boolean =>
      recordChanged(before, after) || sessionTimersChanged(before.sessionTimer, after.sessionTimer)

    /** What the record tells of a message: the B-leg code; who ended the call (the first BYE or CANCEL seen
     * decides; an operator or the suite set it themselves). */
    const noteTimeline = (actor: Actor, event: CallEvent) => {
      if (event._tag !== "FromA" && event._tag !== "FromB") return
      const m = event.message
      // The B-leg's SIP code, for the call's events and record.
      if (
        event._tag === "FromB" &&
        m.kind === "response" &&
        m.cseq.method === "INVITE" &&
        m.status >= 200 &&
        m.cseq.seq === actor.call.bInvite.cseq.seq
      )
        actor.timeline.bStatus = m.status
      if (actor.timeline.hangupBy !== undefined) return
      if (m.kind === "request" && (m.method === "BYE" || m.method === "CANCEL"))
        actor.timeline.hangupBy = event._tag === "FromA" ? "caller" : "callee"
    }

    const viewOf = (actor: Actor): CallView => ({
      callKey: claimKey(actor.call.aInvite.callId, actor.call.aInvite.fromTag),
      owner: config.instance,
      call: actor.call,
      aRemote: actor.aMeta.remote,
      media: actor.media.media,
      inboundTrunk: actor.inboundTrunk,
      outboundTrunk: actor.outboundTrunk,
      timeline: actor.timeline,
      traceId: telemetry.traceIdOf(actor),
    })

    /** A call event on CALL_EVENTS at each state change; a lost event is logged, the call goes on. */
    const report = (actor: Actor) =>
      Effect.gen(function* () {
        const now = Date.now()
        const t = actor.timeline
        if (actor.call.phase === "Early") t.ringingAt ??= now
        if (actor.call.phase === "Answered") t.answeredAt ??= now
        if (actor.call.phase === "Ended") t.endedAt ??= now
        t.seq++
        const view = viewOf(actor)
        yield* publishDurable(
          adminSubjects.callEvents(view.callKey),
          encodeAdminPayload(callEvent(view, now)),
        ).pipe(
          Effect.provideService(Bus, bus),
          Effect.catch((e) =>
            Effect.logWarning("call event not stored").pipe(Effect.annotateLogs({ error: e.message })),
          ),
        )
      })

    /** The call's record on CDRS, once: the call key is the message id (a failover cannot write it twice). */
    const reportEnd = (actor: Actor) =>
      Effect.gen(function* () {
        const endedAt = Date.now()
        actor.timeline.endedAt ??= endedAt
        const view = viewOf(actor)
        yield* publishDurable(
          adminSubjects.callRecord(view.callKey),
          encodeAdminPayload(callDetailRecord(view, endedAt)),
          {
            msgId: view.callKey,
          },
        ).pipe(
          Effect.provideService(Bus, bus),
          Effect.catch((e) =>
            Effect.logWarning("call record not stored").pipe(Effect.annotateLogs({ error: e.message })),
          ),
        )
      })

    /** Performs a step's actions; an action that yields an event (a media refusal) supersedes the rest. */
    const performAll = (actor: Actor, actions: ReadonlyArray<CallAction>): Effect.Effect<void> =>
      Effect.gen(function* () {
        for (const action of actions) {
          const followUp = yield* telemetry.performing(actor, action, perform(actor, action))
          if (followUp !== undefined) return yield* handle(actor, followUp)
        }
      })

    /** Handles one event as part of the call's trace (CallTelemetry: the span it belongs to is its parent). */
    const handle = (actor: Actor, event: CallEvent): Effect.Effect<void> =>
      telemetry.handling(actor, event, handleStep(actor, event))

    const handleStep = (actor: Actor, event: CallEvent): Effect.Effect<void> =>
      Effect.gen(function* () {
        const before = actor.call
        noteTimeline(actor, event)
        const [next, actions] = stepCall(before, event)
        actor.call = next
        actor.deadlines = noteDeadlines(actor.deadlines, actions, Date.now())
        // Write-ahead (Takeover.ts): the record has the new state before any peer sees its effects.
        if (next.phase !== "Ended" && changed(before, next)) yield* persist(actor)
        const mediaBefore = actor.media.media
        yield* performAll(actor, actions)
        if (actor.call.phase !== before.phase) yield* report(actor)
        if (actor.call.phase !== "Ended" && actor.media.media !== mediaBefore) yield* persist(actor)
      })

    const runActor = (actor: Actor): Effect.Effect<void> =>
      Effect.gen(function* () {
        while (!actor.released) yield* handle(actor, yield* Queue.take(actor.mailbox))
      })

    const deliver = (actor: Actor, event: CallEvent) =>
      Effect.gen(function* () {
        yield* telemetry.received(event)
        const accepted = yield* Queue.offer(actor.mailbox, event)
        if (!accepted) {
          stats.mailboxOverflows++
          telemetry.metrics.mailboxOverflows.add({})
        }
      })

    const startActor = (
      invite: SipRequest,
      meta: SipEnvelopeMeta,
      inboundTrunk: string,
      targets: readonly [BTarget, ...ReadonlyArray<BTarget>],
      /** Called once the call counts in `active` (its place under the call limit is taken). */
      counted: () => void = () => {},
    ) =>
      Effect.gen(function* () {
        const [call, actions] = startCall(
          invite,
          { owner, random: randomBytes(6).toString("hex"), local: localOf(meta) },
          targets,
          config.sessionTimer,
          { refer: routing.current().trunk(inboundTrunk)?.refer },
        )
        const inbound = routing.current().trunk(inboundTrunk)
        if (inbound !== undefined) limits.take(inbound, Date.now())
        const actor = yield* register(call, meta, inboundTrunk, initialMediaState)
        yield* telemetry.started(actor, { takenOver: false })
        actor.deadlines = noteDeadlines({}, actions, Date.now())
        stats.callsStarted++
        active++
        counted()
        yield* Effect.logInfo("call started").pipe(
          Effect.annotateLogs({ callId: invite.callId, bCallId: call.bCallId }),
        )
        // Write-ahead: the record and its tag pointers exist before the B-leg INVITE leaves, so B's
        // responses and A's CANCEL always find the call if this instance dies during setup.
        yield* Effect.all([persist(actor), index(actor)], { concurrency: "unbounded", discard: true })
        yield* report(actor)
        const mediaBefore = actor.media.media
        yield* performAll(actor, actions)
        if (actor.call.phase !== "Ended" && actor.media.media !== mediaBefore) yield* persist(actor)
        fork(runActor(actor))
      })

    const register = (
      call: Call,
      meta: SipEnvelopeMeta,
      inboundTrunk: string | undefined,
      mediaState: MediaStateV1,
    ) =>
      Effect.gen(function* () {
        const mailbox = yield* Queue.dropping<CallEvent>(MAILBOX)
        const actor: Actor = {
          key: callKey(call.aInvite),
          aMeta: meta,
          mailbox,
          timers: new Map(),
          inboundTrunk,
          outboundTrunk: undefined,
          timeline: { setupAt: Date.now(), seq: 0 },
          media: {
            callId: call.aInvite.callId,
            owner: config.instance,
            media: mediaState,
            policy: () => policyOf(actor),
            rewritten: new WeakSet(),
            answers: new Map(),
          },
          call,
          deadlines: {},
          released: false,
        }
        actors.set(actor.key, actor)
        byATag.set(call.aTag, actor)
        byBCallId.set(call.bCallId, actor)
        byBTag.set(call.bFromTag, actor)
        return actor
      })

    /**
     * Hands a message to the instance that owns its call. "gone": the owner's subject has no responders
     * (it died, or stopped); "late": it did not answer in time (alive but slow: SIP retransmits).
     */
    const handTo = (instance: InstanceId, meta: SipEnvelopeMeta, raw: Uint8Array) =>
      bus
        .request(Subjects.callControlInstance(instance), raw, {
          timeoutMs: 1000,
          headers: encodeSipEnvelopeHeaders(meta),
        })
        .pipe(
          Effect.as("delivered" as const),
          Effect.catchTag("BusNoResponders", () => Effect.succeed("gone" as const)),
          Effect.catch(() => Effect.succeed("late" as const)),
        )

    /** The stored call a message belongs to: by the suite's tag in it, or (a CANCEL or retransmission of
     * the initial INVITE, which carry only the caller's identifiers) by its Call-ID and From-tag. */
    const storedEntry = (sip: SipMessage): Effect.Effect<KvEntry | undefined> =>
      Effect.gen(function* () {
        if (sip.kind === "request" && sip.toTag === undefined)
          return yield* store.get(`call.${claimKey(sip.callId, sip.fromTag)}`).pipe(Effect.orDie)
        const tag = sip.kind === "request" ? sip.toTag : sip.fromTag
        const pointer = tag === undefined ? undefined : yield* store.get(`tag.${tag}`).pipe(Effect.orDie)
        return pointer === undefined
          ? undefined
          : yield* store.get(new TextDecoder().decode(pointer.value)).pipe(Effect.orDie)
      })

    /**
     * Takeover: a message for a call whose owner did not answer. The stored record names the call's
     * current owner; it may be alive (the message names an earlier owner that died, and a survivor took
     * the call since), so it gets the message first. Only when it is gone too does this instance become
     * the owner, with a compare-and-set on the record's revision (two survivors never both take it; the
     * loser reads the record again and hands the message to the winner). The restored actor re-arms the
     * call's timers from their stored deadlines — new branches name the new owner, the stored B-leg
     * INVITE keeps the dead owner's branch, which B's responses and the suite's CANCEL carry (RFC 3261
     * §9.1) — and handles the message. Returns the call's owner now, or undefined when no call is stored.
     */
    const takeOver = (
      meta: SipEnvelopeMeta,
      sip: SipMessage,
      raw: Uint8Array,
    ): Effect.Effect<InstanceId | undefined> =>
      Effect.gen(function* () {
        for (let round = 0; round < 3; round++) {
          const entry = yield* storedEntry(sip)
          const stored = entry === undefined ? undefined : decodeCall(entry.value)
          if (entry === undefined || stored === undefined) return undefined
          if (typeof stored === "string") {
            yield* Effect.logWarning("stored call unreadable").pipe(Effect.annotateLogs({ reason: stored }))
            return undefined
          }
          const recorded = isInstanceId(stored.owner) ? stored.owner : undefined
          if (recorded !== undefined && recorded !== config.instance) {
            const handed = yield* handTo(recorded, meta, raw)
            if (handed !== "gone") return recorded
            const won = yield* store
              .update(
                entry.key,
                encodeCall(config.instance, stored.aMeta, stored.call, stored.media, stored.deadlines),
                entry.revision,
              )
              .pipe(
                Effect.as(true),
                Effect.catchTag("KvConflict", () => Effect.succeed(false)),
                Effect.orDie,
              )
            if (!won) continue
          }
          const actor = yield* register(
            { ...stored.call, id: { ...stored.call.id, owner } },
            stored.aMeta,
            undefined,
            stored.media,
          )
          actor.deadlines = stored.deadlines
          yield* telemetry.started(actor, { takenOver: true })
          // The claim names the owner for copies of the initial request that reach the queue group; the
          // record is what decides ownership, the claim is only where to hand them.
          yield* claims
            .put(
              claimKey(stored.call.aInvite.callId, stored.call.aInvite.fromTag),
              new TextEncoder().encode(config.instance),
            )
            .pipe(Effect.ignore)
          stats.callsTakenOver++
          active++
          yield* Effect.logInfo("call taken over").pipe(
            Effect.annotateLogs({
              callId: stored.call.aInvite.callId,
              from: stored.owner,
              phase: stored.call.phase,
            }),
          )
          // Each leg's session timer (RFC 4028) from now, then every stored deadline (a session timer's
          // stored deadline replaces the one from now).
          yield* performAll(actor, resumeSessionTimers(actor.call))
          yield* performAll(actor, resumeTimers(stored.deadlines, Date.now()))
          fork(runActor(actor))
          yield* dispatch(meta, sip)
          return config.instance
        }
        return undefined
      })

    /**
     * A message whose call's owner is gone: handled here when the call is here, else taken over from its
     * record, else (an initial INVITE) restarted. Returns the call's owner now, if there is one.
     */
    const recover = (
      m: BusMessage,
      meta: SipEnvelopeMeta,
      sip: SipMessage,
    ): Effect.Effect<InstanceId | undefined> =>
      Effect.gen(function* () {
        if (find(sip) !== undefined) {
          yield* dispatch(meta, sip)
          return config.instance
        }
        const now = yield* takeOver(meta, sip, m.data)
        if (now !== undefined) return now
        if (sip.kind === "request" && sip.method === "INVITE" && sip.toTag === undefined)
          return yield* restart(m, meta, sip)
        yield* dispatch(meta, sip)
        return undefined
      })

    /**
     * An initial INVITE whose claim names an instance that is gone, with no stored call: that owner died
     * before it stored the call, hence (write-ahead) before the B-leg INVITE left, so nothing of the call
     * exists beyond A's INVITE and a 100 Trying. The claim moves to this instance with a compare-and-set
     * on its revision (one survivor wins; the others' copies are retransmissions for the winner), and the
     * call starts here as new.
     */
    const restart = (m: BusMessage, meta: SipEnvelopeMeta, sip: SipRequest) =>
      Effect.gen(function* () {
        const key = claimKey(sip.callId, sip.fromTag)
        const entry = yield* claims.get(key).pipe(Effect.orDie)
        const holder = entry === undefined ? "" : new TextDecoder().decode(entry.value)
        if (entry !== undefined && holder !== config.instance) {
          if (isInstanceId(holder) && (yield* handTo(holder, meta, m.data)) !== "gone") return holder
          const won = yield* claims
            .update(key, new TextEncoder().encode(config.instance), entry.revision)
            .pipe(
              Effect.as(true),
              Effect.catchTag("KvConflict", () => Effect.succeed(false)),
              Effect.orDie,
            )
          if (!won) return undefined
          yield* Effect.logInfo("call restarted").pipe(
            Effect.annotateLogs({ callId: sip.callId, from: holder }),
          )
        }
        yield* onNew({ ...m, respond: () => Effect.void }, entry !== undefined)
        return find(sip) === undefined ? undefined : config.instance
      })

    const parse = (m: BusMessage): { meta: SipEnvelopeMeta; sip: SipMessage } | undefined => {
      const meta = decodeSipEnvelopeMeta({ get: m.header })
      if (meta instanceof EnvelopeError) return undefined
      const parsed = parseMessage(m.data)
      return parsed.ok ? { meta, sip: parsed.message } : undefined
    }

    /** Which actor a message belongs to, and from which side. */
    const find = (sip: SipMessage): { actor: Actor; side: "A" | "B" } | undefined => {
      if (sip.kind === "response") {
        const actor = byBCallId.get(sip.callId)
        if (actor !== undefined) return { actor, side: "B" }
        const a = sip.fromTag === undefined ? undefined : byATag.get(sip.fromTag)
        return a === undefined ? undefined : { actor: a, side: "A" }
      }
      if (sip.toTag !== undefined) {
        const a = byATag.get(sip.toTag)
        if (a !== undefined) return { actor: a, side: "A" }
        const b = byBTag.get(sip.toTag)
        return b === undefined ? undefined : { actor: b, side: "B" }
      }
      const a = actors.get(callKey(sip))
      return a === undefined ? undefined : { actor: a, side: "A" }
    }

    const dispatch = (meta: SipEnvelopeMeta, sip: SipMessage) =>
      Effect.gen(function* () {
        lastEdge = meta
        if (sip.kind === "response" && (yield* health.onResponse(sip))) return
        const found = find(sip)
        if (found !== undefined) {
          return yield* deliver(
            found.actor,
            found.side === "A" ? { _tag: "FromA", message: sip } : { _tag: "FromB", message: sip },
          )
        }
        if (yield* subscriptions.dispatch(meta, sip)) return
        if (sip.kind === "request" && sip.method !== "ACK") yield* replyTo(meta, sip, 481)
      })

    /** A new request from the queue group; `preClaimed`: this instance already holds its claim (restart). */
    const onNew = (m: BusMessage, preClaimed = false) =>
      Effect.gen(function* () {
        const decoded = parse(m)
        if (decoded === undefined)
          return yield* m
            .respond(encodeNewRequestReply({ v: 1, refuse: { reason: "unreadable request", retryAfter: 0 } }))
            .pipe(Effect.ignore)
        const { meta, sip } = decoded
        if (sip.kind !== "request") return
        const mine = () =>
          m.respond(encodeNewRequestReply({ v: 1, owner: config.instance })).pipe(Effect.ignore)
        const key = callKey(sip)
        // A dialog-creating SUBSCRIBE (RFC 6665) is bridged like an INVITE: same claim, identification, routing.
        const subscribe =
          sip.method === "SUBSCRIBE" &&
          sip.toTag === undefined &&
          subscriptions.isNew(sip) &&
          !claiming.has(key)
        if (
          subscribe ||
          (sip.method === "INVITE" && sip.toTag === undefined && !actors.has(key) && !claiming.has(key))
        ) {
          if (!subscribe) telemetry.metrics.attempts.add({})
          // RFC 3261 §8.2 / §16.3: 483 at Max-Forwards 0, 416, 420, 415 ... before any B-leg exists.
          const invalid = subscribe
            ? checkSubscribe(sip, REQUEST_POLICY)
            : (validateRequest(sip, REQUEST_POLICY) ?? admitSessionTimer(sip, config.sessionTimer))
          if (invalid !== undefined) {
            telemetry.refused(invalid.status)
            yield* mine()
            return yield* replyTo(meta, sip, invalid.status, invalid.headers, invalid.reason)
          }
          const source = parseHostPort(meta.remote) ?? { host: "", port: 0 }
          // Who is calling (issue 4): the auth service decides, or the routing table's source CIDRs.
          let inbound: Trunk | undefined
          if (config.auth === "service") {
            const who = yield* identify(bus, sip, source)
            if (who._tag === "Drop") return yield* mine()
            if (who._tag === "Answer") {
              telemetry.refused(who.status)
              yield* mine()
              return yield* replyTo(meta, sip, who.status, who.headers, who.reason)
            }
            const name = who._tag === "Trunk" ? who.trunk : USERS_TRUNK
            inbound = routing.current().trunk(name) ?? { name }
          }
          // A registered address-of-record is reached at its contacts; anything else takes the dial plan.
          const located = config.auth === "service" ? yield* locateTargets(bus, sip) : []
          const [firstContact, ...otherContacts] = located
          const routed: RouteOutcome =
            firstContact !== undefined
              ? {
                  _tag: "Routed",
                  inbound: inbound?.name ?? USERS_TRUNK,
                  route: "registered",
                  targets: [firstContact, ...otherContacts],
                }
              : yield* routeCall({
                  request: sip,
                  sourceHost: source.host,
                  table: routing.current(),
                  limits,
                  isUp: health.isUp,
                  inbound,
                })
          if (routed._tag === "Refused") {
            telemetry.refused(routed.status)
            yield* mine()
            return yield* replyTo(meta, sip, routed.status, routed.headers, routed.reason)
          }
          if (active + admitting + subscriptions.active() >= config.maxCalls) {
            if (!subscribe) telemetry.refused(503)
            return yield* m
              .respond(
                encodeNewRequestReply({
                  v: 1,
                  refuse: { reason: "call control at its call limit", retryAfter: 5 },
                }),
              )
              .pipe(Effect.ignore)
          }
          // Requests handled side by side (NEW_REQUEST_CONCURRENCY): this one holds a place under the call
          // limit until its call is counted in `active`, or it is not started.
          admitting++
          let held = true
          const counted = () => {
            if (held) admitting--
            held = false
          }
          return yield* Effect.gen(function* () {
            // The create-only claim: whoever writes first owns the call (retransmissions, CANCEL). While it
            // is in flight, copies of the same INVITE are retransmissions, not new calls.
            claiming.add(key)
            const claimed =
              preClaimed ||
              (yield* claims
                .create(claimKey(sip.callId, sip.fromTag), new TextEncoder().encode(config.instance))
                .pipe(
                  Effect.as(true),
                  Effect.catchTag("KvConflict", (_: KvConflict) => Effect.succeed(false)),
                  Effect.orDie,
                ))
            if (!claimed) {
              claiming.delete(key)
              const entry = yield* claims.get(claimKey(sip.callId, sip.fromTag)).pipe(Effect.orDie)
              const other = entry === undefined ? "" : new TextDecoder().decode(entry.value)
              // Claimed by this instance already (a stale claim of an ended call): nothing to start twice.
              if (other === config.instance) return yield* mine()
              if (isInstanceId(other)) {
                yield* m.respond(encodeNewRequestReply({ v: 1, owner: other })).pipe(Effect.ignore)
                // Hand the message to the owner, who handles it as a retransmission; an owner that is gone
                // leaves the call to a takeover.
                if ((yield* handTo(other, meta, m.data)) === "gone") yield* recover(m, meta, sip)
                return
              }
            }
            // The edge stopped waiting (B2b-Answer-By) and answered 503: a call started now would ring B for
            // a caller that was told to go away. The claim goes, so the caller's next attempt is new.
            if (meta.answerBy !== undefined && Date.now() >= meta.answerBy) {
              claiming.delete(key)
              stats.newCallsTooLate++
              yield* claims.remove(claimKey(sip.callId, sip.fromTag)).pipe(Effect.ignore)
              return yield* Effect.logWarning("new call not started: the edge stopped waiting").pipe(
                Effect.annotateLogs({ callId: sip.callId, lateMs: String(Date.now() - meta.answerBy) }),
              )
            }
            yield* mine()
            if (subscribe) yield* subscriptions.start({ subscribe: sip, meta, targets: routed.targets })
            else yield* startActor(sip, meta, routed.inbound, routed.targets, counted)
            claiming.delete(key)
            return
          }).pipe(Effect.ensuring(Effect.sync(counted)))
        }
        yield* mine()
        // A copy of a SUBSCRIBE whose claim is being written: the first copy's answer covers it (§17.2.2).
        if (sip.method === "SUBSCRIBE" && sip.toTag === undefined && claiming.has(key)) return
        // A CANCEL of a call not here (the edge forgot who took the INVITE): to the claim's holder, and
        // a takeover when that holder is gone.
        if (sip.method === "CANCEL" && sip.toTag === undefined && find(sip) === undefined) {
          const entry = yield* claims.get(claimKey(sip.callId, sip.fromTag)).pipe(Effect.orDie)
          const holder = entry === undefined ? "" : new TextDecoder().decode(entry.value)
          if (isInstanceId(holder) && holder !== config.instance) {
            if ((yield* handTo(holder, meta, m.data)) !== "gone") return
          }
          return yield* recover(m, meta, sip)
        }
        if (sip.method === "OPTIONS" && sip.toTag === undefined) {
          return yield* replyTo(meta, sip, 200, [
            ["Allow", ALLOW],
            ["Accept", "application/sdp"],
            ["Supported", "100rel, timer"],
          ])
        }
        if (
          find(sip) !== undefined ||
          sip.method === "ACK" ||
          sip.toTag !== undefined ||
          sip.method === "CANCEL" ||
          sip.method === "SUBSCRIBE"
        )
          return yield* dispatch(meta, sip)
        return yield* replyTo(meta, sip, 405, [["Allow", ALLOW]])
      })

    const onOwned = (m: BusMessage) =>
      Effect.gen(function* () {
        yield* m.respond(new Uint8Array()).pipe(Effect.ignore)
        const decoded = parse(m)
        if (decoded === undefined) return
        const { sip } = decoded
        // The edge remembers this instance for an initial request's Call-ID and From-tag, so a new INVITE
        // with the same identifiers (a retry after 407, RFC 3261 §22.2) comes here: it is a new call.
        if (
          sip.kind === "request" &&
          sip.toTag === undefined &&
          ((sip.method === "INVITE" && find(sip) === undefined) ||
            (sip.method === "SUBSCRIBE" && subscriptions.isNew(sip)))
        )
          return yield* onNew({ ...m, respond: () => Effect.void })
        yield* dispatch(decoded.meta, sip)
      })

    const health = yield* startGatewayHealth({
      routing: routing.current,
      owner,
      local: () =>
        lastEdge === undefined ? { host: config.advertisedHost, port: config.sipPort } : localOf(lastEdge),
      send: (request, hop) => {
        const remote = { host: hop.host, port: hop.port }
        if (lastEdge !== undefined) return sendVia(lastEdge, request, remote, hop.transport)
        return bus
          .publish(
            Subjects.edgeSendAny(),
            serializeMessage(request),
            encodeSipEnvelopeHeaders({
              edge: config.instance,
              listener: ListenerId(`${hop.transport}:any`),
              transport: hop.transport,
              local: formatHostPort(config.advertisedHost, config.sipPort),
              remote: formatHostPort(hop.host, hop.port),
            }),
          )
          .pipe(Effect.ignore)
      },
    })
    // New calls come through the queue group in a scope of their own: draining closes it, so the group
    // sends new calls to the other instances (or the edge answers 503) while this one finishes its calls.
    const newCalls = yield* Scope.make()
    yield* bus
      .subscribe(Subjects.callControlNew(), onNew, {
        queue: QueueGroups.callControl,
        concurrency: NEW_REQUEST_CONCURRENCY,
      })
      .pipe(Effect.provideService(Scope.Scope, newCalls), Effect.orDie)
    yield* registerDrain(
      Effect.gen(function* () {
        yield* Scope.close(newCalls, Exit.void)
        yield* Effect.logInfo("draining: no new calls; waiting for the calls in progress").pipe(
          Effect.annotateLogs({ active: String(active) }),
        )
        while (active > 0) yield* Effect.sleep(200)
        yield* Effect.logInfo("drained")
      }),
    )
    yield* bus.subscribe(Subjects.callControlInstance(config.instance), onOwned).pipe(Effect.orDie)
    /**
     * Takeover queue: a message whose owner's subject had no responders. The reply names the call's
     * owner now, so the edge's memory of an initial request's owner points at the survivor.
     */
    const onTakeover = (m: BusMessage) =>
      Effect.gen(function* () {
        const decoded = parse(m)
        // A subscription's message: its own record and actor (SubscriptionActor.ts).
        if (
          decoded !== undefined &&
          find(decoded.sip) === undefined &&
          (yield* subscriptions.takeOver(decoded.meta, decoded.sip, m.data))
        )
          return yield* m.respond(new Uint8Array()).pipe(Effect.ignore)
        const now = decoded === undefined ? undefined : yield* recover(m, decoded.meta, decoded.sip)
        yield* m
          .respond(now === undefined ? new Uint8Array() : encodeNewRequestReply({ v: 1, owner: now }))
          .pipe(Effect.ignore)
      })
    yield* bus
      .subscribe(Subjects.callControlTakeover(), onTakeover, { queue: QueueGroups.callControl })
      .pipe(Effect.orDie)
    // The owner keeps its calls' relay sessions alive (their leases free them if this instance dies).
    yield* Effect.forkScoped(
      Effect.suspend(() =>
        Effect.forEach(
          [...actors.values()].filter((a) => a.call.phase !== "Ended"),
          (a) => media.renew(a.media),
          { concurrency: 8, discard: true },
        ),
      ).pipe(Effect.repeat(Schedule.spaced(LEASE_RENEW_MS))),
    )
    // Relay events for this instance's calls: lost media ends the call on both legs.
    yield* bus
      .subscribe(relaySubjects.events(config.instance), (m) =>
        Effect.gen(function* () {
          const event = decodeRelayEvent(m.data)
          if (event instanceof RelayContractError) return
          const actor = [...actors.values()].find((a) =>
            a.media.media.relay?.streams.some((s) => s.sessionId === event.sessionId),
          )
          if (actor === undefined) return
          if (event.type === "dtmf") {
            return yield* Effect.logInfo("dtmf").pipe(
              Effect.annotateLogs({ callId: actor.call.aInvite.callId, leg: event.leg, digit: event.digit }),
            )
          }
          actor.timeline.hangupBy ??= "system"
          yield* Effect.logWarning("media lost").pipe(
            Effect.annotateLogs({ callId: actor.call.aInvite.callId, event: event.type }),
          )
          yield* deliver(actor, {
            _tag: "HangUp",
            reason: `SIP;cause=408;text="${event.type === "media-timeout" ? "media timeout" : "media session lost"}"`,
            status: 503,
          })
        }),
      )
      .pipe(Effect.orDie)
    // Operators' requests (admin API): end a call this instance owns.
    yield* bus
      .subscribe(adminSubjects.callControl(config.instance), (m) =>
        Effect.gen(function* () {
          const decoded = decodeCallControlRequest(m.data)
          const reply = (payload: CallControlReplyV1) =>
            m.respond(encodeAdminPayload(payload)).pipe(Effect.ignore)
          if (Result.isFailure(decoded))
            return yield* reply({
              v: 1,
              error: { code: "bad-request", reason: describeAdminProblem(decoded.failure) },
            })
          const request = decoded.success
          const actor = [...actors.values()].find(
            (a) => claimKey(a.call.aInvite.callId, a.call.aInvite.fromTag) === request.callKey,
          )
          if (actor === undefined)
            return yield* reply({ v: 1, error: { code: "not-found", reason: "no such call here" } })
          if (actor.call.phase === "Ended" || actor.call.phase === "Ending")
            return yield* reply({ v: 1, error: { code: "ended", reason: "the call is ending" } })
          actor.timeline.hangupBy ??= "admin"
          const answered = actor.call.phase === "Answered"
          yield* deliver(actor, {
            _tag: "HangUp",
            reason: `SIP;cause=200;text="${request.reason.replace(/["\\]/g, "").slice(0, 100)}"`,
            status: 480,
          })
          yield* reply({ v: 1, ok: { action: answered ? "bye" : "cancel" } })
        }),
      )
      .pipe(Effect.orDie)
    yield* Effect.logInfo("call-control ready").pipe(
      Effect.annotateLogs({
        instance: config.instance,
        routing: routing.origin(),
      }),
    )
    return { stats, activeCalls: () => active }
  })
