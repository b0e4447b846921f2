/**
 * NATS as an Effect service. The live layer connects (reconnecting forever: a restarted nats-server is
 * rejoined without the service doing anything), and drains the connection when its scope closes.
 * Messages carry headers as plain records; the SIP envelope's live in them (see @b2bua/contracts).
 *
 * Tracing: publish and request run in a span (`nats.publish`, producer; `nats.request`, client) whose W3C
 * trace context goes out in the `traceparent`/`tracestate` headers; each received message is handled in a
 * `nats.process` span (consumer) whose parent is the sender's span, so one trace follows a message across
 * services. Replies carry the handler's context too.
 *
 * Metrics: every request's round trip goes to `nats_request_duration_seconds`, labelled by the subject's
 * pattern (`subjectPattern`: instance and relay ids become `*`, so the label set stays bounded) and the
 * outcome (`ok`, `no_responders`, `timeout`, `error`); every received message's handling goes to
 * `nats_handler_duration_seconds` by subject pattern (what a service served, and how long it took).
 */

import { type Histogram, LATENCY_BUCKETS_S, Metrics, type MetricsShape } from "@b2bua/telemetry"
import {
  connect,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  headers as natsHeaders,
  RequestError,
  TimeoutError,
} from "@nats-io/transport-node"
import { Context, Effect, Exit, Layer, Schedule, type Scope } from "effect"
import { BusConfigError, BusError, BusNoResponders, BusTimeout } from "./BusErrors.js"
import { remoteParent, withTraceHeaders } from "./TraceContext.js"

export type Headers = Readonly<Record<string, string>>

/** A received message: its subject, payload, headers, and a way to reply when it was a request. */
export interface BusMessage {
  readonly subject: string
  readonly data: Uint8Array
  readonly header: (name: string) => string
  readonly respond: (data: Uint8Array, headers?: Headers) => Effect.Effect<void, BusError>
}

export interface SubscribeOptions {
  /** Queue group: each message goes to one member (NATS load balancing). */
  readonly queue?: string
  /**
   * Most handlers running at once; beyond it messages wait in the subscription's buffer, which NATS
   * bounds (a slow consumer is cut off by the server rather than growing without limit).
   */
  readonly concurrency?: number
  /**
   * Handle each message in a `nats.process` span continuing the sender's trace (default true). Off for
   * subjects whose messages are not worth a span each (periodic announcements).
   */
  readonly trace?: boolean
}

export interface BusShape {
  readonly connection: NatsConnection
  /** Copies of each KV bucket and stream this service creates (BusOptions). */
  readonly jetStreamReplicas: number
  readonly publish: (subject: string, data: Uint8Array, headers?: Headers) => Effect.Effect<void, BusError>
  readonly request: (
    subject: string,
    data: Uint8Array,
    options: { readonly timeoutMs: number; readonly headers?: Headers },
  ) => Effect.Effect<BusMessage, BusNoResponders | BusTimeout | BusError>
  /** Runs `handler` for each message until the scope closes (then the subscription is drained). */
  readonly subscribe: (
    subject: string,
    handler: (message: BusMessage) => Effect.Effect<void>,
    options?: SubscribeOptions,
  ) => Effect.Effect<void, BusError, Scope.Scope>
}

export class Bus extends Context.Service<Bus, BusShape>()("@b2bua/bus/Bus") {}

export interface BusOptions {
  readonly servers: string | ReadonlyArray<string>
  readonly name: string
  /**
   * How long start-up waits for a first connection (default 10 s). Past it the layer fails, and the
   * process exits for its supervisor to restart it; once connected, reconnection never gives up.
   */
  readonly connectTimeoutMs?: number
  /**
   * Copies JetStream keeps of each KV bucket and stream the service creates when absent (default 1: a
   * single server; 3 on a three-server cluster, which then survives the loss of one). Existing buckets and
   * streams keep theirs.
   */
  readonly jetStreamReplicas?: number
}

