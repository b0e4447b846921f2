/** b2bctl against a real admin API (in-process, 127.0.0.1) over a real nats-server. */
import { spawn } from "node:child_process"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import { adminSubjects, encodeAdminPayload } from "@b2bua/contracts"
import { freeTcpPort, type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { jetstream } from "@nats-io/jetstream"
import { Effect, Exit, Layer, Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
// The service under test, from its sources (services are not aliased like packages).
import { runAdminApi } from "../../../services/admin-api/src/index.js"
import { runCli } from "../src/index.js"

const TOKEN = "cli-test-token-0123456789"
let nats: NatsServerHandle
let scope: Scope.Closeable
let server: string

beforeAll(async () => {
  nats = await startNatsServer()
  scope = Effect.runSync(Scope.make())
  const running = await Effect.runPromise(
    Effect.gen(function* () {
      const bus = yield* Layer.buildWithScope(busLayer({ servers: nats.url, name: "b2bctl-test" }), scope)
      return yield* runAdminApi({
        host: "127.0.0.1",
        port: 0,
        token: TOKEN,
        tls: undefined,
        shutdownGraceMs: 1000,
      }).pipe(Effect.provideContext(bus), Scope.provide(scope))
    }),
  )
  server = `127.0.0.1:${running.port}`
})
afterAll(async () => {
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await nats.stop()
})

const cli = async (argv: ReadonlyArray<string>, env: Record<string, string> = { B2BCTL_TOKEN: TOKEN }) => {
  const out: Array<string> = []
  const err: Array<string> = []
  const code = await runCli(["--server", server, ...argv], env, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  })
  return { code, out: out.join("\n"), err: err.join("\n") }
}

describe("b2bctl", () => {
  it("creates, lists and reads trunks and routes (table and --json)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "b2bctl-"))
    writeFileSync(
      join(dir, "trunk.json"),
      JSON.stringify({
        name: "carrier-a",
        gateways: [{ host: "192.0.2.10", port: 5060, transport: "TRANSPORT_UDP" }],
        limits: { maxCalls: 30 },
      }),
    )
    writeFileSync(
      join(dir, "route.json"),
      JSON.stringify({ name: "uk", prefix: "+44", trunks: ["carrier-a"] }),
    )
    const created = await cli(["trunks", "create", "--file", join(dir, "trunk.json")])
    expect(created.code).toBe(0)
    expect(created.out).toMatch(/^NAME\s+GATEWAYS/)
    expect(created.out).toContain("192.0.2.10:5060/udp")
    expect((await cli(["routes", "create", "--file", join(dir, "route.json")])).code).toBe(0)
    const listed = await cli(["trunks"])
    expect(
      listed.out
        .split("\n")
        .slice(1)
        .map((l) => l.split(/\s+/)[0]),
    ).toEqual(["carrier-a"])
    const json = await cli(["--json", "trunks", "get", "carrier-a"])
    expect(JSON.parse(json.out)).toMatchObject({ name: "carrier-a", limits: { maxCalls: 30 } })
    const routes = await cli(["routes", "list", "--json"])
    expect(JSON.parse(routes.out)).toMatchObject([{ name: "uk", prefix: "+44", trunks: ["carrier-a"] }])
    const bad = await cli(["trunks", "delete", "carrier-a"])
    expect(bad.code).toBe(1)
    expect(bad.err).toBe('b2bctl: FAILED_PRECONDITION: trunk "carrier-a" is used by route "uk"')
  })

  it("lists calls and call records; a missing call is NOT_FOUND", async () => {
    const empty = await cli(["calls", "list"])
    expect(empty).toMatchObject({ code: 0, out: "ID  STATE  OWNER  TRUNK  FROM  TO  SETUP" })
    const missing = await cli(["calls", "get", "a".repeat(40)])
    expect(missing.code).toBe(1)
    expect(missing.err).toMatch(/^b2bctl: NOT_FOUND: call "a{40}" not found$/)
    const callId = "b".repeat(40)
    await Effect.runPromise(
      Effect.gen(function* () {
        const bus = yield* Bus
        yield* Effect.promise(() =>
          jetstream(bus.connection).publish(
            adminSubjects.callRecord(callId),
            encodeAdminPayload({
              v: 1,
              callId,
              owner: "cc1",
              from: "1000",
              to: "2000",
              setupAt: 1_000,
              endedAt: 5_000,
              durationMs: 0,
              disposition: "busy",
              sipCode: 486,
              hangupBy: "callee",
              legs: { a: { sipCallId: "a@x" } },
            }),
            { msgID: callId },
          ),
        )
      }).pipe(Effect.provide(busLayer({ servers: nats.url, name: "b2bctl-publisher" }))),
    )
    const records = await cli(["records"])
    expect(records.code).toBe(0)
    expect(records.out.split("\n")[1]).toMatch(
      /^1970-01-01T00:00:05\.000Z\s+bbbbbbbbbbbb\s+1000\s+2000\s+->-\s+busy\s+486\s+0\.0s\s+callee$/,
    )
    const json = await cli(["records", "--json", "--disposition", "busy"])
    expect(JSON.parse(json.out)).toMatchObject([{ callId, sipCode: 486, disposition: "DISPOSITION_BUSY" }])
  })

  it("calls watch --count prints the events after a cursor, one JSON line each", async () => {
    const callId = "c".repeat(40)
    const publish = (state: "Answered" | "Ended", at: number) =>
      Effect.runPromise(
        Effect.gen(function* () {
          const bus = yield* Bus
          const ack = yield* Effect.promise(() =>
            jetstream(bus.connection).publish(
              adminSubjects.callEvents(callId),
              encodeAdminPayload({
                v: 1,
                callId,
                owner: "cc1",
                state,
                at,
                legs: { a: { sipCallId: "a@x" } },
              }),
            ),
          )
          return ack.seq
        }).pipe(Effect.provide(busLayer({ servers: nats.url, name: "b2bctl-events" }))),
      )
    const first = await publish("Answered", 1)
    const second = await publish("Ended", 2)
    const watched = await cli(["calls", "watch", "--json", "--after", String(first - 1), "--count", "2"])
    expect(watched.code).toBe(0)
    const lines = watched.out
      .split("\n")
      .map((l) => JSON.parse(l) as { cursor: number; call: { state: string } })
    expect(lines.map((l) => [l.cursor, l.call.state])).toEqual([
      [first, "CALL_STATE_ANSWERED"],
      [second, "CALL_STATE_ENDED"],
    ])
  })

  it("runs as the b2bctl binary (dist/main.js)", async () => {
    const main = fileURLToPath(new URL("../dist/main.js", import.meta.url))
    const child = spawn(process.execPath, [main, "--server", server, "--json", "relays"], {
      env: { ...process.env, B2BCTL_TOKEN: TOKEN },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let out = ""
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(0)
    expect(JSON.parse(out)).toEqual({ relays: [], totalSessions: 0, totalCapacity: 0 })
  })

  it("says clearly when the token is wrong or missing, or the server unreachable", async () => {
    const wrong = await cli(["trunks"], { B2BCTL_TOKEN: "wrong-token-0123456789" })
    expect(wrong.code).toBe(4)
    expect(wrong.err).toContain("refused the token (invalid bearer token)")
    const none = await cli(["trunks"], {})
    expect(none.code).toBe(4)
    expect(none.err).toContain("missing bearer token")
    const port = await freeTcpPort("127.0.0.1")
    const out: Array<string> = []
    const code = await runCli(
      ["--server", `127.0.0.1:${port}`, "trunks"],
      { B2BCTL_TOKEN: TOKEN },
      { out: (t) => out.push(t), err: (t) => out.push(t) },
    )
    expect(code).toBe(3)
    expect(out.join("\n")).toMatch(
      new RegExp(`^b2bctl: cannot reach the admin API at 127\\.0\\.0\\.1:${port}`),
    )
    const usage = await cli(["calls", "get"])
    expect(usage.code).toBe(2)
    expect(usage.err).toMatch(/^b2bctl: calls get: missing <id>\nusage: b2bctl/)
  })
})
