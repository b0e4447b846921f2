/** The bus against a real nats-server (started by the test kit on a free loopback port). */
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect, Exit, Layer, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Bus, type BusMessage, busLayer, openKv } from "../src/index.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

const run = <A, E>(program: Effect.Effect<A, E, Bus | Scope.Scope>): Promise<A> =>
  Effect.runPromise(
    Effect.scoped(program.pipe(Effect.provide(busLayer({ servers: nats.url, name: "test" })))),
  )

const bytes = (s: string) => new TextEncoder().encode(s)
const text = (b: Uint8Array) => new TextDecoder().decode(b)

describe("Bus over a real nats-server", () => {
  it("request/reply carries payload and headers both ways", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* Bus
        yield* bus.subscribe("svc.echo", (m: BusMessage) =>
          m.respond(bytes(`echo ${text(m.data)}`), { "B2b-Seen": m.header("B2b-Edge") }).pipe(Effect.orDie),
        )
        const reply = yield* bus.request("svc.echo", bytes("hello"), {
          timeoutMs: 2000,
          headers: { "B2b-Edge": "edge1" },
        })
        expect(text(reply.data)).toBe("echo hello")
        expect(reply.header("B2b-Seen")).toBe("edge1")
      }),
    ))

  it("tells no responders apart from a timeout", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* Bus
        const none = yield* Effect.flip(bus.request("svc.nobody", bytes("x"), { timeoutMs: 2000 }))
        expect(none._tag).toBe("BusNoResponders")
        yield* bus.subscribe("svc.silent", () => Effect.void)
        const slow = yield* Effect.flip(bus.request("svc.silent", bytes("x"), { timeoutMs: 300 }))
        expect(slow._tag).toBe("BusTimeout")
      }),
    ))

  it("spreads a queue group's messages over its members, each message to one member", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* Bus
        const seen: Record<string, string[]> = { a: [], b: [] }
        for (const member of ["a", "b"] as const) {
          yield* bus.subscribe("svc.work", (m) => m.respond(bytes(member)).pipe(Effect.orDie), {
            queue: "workers",
          })
        }
        for (let i = 0; i < 40; i++) {
          const reply = yield* bus.request("svc.work", bytes(String(i)), { timeoutMs: 2000 })
          seen[text(reply.data)]!.push(String(i))
        }
        expect(seen.a!.length + seen.b!.length).toBe(40)
        expect(seen.a!.length).toBeGreaterThan(0)
        expect(seen.b!.length).toBeGreaterThan(0)
      }),
    ))

  it("KV: create-only claims and compare-and-set updates detect the other writer", () =>
    run(
      Effect.gen(function* () {
        const kv = yield* openKv("test-claims")
        const rev = yield* kv.create("call-1", bytes("owner=a"))
        const lost = yield* Effect.flip(kv.create("call-1", bytes("owner=b")))
        expect(lost._tag).toBe("KvConflict")
        const rev2 = yield* kv.update("call-1", bytes("owner=b"), rev)
        const stale = yield* Effect.flip(kv.update("call-1", bytes("owner=c"), rev))
        expect(stale._tag).toBe("KvConflict")
        const entry = yield* kv.get("call-1")
        expect(entry && text(entry.value)).toBe("owner=b")
        expect(entry?.revision).toBe(rev2)
        yield* kv.remove("call-1")
        expect(yield* kv.get("call-1")).toBeUndefined()
        yield* kv.create("call-1", bytes("owner=d"))
      }),
    ))

  it("reconnects by itself after nats-server restarts, and JetStream state survives", () =>
    run(
      Effect.gen(function* () {
        const bus = yield* Bus
        const kv = yield* openKv("test-durable")
        yield* kv.put("k", bytes("v1"))
        yield* bus.subscribe("svc.after", (m) => m.respond(bytes("still here")).pipe(Effect.orDie))
        yield* Effect.promise(() => nats.restart())
        // The client reconnects on its own; retry the request until the subscription is back.
        const reply = yield* bus
          .request("svc.after", bytes("?"), { timeoutMs: 500 })
          .pipe(Effect.retry({ times: 40 }))
        expect(text(reply.data)).toBe("still here")
        const entry = yield* kv.get("k")
        expect(entry && text(entry.value)).toBe("v1")
      }),
    ))

  it("fails to start with a BusError when no server is there, rather than hanging", async () => {
    const exit = await Effect.runPromiseExit(
      Effect.scoped(
        Layer.build(busLayer({ servers: "nats://127.0.0.1:1", name: "nobody", connectTimeoutMs: 1000 })),
      ),
    )
    expect(Exit.isFailure(exit)).toBe(true)
  })
})