/**
 * `B2BUA_JETSTREAM_REPLICAS` as every service reads it in its Config.ts: 1, 3 or 5 (RAFT wants an odd
 * count), 1 when unset. A bad value throws a BusConfigError naming the variable.
 */
export const jetStreamReplicasFrom = (env: Readonly<Record<string, string | undefined>>): number => {
  const text = env.B2BUA_JETSTREAM_REPLICAS
  if (text === undefined || text === "") return 1
  if (text !== "1" && text !== "3" && text !== "5")
    throw new BusConfigError({ key: "B2BUA_JETSTREAM_REPLICAS", reason: `expected 1, 3 or 5, got "${text}"` })
  return Number(text)
}

const toNatsHeaders = (h: Headers | undefined): MsgHdrs | undefined => {
  if (h === undefined) return undefined
  const out = natsHeaders()
  for (const [k, v] of Object.entries(h)) out.set(k, v)
  return out
}

const wrap = (msg: Msg): BusMessage => ({
  subject: msg.subject,
  data: msg.data,
  header: (name) => msg.headers?.get(name) ?? "",
  respond: (data, headers) =>
    Effect.flatMap(withTraceHeaders(headers), (traced) =>
      Effect.try({
        try: () => {
          const h = toNatsHeaders(traced)
          msg.respond(data, h === undefined ? undefined : { headers: h })
        },
        catch: (cause) => new BusError({ operation: "respond", cause }),
      }),
    ),
})

/** OpenTelemetry messaging attributes (semantic conventions, messaging spans). */
const spanAttributes = (subject: string, queue?: string): Record<string, string> =>
  queue === undefined
    ? { "messaging.system": "nats", "messaging.destination.name": subject }
    : {
        "messaging.system": "nats",
        "messaging.destination.name": subject,
        "messaging.consumer.group.name": queue,
      }

/**
 * The bus's spans capture no stack trace: by default Effect builds an Error per span to record where
 * it was opened, which for a span per message is a measurable share of a call's CPU (bench:cps), and
 * the span's name and subject already say where.
 */
const NO_STACK = { captureStackTrace: false } as const

/** Runs a received message's handler in a consumer span continuing the sender's trace. */
const traced = (
  handler: (message: BusMessage) => Effect.Effect<void>,
  msg: Msg,
  queue: string | undefined,
): Effect.Effect<void> => {
  const message = wrap(msg)
  const parent = remoteParent(message.header)
  return handler(message).pipe(
    Effect.withSpan(
      "nats.process",
      parent === undefined
        ? { kind: "consumer", root: true, attributes: spanAttributes(msg.subject, queue) }
        : { kind: "consumer", parent, attributes: spanAttributes(msg.subject, queue) },
      NO_STACK,
    ),
  )
}

/** The words of the suite's subjects (contracts); any other token is an id and reads `*` in a label. */
const SUBJECT_WORDS = new Set([
  "b2b",
  "v1",
  "cc",
  "new",
  "inst",
  "takeover",
  "trunk-load",
  "control",
  "edge",
  "send",
  "auth",
  "register",
  "identify",
  "locate",
  "outbound",
  "state",
  "blocks",
  "sdp",
  "negotiate",
  "relay",
  "session",
  "create",
  "update",
  "delete",
  "renew",
  "announce",
  "events",
  "calls",
  "cdr",
  "$JS",
  "API",
  "$KV",
])
/** Tokens kept in a pattern: the suite's subjects have at most seven; longer ones are cut (bounded labels). */
const PATTERN_TOKENS = 8

/** A subject as a metric label: `b2b.v1.relay.r1.session.create` → `b2b.v1.relay.*.session.create`. */
export const subjectPattern = (subject: string): string => {
  const tokens = subject.split(".", PATTERN_TOKENS + 1)
  const out = tokens.slice(0, PATTERN_TOKENS).map((t) => (SUBJECT_WORDS.has(t) ? t : "*"))
  if (tokens.length > PATTERN_TOKENS) out.push(">")
  return out.join(".")
}

