/**
 * The edge's pipeline. Inbound: parse (400/505 for what does not parse, malformed responses dropped),
 * stamp received/rport, route by the identifiers (see Router), hand over on NATS with the transport facts
 * in the envelope; 503 with Retry-After when nobody takes a new request. Outbound: send what services
 * publish on this edge's subject (or the shared one) from the socket or connection they name.
 * Each received message is handled in a `sip.receive` span whose context reaches call control in the
 * envelope's `traceparent`; metrics and span attributes are described in EdgeTelemetry.
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
import { parseMessage, type SipMessage, type SipRequest, serializeMessage } from "@b2bua/sip"
import { Metrics } from "@b2bua/telemetry"
import { Effect, type Scope } from "effect"
import type { EdgeConfig } from "./Config.js"
import {
  countSentMessage,
  type HandOver,
  makeEdgeMetrics,
  methodLabel,
  type OverloadCause,
  observeEdgeState,
  statusLabel,
  timedHandOver,
} from "./EdgeTelemetry.js"
import { OwnerCache } from "./OwnerCache.js"
import { responseDestination, stampReceived } from "./ReceivedStamp.js"
import { initialRequestKey, type Route, route } from "./Router.js"
import { rejectUnparseable, serviceUnavailable } from "./StatelessResponses.js"
import { type Inbound, type Outbound, startTransports, type Transports } from "./Transports.js"

/** Counters the edge keeps for tests; operators read the metrics in EdgeTelemetry. */
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

