/**
 * The edge's pipeline. Inbound: parse (400/505 for what does not parse, malformed responses dropped),
 * stamp received/rport, route by the identifiers (see Router), hand over on NATS with the transport facts
 * in the envelope; 503 with Retry-After when nobody takes a new request. Outbound: send what services
 * publish on this edge's subject (or the shared one) from the socket or connection they name.
 */

import { Bus, type BusShape } from "@b2bua/bus"
import {
  decodeNewRequestReply,
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeSipEnvelopeHeaders,
  type InstanceId,
  parseHostPort,
  QueueGroups,
  Subjects,
} from "@b2bua/contracts"
import { parseMessage, type SipRequest, serializeMessage } from "@b2bua/sip"
import { Effect, type Scope } from "effect"
import type { EdgeConfig } from "./Config.js"
import { OwnerCache } from "./OwnerCache.js"
import { responseDestination, stampReceived } from "./ReceivedStamp.js"
import { initialRequestKey, type Route, route } from "./Router.js"
import { rejectUnparseable, serviceUnavailable } from "./StatelessResponses.js"
import { type Inbound, type Outbound, startTransports, type Transports } from "./Transports.js"

/** Counters the edge keeps (exported as metrics by the telemetry layer when it lands; read by tests). */
export interface EdgeCounters {
  received: number
  badRequests: number
  badResponses: number
  forwarded: number
  unavailable: number
  dropped: number
  sent: number
  sendErrors: number
}

export interface RunningEdge {
  readonly transports: Transports
  readonly counters: EdgeCounters
  readonly owners: OwnerCache
}

/** RFC 3261 §17: 64*T1 is the longest a transaction lives; a margin covers clock and queueing. */
const OWNER_TTL_MS = 64 * 500 + 8000

