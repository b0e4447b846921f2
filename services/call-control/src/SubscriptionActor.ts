/**
 * The subscription actors: one fiber per bridged subscription reading a bounded mailbox and stepping the
 * pure Subscription machine, performing its actions with the few capabilities it is given — send through
 * the edge, timers (fibers that post events), logs and metrics. Messages are found by the suite's own
 * identifiers (its tags and the B-leg Call-ID), like a call's. Once A has its final response, the
 * subscription is stored in KV `calls` (SubscriptionRecord.ts) whenever its dialogs change; when the
 * owner dies, the instance that receives a message for it from the takeover queue restores it (a
 * compare-and-set on the record makes it the only owner) and goes on: new branches name the new owner.
 */
import { createHash, randomBytes } from "node:crypto"
import type { KvStore } from "@b2bua/bus"
import {
  type InstanceId,
  isInstanceId,
  type Owner,
  parseHostPort,
  type SipEnvelopeMeta,
} from "@b2bua/contracts"
import type { SipMessage, SipRequest } from "@b2bua/sip"
import { Metrics } from "@b2bua/telemetry"
import { Clock, Effect, Fiber, Queue } from "effect"
import type { BTarget, HostPort } from "./CallState.js"
import { hostPortOf } from "./LegMessages.js"
import {
  type Subscription,
  type SubscriptionAction,
  type SubscriptionEvent,
  type SubscriptionTimer,
  startSubscription,
  stepSubscription,
} from "./Subscription.js"
import { decodeSubscription, encodeSubscription } from "./SubscriptionRecord.js"

/** What a subscription actor may do: nothing else reaches it. */
export interface SubscriptionCapabilities {
  readonly owner: Owner
  /** The suite's address on the listener a message came in on (its Via and Contact on both legs). */
  readonly localOf: (meta: SipEnvelopeMeta) => HostPort
  /** Sends through the edge named by `meta`, from its listener, to `remote` (another transport: any listener). */
  readonly send: (
    meta: SipEnvelopeMeta,
    message: SipMessage,
    remote: HostPort,
    transport?: "udp" | "tcp",
  ) => Effect.Effect<void>
  /** Releases the subscription's claim in KV `call-claims` (the same claim a call takes). */
  readonly releaseClaim: (subscribe: SipRequest) => Effect.Effect<void>
  /** KV `calls`, where subscriptions are kept for takeover (absent: not stored). */
  readonly store?: KvStore | undefined
  /** Passes a message to the instance that won a takeover race (it handles it). */
  readonly handOver?: (owner: InstanceId, meta: SipEnvelopeMeta, raw: Uint8Array) => Effect.Effect<void>
}

export interface Subscriptions {
  /** Whether an initial SUBSCRIBE would start a subscription: none with its Call-ID and From-tag is
   * alive here (an ended one is replaced by a new request, e.g. the retry after a 423, RFC 6665 §4.1.2.1). */
  readonly isNew: (subscribe: SipRequest) => boolean
  readonly start: (options: {
    readonly subscribe: SipRequest
    readonly meta: SipEnvelopeMeta
    readonly targets: readonly [BTarget, ...ReadonlyArray<BTarget>]
  }) => Effect.Effect<void>
  /** Hands a message to the subscription it belongs to; false when it belongs to none here. */
  readonly dispatch: (meta: SipEnvelopeMeta, sip: SipMessage) => Effect.Effect<boolean>
  /**
   * A message from the takeover queue (its owner is gone): restores the stored subscription it belongs
   * to, becomes its owner and handles the message; false when no stored subscription matches.
   */
  readonly takeOver: (meta: SipEnvelopeMeta, sip: SipMessage, raw: Uint8Array) => Effect.Effect<boolean>
  /** Subscriptions not yet ended. */
  readonly active: () => number
}

interface Actor {
  readonly key: string
  /** The envelope of A's latest message: responses and NOTIFYs to A leave through its edge and listener. */
  aMeta: SipEnvelopeMeta
  readonly mailbox: Queue.Queue<SubscriptionEvent>
  readonly timers: Map<SubscriptionTimer, Fiber.Fiber<void>>
  sub: Subscription
  released: boolean
  /** Whether the `subtag.<tag>` pointers to its record are written. */
  indexed: boolean
}

/** Each mailbox holds this many messages; beyond it they are dropped and counted (SIP retransmits). */
const MAILBOX = 64
/** How long an ended subscription still answers retransmissions (RFC 3261 §17: 64*T1). */
const LINGER_MS = 32_000

const keyOf = (m: SipMessage): string => `${m.callId}|${m.fromTag ?? ""}`