type RequestOutcome = "ok" | "no_responders" | "timeout" | "error"

/** One histogram per metrics instance (a service has one; tests may build several). */
const requestHistograms = new WeakMap<MetricsShape, Histogram<"subject" | "outcome">>()
const requestHistogram = (metrics: MetricsShape): Histogram<"subject" | "outcome"> => {
  const known = requestHistograms.get(metrics)
  if (known !== undefined) return known
  const made = metrics.histogram("nats_request_duration_seconds", {
    description: "NATS request/reply round trips made by this service, by subject pattern and outcome",
    unit: "s",
    labels: ["subject", "outcome"],
    boundaries: LATENCY_BUCKETS_S,
  })
  requestHistograms.set(metrics, made)
  return made
}

const handlerHistograms = new WeakMap<MetricsShape, Histogram<"subject">>()
const handlerHistogram = (metrics: MetricsShape): Histogram<"subject"> => {
  const known = handlerHistograms.get(metrics)
  if (known !== undefined) return known
  const made = metrics.histogram("nats_handler_duration_seconds", {
    description: "NATS messages this service handled, by subject pattern: count and handling time",
    unit: "s",
    labels: ["subject"],
    boundaries: LATENCY_BUCKETS_S,
  })
  handlerHistograms.set(metrics, made)
  return made
}

/** Times a message's handling into the service's histogram. */
const timedHandler = (subject: string, handling: Effect.Effect<void>): Effect.Effect<void> =>
  Effect.flatMap(Effect.service(Metrics), (metrics) => {
    const started = performance.now()
    return Effect.ensuring(
      handling,
      Effect.sync(() =>
        handlerHistogram(metrics).record(
          { subject: subjectPattern(subject) },
          (performance.now() - started) / 1000,
        ),
      ),
    )
  })

const outcomeOf = (exit: Exit.Exit<unknown, BusNoResponders | BusTimeout | BusError>): RequestOutcome => {
  if (Exit.isSuccess(exit)) return "ok"
  for (const reason of exit.cause.reasons) {
    if (reason._tag !== "Fail") continue
    if (reason.error._tag === "BusNoResponders") return "no_responders"
    if (reason.error._tag === "BusTimeout") return "timeout"
  }
  return "error"
}

/** Times a request into the service's histogram (a no-op meter where no telemetry layer is provided). */
const timed = <A>(
  subject: string,
  request: Effect.Effect<A, BusNoResponders | BusTimeout | BusError>,
): Effect.Effect<A, BusNoResponders | BusTimeout | BusError> =>
  Effect.flatMap(Effect.service(Metrics), (metrics) => {
    const started = performance.now()
    return Effect.onExit(request, (exit) =>
      Effect.sync(() =>
        requestHistogram(metrics).record(
          { subject: subjectPattern(subject), outcome: outcomeOf(exit) },
          (performance.now() - started) / 1000,
        ),
      ),
    )
  })