export const runEdge = (config: EdgeConfig): Effect.Effect<RunningEdge, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const run = Effect.runForkWith(yield* Effect.context<never>())
    const counters: EdgeCounters = {
      received: 0,
      badRequests: 0,
      badResponses: 0,
      forwarded: 0,
      unavailable: 0,
      dropped: 0,
      sent: 0,
      sendErrors: 0,
    }
    const owners = new OwnerCache(100_000, OWNER_TTL_MS)
    let inFlight = 0

    const transports: Transports = yield* Effect.acquireRelease(
      Effect.promise(() =>
        startTransports(config, {
          message: (inbound) => run(handleInbound(inbound)),
          framingError: (connection, reason) =>
            run(
              Effect.logWarning("closing TCP connection after a framing error").pipe(
                Effect.annotateLogs({ connection, reason }),
              ),
            ),
          sendError: (target, reason) => {
            counters.sendErrors++
            run(
              Effect.logWarning("send failed").pipe(
                Effect.annotateLogs({ remote: `${target.remote.host}:${target.remote.port}`, reason }),
              ),
            )
          },
        }),
      ),
      (t) => Effect.promise(() => t.close()),
    )

    const replyTo = (inbound: Inbound, destination: { host: string; port: number }, bytes: Buffer): void => {
      counters.sent++
      transports.send(
        {
          listener: inbound.listener,
          transport: inbound.transport,
          remote: inbound.transport === "udp" ? destination : inbound.remote,
          connection: inbound.connection,
        },
        bytes,
      )
    }

    const envelope = (inbound: Inbound, takeover = false) =>
      encodeSipEnvelopeHeaders({
        edge: config.instance,
        listener: inbound.listener,
        transport: inbound.transport,
        local: inbound.local,
        remote: `${inbound.remote.host.includes(":") ? `[${inbound.remote.host}]` : inbound.remote.host}:${inbound.remote.port}`,
        connection: inbound.connection,
        receivedAt: Date.now(),
        takeover,
      })

    const unavailable = (inbound: Inbound, request: SipRequest, why: string) =>
      Effect.sync(() => {
        counters.unavailable++
        if (request.method === "ACK") return
        replyTo(
          inbound,
          responseDestination(request.topVia),
          serviceUnavailable(request, why, config.retryAfterSeconds),
        )
      })

    /** Hands a message to its owner; an owner that is gone (no responders) is replaced by the fallback. */
    const toOwner = (inbound: Inbound, bytes: Buffer, r: Extract<Route, { _tag: "Owner" }>) =>
      bus
        .request(r.subject, bytes, { timeoutMs: config.callControlTimeoutMs, headers: envelope(inbound) })
        .pipe(
          Effect.catchTag("BusNoResponders", () =>
            bus.request(r.fallback, bytes, {
              timeoutMs: config.callControlTimeoutMs,
              headers: envelope(inbound, true),
            }),
          ),
          Effect.tap(() =>
            Effect.sync(() => {
              counters.forwarded++
            }),
          ),
        )

    const toNew = (inbound: Inbound, request: SipRequest, bytes: Buffer, subject: string) =>
      Effect.gen(function* () {
        if (inFlight >= config.maxInFlight)
          return yield* unavailable(inbound, request, "edge at its in-flight limit")
        inFlight++
        const reply = yield* bus
          .request(subject, bytes, { timeoutMs: config.callControlTimeoutMs, headers: envelope(inbound) })
          .pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
        const decoded = decodeNewRequestReply(reply.data)
        if (typeof decoded === "string") {
          yield* Effect.logWarning("bad reply from call control").pipe(
            Effect.annotateLogs({ reason: decoded }),
          )
          return yield* unavailable(inbound, request, "call control gave no usable answer")
        }
        if ("refuse" in decoded) return yield* unavailable(inbound, request, decoded.refuse.reason)
        counters.forwarded++
        owners.remember(initialRequestKey(request), decoded.owner, Date.now())
      })

    const handleInbound = (inbound: Inbound): Effect.Effect<void> =>
      Effect.gen(function* () {
        counters.received++
        const parsed = parseMessage(inbound.bytes, {
          mode: inbound.transport === "udp" ? "datagram" : "stream",
        })
        if (!parsed.ok) {
          const isResponse = inbound.bytes.subarray(0, 4).toString("latin1") === "SIP/"
          if (isResponse) {
            counters.badResponses++
            return yield* Effect.logDebug("malformed response dropped").pipe(
              Effect.annotateLogs({ reason: parsed.error.reason }),
            )
          }
          counters.badRequests++
          const answer = rejectUnparseable(inbound.bytes, parsed.error)
          if (answer !== undefined) replyTo(inbound, inbound.remote, answer)
          return yield* Effect.logInfo("malformed request refused").pipe(
            Effect.annotateLogs({ reason: parsed.error.reason, remote: inbound.remote.host }),
          )
        }
        const message = parsed.message
        if (message.kind === "request") {
          const stamped = stampReceived(message.topVia, inbound.remote.host, inbound.remote.port)
          if (stamped !== undefined) message.replaceTopVia(stamped)
        }
        const bytes = serializeMessage(message)
        const decision = route(message, (key) => owners.lookup(key, Date.now()))
        switch (decision._tag) {
          case "Drop":
            counters.dropped++
            return
          case "Owner":
            return yield* toOwner(inbound, bytes, decision).pipe(
              Effect.catch((e) =>
                Effect.sync(() => {
                  counters.dropped++
                }).pipe(
                  Effect.andThen(
                    Effect.logWarning("owner unreachable").pipe(
                      Effect.annotateLogs({ subject: decision.subject, error: e.message }),
                    ),
                  ),
                ),
              ),
            )
          case "New":
          case "Registrar": {
            if (message.kind !== "request") return
            const why = decision._tag === "New" ? "call control not responding" : "registrar not responding"
            return yield* toNew(inbound, message, bytes, decision.subject).pipe(
              Effect.catch((e) =>
                unavailable(
                  inbound,
                  message,
                  e._tag === "BusNoResponders" ? why.replace("responding", "available") : why,
                ),
              ),
            )
          }
        }
      })

    const handleSend = (data: Uint8Array, header: (name: string) => string) =>
      Effect.gen(function* () {
        const meta = decodeSipEnvelopeMeta({ get: header })
        if (meta instanceof EnvelopeError) {
          counters.dropped++
          return yield* Effect.logWarning("refused a send request").pipe(
            Effect.annotateLogs({ reason: meta.message }),
          )
        }
        const remote = parseHostPort(meta.remote)
        if (remote === undefined) return
        const target: Outbound = {
          listener: meta.listener,
          transport: meta.transport,
          remote,
          connection: meta.connection,
        }
        counters.sent++
        transports.send(target, Buffer.from(data.buffer, data.byteOffset, data.byteLength))
      })

    yield* subscribeSends(bus, config.instance, handleSend)
    yield* Effect.logInfo("sip-edge listening").pipe(
      Effect.annotateLogs({
        instance: config.instance,
        listeners: transports.listeners.map((l) => l.id),
      }),
    )
    return { transports, counters, owners }
  })

const subscribeSends = (
  bus: BusShape,
  instance: InstanceId,
  handle: (data: Uint8Array, header: (name: string) => string) => Effect.Effect<void>,
) =>
  Effect.gen(function* () {
    yield* bus.subscribe(Subjects.edgeSend(instance), (m) => handle(m.data, m.header)).pipe(Effect.orDie)
    yield* bus
      .subscribe(Subjects.edgeSendAny(), (m) => handle(m.data, m.header), { queue: QueueGroups.edge })
      .pipe(Effect.orDie)
  })