/** The record's key in KV `calls`: a hash of the A-leg Call-ID and From-tag (like a call's). */
const recordKey = (subscribe: SipRequest): string =>
  `sub.${createHash("sha256")
    .update(`${subscribe.callId}|${subscribe.fromTag ?? ""}`)
    .digest("hex")
    .slice(0, 40)}`

/** What the record holds changed: written again (transactions in flight are not stored). */
const changed = (a: Subscription, b: Subscription): boolean =>
  a.phase !== b.phase ||
  a.aFinal !== b.aFinal ||
  a.bRemoteTag !== b.bRemoteTag ||
  a.bTarget !== b.bTarget ||
  a.aTarget !== b.aTarget ||
  a.aLocalSeq !== b.aLocalSeq ||
  a.bLocalSeq !== b.bLocalSeq ||
  a.aRemoteSeq !== b.aRemoteSeq ||
  a.bRemoteSeq !== b.bRemoteSeq ||
  a.expiresAt !== b.expiresAt

export const makeSubscriptions = (caps: SubscriptionCapabilities): Effect.Effect<Subscriptions> =>
  Effect.gen(function* () {
    const metrics = yield* Metrics
    const m = {
      started: metrics.counter("cc_subscriptions_started_total", {
        description: "SUBSCRIBEs that started a bridged subscription (RFC 6665)",
      }),
      ended: metrics.counter("cc_subscriptions_ended_total", {
        description: "bridged subscriptions ended, by how they ended",
        labels: ["how"],
      }),
      takenOver: metrics.counter("cc_subscriptions_taken_over_total", {
        description: "subscriptions restored from KV after their owner died",
      }),
      overflows: metrics.counter("cc_subscription_mailbox_overflows_total", {
        description: "messages dropped because a subscription's mailbox was full",
      }),
    }
    const byKey = new Map<string, Actor>()
    const byATag = new Map<string, Actor>()
    const byBTag = new Map<string, Actor>()
    const byBCallId = new Map<string, Actor>()
    let active = 0
    metrics.observe("cc_subscriptions_active", { description: "bridged subscriptions in progress" }, () => [
      [{}, active],
    ])
    const fork = Effect.runForkWith(yield* Effect.context<never>())
    const store = caps.store
    const instance = caps.owner.instance

    /** Written once A has its final response (before, a new owner could not answer A's SUBSCRIBE). */
    const persist = (actor: Actor) =>
      store === undefined || actor.sub.aFinal === undefined || actor.sub.phase === "Ended"
        ? Effect.void
        : Effect.gen(function* () {
            const key = recordKey(actor.sub.aSubscribe)
            yield* store.put(key, encodeSubscription(instance, actor.aMeta, actor.sub))
            if (!actor.indexed) {
              actor.indexed = true
              for (const tag of [actor.sub.aTag, actor.sub.bFromTag])
                yield* store.put(`subtag.${tag}`, new TextEncoder().encode(key))
            }
          }).pipe(
            Effect.catch((e) =>
              Effect.logWarning("subscription not stored").pipe(Effect.annotateLogs({ error: e.message })),
            ),
          )
    const unstore = (s: Subscription) =>
      store === undefined
        ? Effect.void
        : Effect.forEach([recordKey(s.aSubscribe), `subtag.${s.aTag}`, `subtag.${s.bFromTag}`], (k) =>
            store.remove(k).pipe(Effect.ignore),
          )

    const deliver = (actor: Actor, event: SubscriptionEvent) =>
      Effect.gen(function* () {
        if (!(yield* Queue.offer(actor.mailbox, event))) m.overflows.add({})
      })

    const timerFired = (actor: Actor, timer: SubscriptionTimer) =>
      Effect.gen(function* () {
        actor.timers.delete(timer)
        yield* deliver(actor, { _tag: "TimerFired", timer, at: yield* Clock.currentTimeMillis })
      })

    const cancelTimer = (actor: Actor, timer: SubscriptionTimer) => {
      const running = actor.timers.get(timer)
      actor.timers.delete(timer)
      if (running !== undefined) fork(Fiber.interrupt(running))
    }

    const forget = (actor: Actor) => {
      if (byKey.get(actor.key) === actor) byKey.delete(actor.key)
      byATag.delete(actor.sub.aTag)
      byBTag.delete(actor.sub.bFromTag)
      byBCallId.delete(actor.sub.bCallId)
    }

    const perform = (actor: Actor, action: SubscriptionAction): Effect.Effect<void> => {
      const s = actor.sub
      switch (action._tag) {
        case "SendA": {
          const msg = action.message
          const remote =
            msg.kind === "request"
              ? (hostPortOf(s.aTarget) ?? parseHostPort(actor.aMeta.remote)!)
              : parseHostPort(actor.aMeta.remote)!
          return caps.send(actor.aMeta, msg, remote)
        }
        case "SendB":
          return caps.send(actor.aMeta, action.message, action.to, action.transport)
        case "StartTimer":
          return Effect.sync(() => {
            cancelTimer(actor, action.timer)
            actor.timers.set(
              action.timer,
              fork(Effect.sleep(action.delayMs).pipe(Effect.andThen(timerFired(actor, action.timer)))),
            )
          })
        case "CancelTimer":
          return Effect.sync(() => cancelTimer(actor, action.timer))
        case "Ended":
          return Effect.gen(function* () {
            active--
            m.ended.add({ how: endedHow(action.reason) })
            for (const timer of [...actor.timers.keys()]) cancelTimer(actor, timer)
            yield* caps.releaseClaim(s.aSubscribe)
            yield* unstore(s)
            yield* Effect.logInfo("subscription ended").pipe(
              Effect.annotateLogs({ callId: s.aSubscribe.callId, bCallId: s.bCallId, reason: action.reason }),
            )
            // Linger, answering retransmissions, then forget the subscription.
            fork(
              Effect.sleep(LINGER_MS).pipe(
                Effect.andThen(
                  Effect.suspend(() => {
                    actor.released = true
                    forget(actor)
                    return Queue.offer(actor.mailbox, { _tag: "TimerFired", timer: "Expires", at: 0 })
                  }),
                ),
              ),
            )
          })
      }
    }

    const handle = (actor: Actor, event: SubscriptionEvent) =>
      Effect.gen(function* () {
        const previous = actor.sub
        const before = previous.phase
        const [next, actions] = stepSubscription(previous, event)
        actor.sub = next
        for (const action of actions) yield* perform(actor, action)
        if (changed(previous, next)) yield* persist(actor)
        if (next.phase !== before)
          yield* Effect.logDebug("subscription phase").pipe(
            Effect.annotateLogs({ callId: next.aSubscribe.callId, from: before, to: next.phase }),
          )
      }).pipe(
        Effect.withSpan("Subscription.handle", {
          attributes: {
            "sip.call_id": actor.sub.aSubscribe.callId,
            "b2b.event": event._tag === "TimerFired" ? `timer ${event.timer}` : event._tag,
          },
        }),
      )

    const run = (actor: Actor): Effect.Effect<void> =>
      Effect.gen(function* () {
        while (!actor.released) {
          const event = yield* Queue.take(actor.mailbox)
          if (!actor.released) yield* handle(actor, event)
        }
      })

    const find = (sip: SipMessage): { actor: Actor; side: "A" | "B" } | undefined => {
      if (sip.kind === "response") {
        const b = byBCallId.get(sip.callId)
        if (b !== undefined) return { actor: b, side: "B" }
        const a = sip.fromTag === undefined ? undefined : byATag.get(sip.fromTag)
        return a === undefined ? undefined : { actor: a, side: "A" }
      }
      if (sip.toTag !== undefined) {
        const a = byATag.get(sip.toTag)
        if (a !== undefined) return { actor: a, side: "A" }
        const b = byBTag.get(sip.toTag)
        return b === undefined ? undefined : { actor: b, side: "B" }
      }
      const a = byKey.get(keyOf(sip))
      return a === undefined ? undefined : { actor: a, side: "A" }
    }

    const isNew = (subscribe: SipRequest): boolean => {
      const existing = byKey.get(keyOf(subscribe))
      return (
        existing === undefined ||
        (existing.sub.phase === "Ended" && existing.sub.aSubscribe.cseq.seq !== subscribe.cseq.seq)
      )
    }

    const register = (sub: Subscription, meta: SipEnvelopeMeta) =>
      Effect.gen(function* () {
        const actor: Actor = {
          key: keyOf(sub.aSubscribe),
          aMeta: meta,
          mailbox: yield* Queue.dropping<SubscriptionEvent>(MAILBOX),
          timers: new Map(),
          sub,
          released: false,
          indexed: false,
        }
        byKey.set(actor.key, actor)
        byATag.set(sub.aTag, actor)
        byBTag.set(sub.bFromTag, actor)
        byBCallId.set(sub.bCallId, actor)
        active++
        return actor
      })

    const start: Subscriptions["start"] = ({ subscribe, meta, targets }) =>
      Effect.gen(function* () {
        const previous = byKey.get(keyOf(subscribe))
        if (previous !== undefined) {
          previous.released = true
          forget(previous)
          yield* Queue.offer(previous.mailbox, { _tag: "TimerFired", timer: "Expires", at: 0 })
        }
        const [sub, actions] = startSubscription({
          subscribe,
          id: { owner: caps.owner, random: randomBytes(6).toString("hex"), local: caps.localOf(meta) },
          targets,
          aReliable: meta.transport !== "udp",
        })
        const actor = yield* register(sub, meta)
        m.started.add({})
        yield* Effect.logInfo("subscription started").pipe(
          Effect.annotateLogs({
            callId: subscribe.callId,
            bCallId: sub.bCallId,
            event: subscribe.headerValues("Event")[0] ?? "",
          }),
        )
        for (const action of actions) yield* perform(actor, action)
        fork(run(actor))
      }).pipe(Effect.withSpan("Subscription.start", { attributes: { "sip.call_id": subscribe.callId } }))

    const dispatch: Subscriptions["dispatch"] = (meta, sip) =>
      Effect.gen(function* () {
        const found = find(sip)
        if (found === undefined) return false
        if (found.side === "A" && sip.kind === "request") found.actor.aMeta = meta
        const at = yield* Clock.currentTimeMillis
        yield* deliver(
          found.actor,
          found.side === "A" ? { _tag: "FromA", message: sip, at } : { _tag: "FromB", message: sip, at },
        )
        return true
      })

    const takeOver: Subscriptions["takeOver"] = (meta, sip, raw) =>
      Effect.gen(function* () {
        if (find(sip) !== undefined) return yield* dispatch(meta, sip)
        const tag = sip.kind === "request" ? sip.toTag : sip.fromTag
        if (store === undefined || tag === undefined) return false
        const pointer = yield* store.get(`subtag.${tag}`).pipe(Effect.orElseSucceed(() => undefined))
        if (pointer === undefined) return false
        const entry = yield* store
          .get(new TextDecoder().decode(pointer.value))
          .pipe(Effect.orElseSucceed(() => undefined))
        const stored = entry === undefined ? undefined : decodeSubscription(entry.value)
        if (entry === undefined || stored === undefined || typeof stored === "string") return false
        if (stored.owner !== instance) {
          // Compare-and-set on the record: of two survivors, one becomes the owner; the other hands over.
          const won = yield* store
            .update(
              entry.key,
              encodeSubscription(instance, stored.aMeta, stored.subscription),
              entry.revision,
            )
            .pipe(
              Effect.as(true),
              Effect.orElseSucceed(() => false),
            )
          if (!won) {
            const latest = yield* store.get(entry.key).pipe(Effect.orElseSucceed(() => undefined))
            const now = latest === undefined ? undefined : decodeSubscription(latest.value)
            if (
              typeof now === "object" &&
              now.owner !== instance &&
              isInstanceId(now.owner) &&
              caps.handOver
            ) {
              yield* caps.handOver(now.owner, meta, raw)
              return true
            }
            return false
          }
        }
        const s = stored.subscription
        // A subscription whose final NOTIFY was in flight is over: nothing left to restore.
        if (s.phase === "Terminating") {
          yield* unstore(s)
          return false
        }
        // The last request seen on each leg may come again (its answer died with the owner): the new
        // owner relays it as a new one instead of refusing its CSeq.
        const actor = yield* register(
          {
            ...s,
            id: { ...s.id, owner: caps.owner },
            aRemoteSeq: s.aRemoteSeq - 1,
            bRemoteSeq: s.bRemoteSeq === undefined ? undefined : s.bRemoteSeq - 1,
          },
          stored.aMeta,
        )
        actor.indexed = true
        m.takenOver.add({})
        if (s.expiresAt !== undefined) {
          const now = yield* Clock.currentTimeMillis
          yield* perform(actor, {
            _tag: "StartTimer",
            timer: "Expires",
            delayMs: Math.max(0, s.expiresAt - now),
          })
        }
        yield* Effect.logInfo("subscription taken over").pipe(
          Effect.annotateLogs({ callId: s.aSubscribe.callId, from: stored.owner }),
        )
        fork(run(actor))
        return yield* dispatch(meta, sip)
      })

    return { isNew, start, dispatch, takeOver, active: () => active }
  })

/** A bounded label for how a subscription ended (the machine's reasons are free text). */
const endedHow = (reason: string): string => {
  if (reason.startsWith("B-leg")) return "refused"
  if (reason.startsWith("refresh")) return "refresh_failed"
  if (reason.startsWith("NOTIFY")) return "notify_failed"
  if (reason === "subscription expired") return "expired"
  if (reason === "terminated by the notifier") return "terminated"
  return "other"
}