export const runEdge = (
  config: EdgeConfig,
  /** Registers the graceful drain (SIGTERM) with the process runtime; tests may leave it out. */
  registerDrain: (drain: Effect.Effect<void>) => Effect.Effect<void> = () => Effect.void,
): Effect.Effect<RunningEdge, never, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    /** Draining: OPTIONS pings and new INVITEs get 503 (carriers move away), dialogs go on. */
    let draining = false
    let lastMessageAt = Date.now()
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
    /**
     * New requests handed to call control and not answered yet (method and initialRequestKey; at most
     * maxInFlight). A retransmission that arrives meanwhile is dropped rather than handed over again:
     * the copy in flight reaches the server transaction, which absorbs retransmissions and sends the
     * 100 that stops the caller's Timer A (RFC 3261 §17.2.1, §17.1.1.2); a second hand-over only adds
     * a claim lookup and a hand-off to the owner, which under overload multiplies the load.
     */
    const pendingNew = new Set<string>()
    const metrics = yield* Metrics
    const m = makeEdgeMetrics(metrics)

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
            m.sendErrors.add({})
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
    observeEdgeState(metrics, {
      inFlight: () => inFlight,
      tcpConnections: transports.tcpConnections,
      owners: () => owners.size,
    })
    const countSent = (bytes: Uint8Array): void => countSentMessage(m, bytes)
    const timed = <A, E extends { readonly _tag: string }>(
      handover: HandOver,
      request: Effect.Effect<A, E>,
    ) => timedHandOver(m, handover, request)

    const replyTo = (inbound: Inbound, destination: { host: string; port: number }, bytes: Buffer): void => {
      counters.sent++
      countSent(bytes)
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

    const envelope = (inbound: Inbound, takeover = false, answerBy?: number) =>
      encodeSipEnvelopeHeaders({
        edge: config.instance,
        listener: inbound.listener,
        transport: inbound.transport,
        local: inbound.local,
        remote: `${inbound.remote.host.includes(":") ? `[${inbound.remote.host}]` : inbound.remote.host}:${inbound.remote.port}`,
        connection: inbound.connection,
        receivedAt: Date.now(),
        takeover,
        answerBy,
      })

    const unavailable = (inbound: Inbound, request: SipRequest, why: string, cause: OverloadCause) =>
      Effect.sync(() => {
        counters.unavailable++
        if (request.method === "ACK") return
        m.overload.add({ cause })
        replyTo(
          inbound,
          responseDestination(request.topVia),
          serviceUnavailable(request, why, config.retryAfterSeconds),
        )
      })

    /**
     * Hands a message to its owner; an owner that is gone (no responders) is replaced by the fallback.
     * The takeover queue's reply names the call's owner now: a copy of an initial request (a
     * retransmitted INVITE, its CANCEL) remembers it in place of the dead one, so the next copies go
     * straight to the survivor. An empty reply (no call found, or an older call control) forgets it.
     */
    const toOwner = (
      inbound: Inbound,
      message: SipMessage,
      bytes: Buffer,
      r: Extract<Route, { _tag: "Owner" }>,
    ) =>
      timed(
        "owner",
        bus.request(r.subject, bytes, { timeoutMs: config.callControlTimeoutMs, headers: envelope(inbound) }),
      ).pipe(
        Effect.catchTag("BusNoResponders", () =>
          timed(
            "takeover",
            bus.request(r.fallback, bytes, {
              timeoutMs: config.callControlTimeoutMs,
              headers: envelope(inbound, true),
            }),
          ).pipe(
            Effect.tap((reply) =>
              Effect.sync(() => {
                if (message.kind !== "request" || message.toTag !== undefined) return
                const key = initialRequestKey(message)
                const decoded = reply.data.length === 0 ? undefined : decodeNewRequestReply(reply.data)
                if (decoded !== undefined && typeof decoded !== "string" && "owner" in decoded)
                  owners.remember(key, decoded.owner, Date.now())
                else owners.forget(key)
              }),
            ),
          ),
        ),
        Effect.tap(() =>
          Effect.sync(() => {
            counters.forwarded++
          }),
        ),
      )

    const toNew = (
      inbound: Inbound,
      request: SipRequest,
      bytes: Buffer,
      subject: string,
      handover: HandOver,
    ) =>
      Effect.gen(function* () {
        const pendingKey = `${request.method} ${initialRequestKey(request)}`
        if (pendingNew.has(pendingKey)) {
          counters.dropped++
          m.dropped.add({})
          return yield* Effect.logDebug("retransmission dropped: the first copy is with call control")
        }
        if (inFlight >= config.maxInFlight)
          return yield* unavailable(inbound, request, "edge at its in-flight limit", "in_flight_limit")
        inFlight++
        // B2b-Answer-By: past it this edge answers 503, and call control must not start the call.
        pendingNew.add(pendingKey)
        const reply = yield* timed(
          handover,
          bus.request(subject, bytes, {
            timeoutMs: config.callControlTimeoutMs,
            headers: envelope(inbound, false, Date.now() + config.callControlTimeoutMs),
          }),
        ).pipe(
          Effect.ensuring(
            Effect.sync(() => {
              inFlight--
              pendingNew.delete(pendingKey)
            }),
          ),
        )
        const decoded = decodeNewRequestReply(reply.data)
        if (typeof decoded === "string") {
          yield* Effect.logWarning("bad reply from call control").pipe(
            Effect.annotateLogs({ reason: decoded }),
          )
          return yield* unavailable(inbound, request, "call control gave no usable answer", "bad_reply")
        }
        if ("refuse" in decoded) return yield* unavailable(inbound, request, decoded.refuse.reason, "refused")
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
          yield* Effect.annotateCurrentSpan("sip.error", parsed.error.code)
          if (isResponse) {
            counters.badResponses++
            m.badResponses.add({})
            return yield* Effect.logDebug("malformed response dropped").pipe(
              Effect.annotateLogs({ reason: parsed.error.reason }),
            )
          }
          counters.badRequests++
          m.badRequests.add({ reason: parsed.error.code })
          const answer = rejectUnparseable(inbound.bytes, parsed.error)
          if (answer !== undefined) replyTo(inbound, inbound.remote, answer)
          return yield* Effect.logInfo("malformed request refused").pipe(
            Effect.annotateLogs({ reason: parsed.error.reason, remote: inbound.remote.host }),
          )
        }
        const message = parsed.message
        const method = methodLabel(message.kind === "request" ? message.method : message.cseq.method)
        if (message.kind === "request") m.requestsIn.add({ method, transport: inbound.transport })
        else m.responsesIn.add({ method, status: statusLabel(message.status), transport: inbound.transport })
        yield* Effect.annotateCurrentSpan(
          message.kind === "request"
            ? { "sip.method": method, "sip.call_id": message.callId }
            : { "sip.method": method, "sip.call_id": message.callId, "sip.status": message.status },
        )
        if (message.kind === "request") {
          const stamped = stampReceived(message.topVia, inbound.remote.host, inbound.remote.port)
          if (stamped !== undefined) message.replaceTopVia(stamped)
        }
        const bytes = serializeMessage(message)
        const decision = route(message, (key) => owners.lookup(key, Date.now()))
        lastMessageAt = Date.now()
        if (
          draining &&
          decision._tag === "New" &&
          message.kind === "request" &&
          (message.method === "OPTIONS" || message.method === "INVITE")
        )
          return yield* unavailable(inbound, message, "draining", "draining")
        switch (decision._tag) {
          case "Drop":
            counters.dropped++
            m.dropped.add({})
            return
          case "Owner":
            return yield* toOwner(inbound, message, bytes, decision).pipe(
              Effect.catch((e) =>
                Effect.sync(() => {
                  counters.dropped++
                  m.dropped.add({})
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
            return yield* toNew(
              inbound,
              message,
              bytes,
              decision.subject,
              decision._tag === "New" ? "new" : "registrar",
            ).pipe(
              Effect.catch((e) =>
                unavailable(
                  inbound,
                  message,
                  e._tag === "BusNoResponders" ? why.replace("responding", "available") : why,
                  e._tag === "BusNoResponders"
                    ? "no_responders"
                    : e._tag === "BusTimeout"
                      ? "timeout"
                      : "bus_error",
                ),
              ),
            )
          }
        }
      }).pipe(
        Effect.withSpan(
          "sip.receive",
          {
            kind: "server",
            attributes: {
              "net.transport": inbound.transport,
              "net.peer.ip": inbound.remote.host,
              "net.peer.port": inbound.remote.port,
            },
          },
          // No stack trace per span: Effect builds an Error for it on every received message, a
          // measurable share of the edge's CPU per call (bench:cps); the span's name says where it is.
          { captureStackTrace: false },
        ),
      )

    const handleSend = (data: Uint8Array, header: (name: string) => string) =>
      Effect.gen(function* () {
        const meta = decodeSipEnvelopeMeta({ get: header })
        if (meta instanceof EnvelopeError) {
          counters.dropped++
          m.dropped.add({})
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
        countSent(data)
        transports.send(target, Buffer.from(data.buffer, data.byteOffset, data.byteLength))
      })

    yield* subscribeSends(bus, config.instance, handleSend)
    // The edge keeps no call state: it drains until its dialogs fall quiet (no message for 2 s), within
    // the runtime's grace period, answering new calls and pings 503 meanwhile.
    yield* registerDrain(
      Effect.gen(function* () {
        draining = true
        lastMessageAt = Date.now()
        yield* Effect.logInfo("draining: OPTIONS and new INVITEs get 503")
        while (Date.now() - lastMessageAt < 2000) yield* Effect.sleep(200)
      }),
    )
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
