/**
 * The auth service's KV state against a real nats-server, with two connections standing for two auth
 * instances: a (nonce, nc) pair is accepted by exactly one of them; concurrent binding updates of one
 * AOR both land (compare-and-set retries); the sweep removes what has expired; credentials hold HA1 only.
 */
import { type Bus, busLayer, openKv } from "@b2bua/bus"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect, Layer } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Binding } from "../src/Bindings.js"
import { bindingStore, credentialStore, nonceCounts } from "../src/Stores.js"

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

/** Runs `program` with its own connection (one "instance"). */
const asInstance = <A, E>(name: string, program: Effect.Effect<A, E, Bus>) =>
  Effect.runPromise(
    Effect.scoped(program.pipe(Effect.provide(Layer.fresh(busLayer({ servers: nats.url, name }))))),
  )

const binding = (uri: string, expiresAt: number, cseq: number): Binding => ({
  uri,
  params: "",
  q: 1,
  expiresAt,
  callId: "c",
  cseq,
  source: { host: "127.0.0.1", port: 5060, transport: "udp" },
})

describe("auth KV stores", () => {
  it("accepts a nonce count once across two instances, and only higher counts after it", async () => {
    const accept = (name: string, nc: number) =>
      asInstance(
        name,
        Effect.gen(function* () {
          const counts = nonceCounts(yield* openKv("auth-nc"))
          return yield* counts.accept("nonce-A", nc, Date.now())
        }),
      )
    const results = await Promise.all([accept("i1", 1), accept("i2", 1), accept("i1", 1), accept("i2", 1)])
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await accept("i2", 1)).toBe(false)
    expect(await accept("i1", 2)).toBe(true)
    expect(await accept("i2", 2)).toBe(false)
    expect(await accept("i2", 5)).toBe(true)
  })

  it("lands concurrent updates of one AOR from two instances and sweeps expired bindings", async () => {
    const now = Date.now()
    const add = (name: string, uri: string, expiresAt: number) =>
      asInstance(
        name,
        Effect.gen(function* () {
          const store = bindingStore(yield* openKv("registrations"))
          return yield* store.modify("sip:dave@example.com", (current) => ({
            write: [...current.filter((b) => b.uri !== uri), binding(uri, expiresAt, 1)],
            result: true,
          }))
        }),
      )
    await Promise.all([
      add("i1", "sip:dave@10.0.0.1", now + 60_000),
      add("i2", "sip:dave@10.0.0.2", now + 60_000),
      add("i1", "sip:dave@10.0.0.3", now - 1),
    ])
    const after = await asInstance(
      "i3",
      Effect.gen(function* () {
        const store = bindingStore(yield* openKv("registrations"))
        const before = (yield* store.read("sip:dave@example.com")).map((b) => b.uri).sort()
        const swept = yield* store.sweep(Date.now())
        const kept = (yield* store.read("sip:dave@example.com")).map((b) => b.uri).sort()
        return { before, swept, kept }
      }),
    )
    expect(after.before).toEqual(["sip:dave@10.0.0.1", "sip:dave@10.0.0.2", "sip:dave@10.0.0.3"])
    expect(after.swept).toBe(1)
    expect(after.kept).toEqual(["sip:dave@10.0.0.1", "sip:dave@10.0.0.2"])
  })

  it("seeds credentials as HA1 and finds them by realm and username", async () => {
    const found = await asInstance(
      "i1",
      Effect.gen(function* () {
        const store = credentialStore(yield* openKv("auth-credentials"))
        yield* store.seed([
          { username: "erin", realm: "r1", aor: "sip:erin@example.com", ha1: { MD5: "a".repeat(32) } },
        ])
        return [yield* store.find("r1", "erin"), yield* store.find("r2", "erin")]
      }),
    )
    expect(found[0]).toEqual({
      username: "erin",
      realm: "r1",
      aor: "sip:erin@example.com",
      ha1: { MD5: "a".repeat(32) },
    })
    expect(found[1]).toBeUndefined()
  })
})
