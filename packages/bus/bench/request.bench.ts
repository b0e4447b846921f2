/**
 * CPU per bus operation: `npx tsx packages/bus/bench/request.bench.ts` (after a build). A real
 * nats-server (testkit) on loopback; one process is both requester and responder, so the figure is
 * the client side of a request plus the server side of its reply, in this process's CPU time
 * (process.cpuUsage), which another process's load on the machine does not inflate much. 64 requests
 * in flight; 2,000 warm-up round trips, then 20,000 measured; the same for publishes.
 * Not a test: prints figures only. bench:cps (services/call-control/bench) is the whole-suite figure.
 */
import { freeTcpPort, startNatsServer } from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Bus, busLayer } from "../src/index.js"

const WARMUP = 2000
const MEASURED = 20_000
const IN_FLIGHT = 64

const main = async () => {
  const nats = await startNatsServer({ port: await freeTcpPort() })
  const scope = Effect.runSync(Scope.make())
  try {
    const context = await Effect.runPromise(
      Layer.buildWithScope(busLayer({ servers: nats.url, name: "bus-bench" }), scope),
    )
    const bus = Context.get(context, Bus)
    const payload = new Uint8Array(600).fill(65)
    await Effect.runPromise(
      Scope.provide(scope)(
        bus.subscribe("bench.echo", (m) => m.respond(m.data, { x: "1" }).pipe(Effect.orDie), {
          concurrency: 64,
        }),
      ),
    )
    await Effect.runPromise(Scope.provide(scope)(bus.subscribe("bench.sink", () => Effect.void)))
    await bus.connection.flush()
    const headers = { "sip-edge": "e1", "sip-transport": "udp", "sip-remote": "127.0.0.1:5060" }
    const request = Effect.runPromiseWith(context)
    const rounds = async (n: number, op: () => Promise<unknown>) => {
      let next = 0
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next++ < n) await op()
        }),
      )
    }
    const measure = async (name: string, op: () => Promise<unknown>) => {
      await rounds(WARMUP, op)
      const cpu = process.cpuUsage()
      const t0 = performance.now()
      await rounds(MEASURED, op)
      const used = process.cpuUsage(cpu)
      const wall = performance.now() - t0
      const usPer = (used.user + used.system) / MEASURED
      console.log(
        `${name.padEnd(28)} ${usPer.toFixed(1).padStart(6)} us CPU each (user ${(used.user / MEASURED).toFixed(1)}, system ${(used.system / MEASURED).toFixed(1)}), ${((MEASURED / wall) * 1000).toFixed(0)}/s`,
      )
    }
    await measure("request + reply", () =>
      request(bus.request("bench.echo", payload, { timeoutMs: 5000, headers })),
    )
    await measure("publish", async () => {
      await request(bus.publish("bench.sink", payload, headers))
      // let the flush happen as it would between a service's messages
      await new Promise((r) => setImmediate(r))
    })
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await nats.stop()
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
