/**
 * JetStream streams as Effect values: create a stream when absent (whoever starts first), and publish
 * durably — the server acknowledges that the message is stored, and a message id makes a re-publication
 * (a retry, or a second instance after a failover) a duplicate the stream drops within its window.
 */
import { jetstream, jetstreamManager, StorageType } from "@nats-io/jetstream"
import { Effect } from "effect"
import { Bus } from "./Bus.js"
import { BusError } from "./BusErrors.js"

export interface StreamDefinition {
  readonly name: string
  readonly subjects: ReadonlyArray<string>
  readonly maxAgeMs: number
  readonly maxBytes: number
  readonly duplicateWindowMs?: number | undefined
}

const NANOS_PER_MS = 1_000_000

const isNotFound = (e: unknown): boolean => e instanceof Error && /not found/i.test(e.message)

/** Creates the stream unless it exists (its settings are then left as they are). */
export const ensureStream = (definition: StreamDefinition): Effect.Effect<void, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    yield* Effect.tryPromise({
      try: async () => {
        const manager = await jetstreamManager(bus.connection)
        try {
          await manager.streams.info(definition.name)
        } catch (e) {
          if (!isNotFound(e)) throw e
          await manager.streams.add({
            name: definition.name,
            subjects: [...definition.subjects],
            storage: StorageType.File,
            num_replicas: bus.jetStreamReplicas,
            max_age: definition.maxAgeMs * NANOS_PER_MS,
            max_bytes: definition.maxBytes,
            ...(definition.duplicateWindowMs === undefined
              ? {}
              : { duplicate_window: definition.duplicateWindowMs * NANOS_PER_MS }),
          })
        }
      },
      catch: (cause) => new BusError({ operation: `stream ${definition.name}`, cause }),
    })
  })

/** Publishes to a stream's subject and waits for the stream's acknowledgement; true when it was a duplicate. */
export const publishDurable = (
  subject: string,
  data: Uint8Array,
  options: { readonly msgId?: string; readonly timeoutMs?: number } = {},
): Effect.Effect<boolean, BusError, Bus> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const ack = yield* Effect.tryPromise({
      try: () =>
        jetstream(bus.connection).publish(subject, data, {
          ...(options.msgId === undefined ? {} : { msgID: options.msgId }),
          timeout: options.timeoutMs ?? 2000,
        }),
      catch: (cause) => new BusError({ operation: `publish ${subject}`, cause }),
    })
    return ack.duplicate
  })