export const makeBus = (connection: NatsConnection, jetStreamReplicas = 1): BusShape => ({
  jetStreamReplicas,
  connection,
  publish: (subject, data, headers) =>
    Effect.flatMap(withTraceHeaders(headers), (traced) =>
      Effect.try({
        try: () => {
          const h = toNatsHeaders(traced)
          connection.publish(subject, data, h === undefined ? undefined : { headers: h })
        },
        catch: (cause) => new BusError({ operation: `publish ${subject}`, cause }),
      }),
    ).pipe(
      Effect.withSpan("nats.publish", { kind: "producer", attributes: spanAttributes(subject) }, NO_STACK),
    ),
  request: (subject, data, options) =>
    timed(
      subject,
      Effect.flatMap(withTraceHeaders(options.headers), (traced) =>
        Effect.tryPromise({
          try: () => {
            const h = toNatsHeaders(traced)
            return connection.request(
              subject,
              data,
              h === undefined ? { timeout: options.timeoutMs } : { timeout: options.timeoutMs, headers: h },
            )
          },
          catch: (cause) => {
            if (cause instanceof RequestError && cause.isNoResponders())
              return new BusNoResponders({ subject })
            if (
              cause instanceof TimeoutError ||
              (cause instanceof RequestError && cause.cause instanceof TimeoutError)
            ) {
              return new BusTimeout({ subject, timeoutMs: options.timeoutMs })
            }
            return new BusError({ operation: `request ${subject}`, cause })
          },
        }),
      ).pipe(Effect.map(wrap)),
    ).pipe(
      Effect.withSpan("nats.request", { kind: "client", attributes: spanAttributes(subject) }, NO_STACK),
    ),
  subscribe: (subject, handler, options = {}) =>
    Effect.gen(function* () {
      const sub = yield* Effect.acquireRelease(
        Effect.try({
          try: () =>
            options.queue === undefined
              ? connection.subscribe(subject)
              : connection.subscribe(subject, { queue: options.queue }),
          catch: (cause) => new BusError({ operation: `subscribe ${subject}`, cause }),
        }),
        (s) => Effect.promise(() => s.drain().catch(() => undefined)),
      )
      // Handlers run with the subscriber's services (logger, tracer, ...).
      const run = Effect.runPromiseWith(yield* Effect.context<never>())
      const handle =
        options.trace === false
          ? (msg: Msg) => timedHandler(msg.subject, handler(wrap(msg)))
          : (msg: Msg) => timedHandler(msg.subject, traced(handler, msg, options.queue))
      const iterate = Effect.promise(async () => {
        for await (const msg of sub) await run(handle(msg))
      })
      if ((options.concurrency ?? 1) <= 1) {
        yield* Effect.forkScoped(iterate)
        return
      }
      // Concurrent handlers: a bounded number in flight at once.
      const limit = options.concurrency ?? 1
      const concurrent = Effect.promise(async () => {
        const inFlight = new Set<Promise<void>>()
        for await (const msg of sub) {
          const p = run(handle(msg)).finally(() => inFlight.delete(p))
          inFlight.add(p)
          if (inFlight.size >= limit) await Promise.race(inFlight)
        }
      })
      yield* Effect.forkScoped(concurrent)
    }),
})

/** Connects for the life of the layer; reconnects forever; drains on release. */
export const busLayer = (options: BusOptions): Layer.Layer<Bus, BusError> => {
  const attempts = Math.max(1, Math.ceil((options.connectTimeoutMs ?? 10_000) / CONNECT_RETRY_MS))
  const connectOnce = Effect.tryPromise({
    try: () =>
      connect({
        servers: typeof options.servers === "string" ? options.servers : [...options.servers],
        name: options.name,
        maxReconnectAttempts: -1,
        reconnectTimeWait: CONNECT_RETRY_MS,
        // Without it every request builds a RequestError and a TimeoutError up front (two stack
        // traces) only to give a timeout a richer trace: measurable per call (bench:cps). The errors
        // still come, created when they happen; BusTimeout/BusNoResponders name the subject anyway.
        noAsyncTraces: true,
      }),
    catch: (cause) => new BusError({ operation: "connect", cause }),
  })
  return Layer.effect(
    Bus,
    Effect.acquireRelease(
      connectOnce.pipe(Effect.retry({ schedule: Schedule.spaced(CONNECT_RETRY_MS), times: attempts - 1 })),
      (nc) => Effect.promise(() => nc.drain().catch(() => undefined)),
    ).pipe(Effect.map((nc) => makeBus(nc, options.jetStreamReplicas ?? 1))),
  )
}

const CONNECT_RETRY_MS = 250
