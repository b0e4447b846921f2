/**
 * Graceful drain of the relay process (SIGTERM): it stops announcing itself and refuses nothing it holds —
 * a session created before keeps its place until it is deleted, then the process exits 0.
 */
import { once } from "node:events"
import { fileURLToPath } from "node:url"
import { encodeRelayPayload, type InstanceId, relaySubjects } from "@b2bua/contracts"
import { type NatsServerHandle, startNatsServer, startService } from "@b2bua/testkit"
import { connect, type NatsConnection } from "@nats-io/transport-node"
import { afterAll, beforeAll, expect, it } from "vitest"

const relayMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))
let nats: NatsServerHandle
let nc: NatsConnection
beforeAll(async () => {
  nats = await startNatsServer()
  nc = await connect({ servers: nats.url })
})
afterAll(async () => {
  await nc?.close()
  await nats?.stop()
})

it("SIGTERM: no more announcements, the session in progress is kept until deleted, then exit 0", async () => {
  const base = 41_000 + 2 * Math.floor(Math.random() * 1000)
  const relay = await startService({
    main: relayMain,
    env: {
      NATS_URL: nats.url,
      B2BUA_RELAY_ID: "relaydrain",
      B2BUA_RELAY_ADDRESS: "127.0.0.1",
      B2BUA_RTP_PORTS: `${base}-${base + 15}`,
      B2BUA_RELAY_ANNOUNCE_MS: "200",
      B2BUA_DRAIN_MS: "20000",
    },
    readyText: "rtp relay ready",
  })
  const id = "relaydrain" as InstanceId
  const created = await nc.request(
    relaySubjects.create(id),
    encodeRelayPayload({
      v: 1,
      sessionId: "drain-1",
      owner: "cc1" as InstanceId,
      leaseMs: 60_000,
      legs: { a: {}, b: {} },
    }),
    { timeout: 5000 },
  )
  expect(new TextDecoder().decode(created.data)).toContain('"ok"')
  const exited = once(relay.child, "exit")
  relay.child.kill("SIGTERM")
  while (!relay.logs().includes("draining: no new sessions")) await new Promise((r) => setTimeout(r, 50))
  // Draining: no announcement arrives any more (announce period 200 ms; wait 1 s).
  const announces = nc.subscribe(relaySubjects.announce())
  let heard = 0
  const timer = setTimeout(() => announces.unsubscribe(), 1000)
  for await (const _ of announces) heard++
  clearTimeout(timer)
  expect(heard).toBe(0)
  expect(relay.child.exitCode).toBeNull()
  await nc.request(relaySubjects.delete(id), encodeRelayPayload({ v: 1, sessionId: "drain-1" }), {
    timeout: 5000,
  })
  const [code] = await exited
  expect(code).toBe(0)
  expect(relay.logs()).toContain("drained")
})
