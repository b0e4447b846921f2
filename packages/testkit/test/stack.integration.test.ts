/** `npm start`'s local stack: it starts NATS, says it is ready, and stops cleanly on Ctrl-C. */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { freeSipPort, freeTcpPort, tcpPortOpen } from "../src/index.js"

const stackScript = fileURLToPath(new URL("../../../deploy/local/stack.mjs", import.meta.url))

describe("local stack (deploy/local/stack.mjs)", () => {
  it("runs NATS and the built services, reports ready, and exits 0 on SIGINT leaving nothing behind", async () => {
    const port = await freeTcpPort()
    const sipPort = await freeSipPort()
    const stack = spawn(process.execPath, [stackScript], {
      env: { ...process.env, B2BUA_NATS_PORT: String(port), B2BUA_SIP_PORT: String(sipPort) },
      stdio: ["ignore", "pipe", "pipe"],
    })
    let output = ""
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`stack not ready in 15 s:\n${output}`)), 15_000)
      stack.stdout.on("data", (d: Buffer) => {
        output += d.toString()
        if (output.includes("ready — Ctrl-C stops the stack")) {
          clearTimeout(timer)
          resolve()
        }
      })
    })
    try {
      await ready
      expect(output).toContain(`NATS (JetStream) ready at nats://127.0.0.1:${port}`)
      // Every built service runs; the edge says it is listening on the demo port.
      await expect.poll(() => output, { timeout: 10_000 }).toContain(`udp:0.0.0.0:${sipPort}`)
      expect(await tcpPortOpen(port)).toBe(true)
      const exited = new Promise<number | null>((resolve) => stack.once("exit", (code) => resolve(code)))
      stack.kill("SIGINT")
      expect(await exited).toBe(0)
      expect(await tcpPortOpen(port)).toBe(false)
    } finally {
      stack.kill("SIGKILL")
    }
  })
})
