/** admin-api as a process (dist/main.js, built by `npm test`'s bootstrap): start, serve, stop gracefully. */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  CallServiceClient,
  CallServiceService,
  serverStreamCall,
  TrunkServiceClient,
  TrunkServiceService,
  unaryCall,
} from "@b2bua/admin-proto"
import { freeTcpPort, type NatsServerHandle, startNatsServer, startService } from "@b2bua/testkit"
import { credentials, type ServiceError, status } from "@grpc/grpc-js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

const main = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const TOKEN = "process-test-token-0123456789"
let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

describe("admin-api process", () => {
  it("refuses to start without a token (exit 2, the variable named)", async () => {
    const { B2BUA_ADMIN_TOKEN: _t, B2BUA_ADMIN_TOKEN_FILE: _f, ...env } = process.env
    const child = spawn(process.execPath, [main], {
      env: { ...env, NATS_URL: nats.url },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString()
    })
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    expect(code).toBe(2)
    expect(output).toContain("B2BUA_ADMIN_TOKEN")
  })

  it("serves, then on SIGTERM ends open watches with UNAVAILABLE and exits 0", async () => {
    const port = await freeTcpPort("127.0.0.1")
    const service = await startService({
      main,
      env: { NATS_URL: nats.url, B2BUA_ADMIN_TOKEN: TOKEN, B2BUA_ADMIN_LISTEN: `127.0.0.1:${port}` },
      readyText: "gRPC server listening",
    })
    const address = `127.0.0.1:${port}`
    const trunks = new TrunkServiceClient(address, credentials.createInsecure())
    const calls = new CallServiceClient(address, credentials.createInsecure())
    try {
      const listed = await unaryCall(
        trunks,
        TrunkServiceService.listTrunks,
        { pageSize: 0, pageToken: "" },
        { token: TOKEN, timeoutMs: 5000 },
      )
      expect(listed.trunks).toEqual([])
      const watch = serverStreamCall(
        calls,
        CallServiceService.watchCalls,
        { states: [], callId: "", trunk: "" },
        () => {},
        { token: TOKEN },
      )
      // A unary call after the watch started: the stream is open on the server by then (same connection, in order).
      await unaryCall(
        trunks,
        TrunkServiceService.listTrunks,
        { pageSize: 0, pageToken: "" },
        { token: TOKEN, timeoutMs: 5000 },
      )
      const ended = watch.done.then(
        () => undefined,
        (e: ServiceError) => e,
      )
      expect(await service.stop()).toBe(0)
      const error = await ended
      expect(error?.code).toBe(status.UNAVAILABLE)
      expect(service.logs()).toContain("gRPC server stopped")
    } finally {
      trunks.close()
      calls.close()
    }
  })
})
