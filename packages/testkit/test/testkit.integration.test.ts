/** The test kit against the real binaries it drives: nats-server, SIPp, UDP sockets. */

import { connect } from "node:net"
import { afterAll, describe, expect, it } from "vitest"
import {
  createTestUserAgent,
  runSipp,
  startNatsServer,
  startSippUas,
  tcpPortOpen,
  wireMessage,
} from "../src/index.js"

describe("startNatsServer", () => {
  const cleanups: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const c of cleanups) await c()
  })

  it("starts a JetStream server on a free loopback port, restarts it on the same port, and stops it", async () => {
    const nats = await startNatsServer()
    cleanups.push(nats.stop)
    expect(nats.url).toBe(`nats://127.0.0.1:${nats.port}`)
    const info = await new Promise<string>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port: nats.port })
      s.once("data", (d) => {
        s.destroy()
        resolve(d.toString())
      })
      s.once("error", reject)
    })
    expect(info).toMatch(/^INFO .*"jetstream":true/)
    await nats.restart()
    expect(await tcpPortOpen(nats.port)).toBe(true)
    await nats.stop()
    expect(await tcpPortOpen(nats.port)).toBe(false)
  })
})

describe("SIPp runner", () => {
  it("runs a UAC against a UAS and reports the calls of both", async () => {
    const uas = await startSippUas({ calls: 3, timeoutSeconds: 20 })
    const uac = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${uas.localPort}`,
      calls: 3,
      rate: 10,
      pauseMs: 100,
      timeoutSeconds: 20,
    })
    const server = await uas.result()
    expect(uac.exitCode).toBe(0)
    expect(uac.successfulCalls).toBe(3)
    expect(uac.failedCalls).toBe(0)
    expect(server.successfulCalls).toBe(3)
  })

  it("reports a failed run when nobody answers", async () => {
    const silent = await createTestUserAgent()
    const result = await runSipp({
      scenario: "uac",
      remote: `127.0.0.1:${silent.port}`,
      calls: 1,
      timeoutSeconds: 2,
    })
    await silent.close()
    expect(result.exitCode).not.toBe(0)
    expect(result.successfulCalls).toBe(0)
  })
})

describe("TestUserAgent", () => {
  it("exchanges SIP over UDP and parses what it receives", async () => {
    const alice = await createTestUserAgent()
    const bob = await createTestUserAgent()
    const options = wireMessage(`
OPTIONS sip:bob@127.0.0.1:${bob.port} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:${alice.port};branch=z9hG4bK-test-1
From: <sip:alice@127.0.0.1>;tag=a1
To: <sip:bob@127.0.0.1>
Call-ID: tua-1@127.0.0.1
CSeq: 1 OPTIONS
Max-Forwards: 70
`)
    await alice.send(options, { host: "127.0.0.1", port: bob.port })
    const got = await bob.next((r) => r.message?.kind === "request")
    expect(got.message?.callId).toBe("tua-1@127.0.0.1")
    expect(got.message?.contentLength).toBe(0)
    expect(got.from.port).toBe(alice.port)
    await expect(alice.next(() => true, 100)).rejects.toThrow(/nothing matching arrived within 100 ms/)
    await alice.close()
    await bob.close()
  })
})
