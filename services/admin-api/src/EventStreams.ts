/**
 * JetStream streams as the admin API reads them (CALL_EVENTS, CDRS): created when absent, the last
 * message of a subject, the retained range, a bounded scan from a position, and an endless follow from a
 * position (an ordered consumer: in order, none missing, recreated by the client after a reconnect from
 * the last sequence it saw). Messages are handed over one at a time, so a slow reader holds at most the
 * consumer's small buffer, never an unbounded queue.
 */
import { Bus, ensureStream, type StreamDefinition } from "@b2bua/bus"
import { DeliverPolicy, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream"
import { Effect } from "effect"
import { Unavailable } from "./AdminErrors.js"

export type { StreamDefinition } from "@b2bua/bus"

export interface StreamMessage {
  readonly seq: number
  readonly subject: string
  readonly data: Uint8Array
  /** When the stream stored it (ms since the epoch). */
  readonly storedAt: number
}

export interface StreamBounds {
  /** First retained sequence (last + 1 when empty) and last sequence (0 when nothing was ever stored). */
  readonly first: number
  readonly last: number
}

export interface StreamStart {
  /** From this sequence on, or from the first message stored at or after this time. */
  readonly seq?: number | undefined
  readonly time?: number | undefined
}

export interface EventStreams {
  readonly ensure: (definition: StreamDefinition) => Effect.Effect<void, Unavailable>
  readonly bounds: (stream: string) => Effect.Effect<StreamBounds, Unavailable>
  readonly lastOf: (stream: string, subject: string) => Effect.Effect<StreamMessage | undefined, Unavailable>
  /** Up to `limit` messages from `start`, stopping at the current end of the stream. */
  readonly scan: (
    stream: string,
    start: StreamStart,
    limit: number,
    filter?: string,
  ) => Effect.Effect<ReadonlyArray<StreamMessage>, Unavailable>
  /** Every message from `start` (absent: only new ones), as they arrive, until interrupted. */
  readonly follow: (
    stream: string,
    start: StreamStart | undefined,
    filter: string | undefined,
    onMessage: (message: StreamMessage) => Effect.Effect<void>,
  ) => Effect.Effect<never, Unavailable>
}

const NANOS_PER_MS = 1_000_000

const unavailable = (operation: string) => (cause: unknown) =>
  new Unavailable({ reason: `${operation}: ${cause instanceof Error ? cause.message : String(cause)}` })

const isNotFound = (cause: unknown): boolean =>
  cause instanceof Error && /not found|no message found/i.test(cause.message)

const toMessage = (m: JsMsg): StreamMessage => ({
  seq: m.seq,
  subject: m.subject,
  data: m.data,
  storedAt: Math.floor(m.info.timestampNanos / NANOS_PER_MS),
})

/** A consumer buffer this small bounds memory per watcher; JetStream keeps the rest. */
const CONSUMER_BUFFER = 64

export const makeEventStreams: Effect.Effect<EventStreams, never, Bus> = Effect.gen(function* () {
  const bus = yield* Bus
  const js = jetstream(bus.connection)
  const jsmPromise = jetstreamManager(bus.connection)
  const jsm = Effect.tryPromise({ try: () => jsmPromise, catch: unavailable("jetstream") })

  const bounds = (stream: string) =>
    jsm.pipe(
      Effect.flatMap((m) =>
        Effect.tryPromise({ try: () => m.streams.info(stream), catch: unavailable(`stream ${stream}`) }),
      ),
      Effect.map((info) => ({ first: info.state.first_seq, last: info.state.last_seq })),
    )

  const consumerOptions = (start: StreamStart | undefined, filter: string | undefined) => ({
    ...(filter === undefined ? {} : { filter_subjects: filter }),
    ...(start?.seq !== undefined
      ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.seq }
      : start?.time !== undefined
        ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(start.time).toISOString() }
        : start === undefined
          ? { deliver_policy: DeliverPolicy.New }
          : { deliver_policy: DeliverPolicy.All }),
  })

  /** An ordered consumer's messages, released (consumer deleted) with the scope. */
  const open = (stream: string, start: StreamStart | undefined, filter: string | undefined) =>
    Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const consumer = await js.consumers.get(stream, consumerOptions(start, filter))
          // What the consumer had to deliver when created (0: nothing matches from `start` as of now).
          const pendingAtStart = (await consumer.info(true)).num_pending
          const messages = await consumer.consume({ max_messages: CONSUMER_BUFFER })
          return { messages, pendingAtStart, iterator: messages[Symbol.asyncIterator]() }
        },
        catch: unavailable(`consume ${stream}`),
      }),
      ({ messages }) => Effect.sync(() => messages.stop()),
    )

  const next = (iterator: AsyncIterator<JsMsg>, stream: string) =>
    Effect.tryPromise({ try: () => iterator.next(), catch: unavailable(`read ${stream}`) }).pipe(
      Effect.flatMap((r) =>
        r.done === true
          ? Effect.fail(new Unavailable({ reason: `stream ${stream}: consumer closed` }))
          : Effect.succeed(r.value),
      ),
    )

  return {
    // Creation is the bus's (shared with call control, which creates the same streams when first up).
    ensure: (definition) =>
      ensureStream(definition).pipe(
        Effect.provideService(Bus, bus),
        Effect.mapError((e) => unavailable(`stream ${definition.name}`)(e.cause)),
      ),
    bounds,
    lastOf: (stream, subject) =>
      jsm.pipe(
        Effect.flatMap((m) =>
          Effect.tryPromise({
            try: async () => {
              try {
                return await m.streams.getMessage(stream, { last_by_subj: subject })
              } catch (e) {
                if (isNotFound(e)) return null
                throw e
              }
            },
            catch: unavailable(`stream ${stream} last ${subject}`),
          }),
        ),
        Effect.map((stored) =>
          stored === null
            ? undefined
            : {
                seq: stored.seq,
                subject: stored.subject,
                data: stored.data,
                storedAt: stored.time.getTime(),
              },
        ),
      ),
    scan: (stream, start, limit, filter) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { last } = yield* bounds(stream)
          if (last === 0 || (start.seq !== undefined && start.seq > last) || limit <= 0) return []
          const { iterator, pendingAtStart } = yield* open(stream, start, filter)
          if (pendingAtStart === 0) return []
          const out: Array<StreamMessage> = []
          while (out.length < limit) {
            const m = yield* next(iterator, stream)
            out.push(toMessage(m))
            // `pending` counts what the consumer has not delivered yet: 0 means the end as of now.
            if (m.info.pending === 0) break
          }
          return out
        }),
      ),
    follow: (stream, start, filter, onMessage) =>
      Effect.scoped(
        Effect.gen(function* () {
          const { iterator } = yield* open(stream, start, filter)
          while (true) yield* onMessage(toMessage(yield* next(iterator, stream)))
        }),
      ),
  }
})
