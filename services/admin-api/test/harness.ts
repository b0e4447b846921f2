/** An admin API served in-process on 127.0.0.1 (a free port) over a real nats-server, and clients for it. */
import { Bus, busLayer } from "@b2bua/bus"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { type Client, credentials } from "@grpc/grpc-js"
import { jetstream } from "@nats-io/jetstream"
import { Effect, Exit, Layer, Scope } from "effect"
import { runAdminApi } from "../src/index.js"

export const TOKEN = "test-token-0123456789"

export interface Harness {
  readonly nats: NatsServerHandle
  readonly address: string
  readonly client: <C extends Client>(
    ctor: new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => C,
  ) => C
  readonly stop: () => Promise<void>
}

export const startHarness = async (): Promise<Harness> => {
  const nats = await startNatsServer()
  const scope = Effect.runSync(Scope.make())
  // The bus lives in the harness's scope (Effect.provide would drain it as soon as start-up returns).
  const running = await Effect.runPromise(
    Effect.gen(function* () {
      const bus = yield* Layer.buildWithScope(busLayer({ servers: nats.url, name: "admin-api-test" }), scope)
      return yield* runAdminApi({
        host: "127.0.0.1",
        port: 0,
        token: TOKEN,
        tls: undefined,
        shutdownGraceMs: 2000,
      }).pipe(Effect.provideContext(bus), Scope.provide(scope))
    }),
  )
  const address = `127.0.0.1:${running.port}`
  const clients: Array<Client> = []
  return {
    nats,
    address,
    client: (ctor) => {
      const c = new ctor(address, credentials.createInsecure())
      clients.push(c)
      return c
    },
    stop: async () => {
      for (const c of clients) c.close()
      await Effect.runPromise(Scope.close(scope, Exit.void))
      await nats.stop()
    },
  }
}

/** Runs an effect with its own bus connection to the harness's nats-server. */
export const withBus = <A, E>(h: Harness, effect: Effect.Effect<A, E, Bus>): Promise<A> =>
  Effect.runPromise(
    effect.pipe(Effect.provide(busLayer({ servers: h.nats.url, name: "admin-api-test-peer" }))),
  )

/** Publishes to a JetStream stream (the subject decides which) and returns the stream sequence. */
export const jsPublish = (h: Harness, subject: string, data: Uint8Array, msgId?: string): Promise<number> =>
  withBus(
    h,
    Effect.gen(function* () {
      const bus = yield* Bus
      const ack = yield* Effect.promise(() =>
        jetstream(bus.connection).publish(subject, data, msgId === undefined ? {} : { msgID: msgId }),
      )
      return ack.seq
    }),
  )
