/**
 * A real nats-server for tests: JetStream on, storage in a temporary folder, a free loopback port.
 * `restart()` keeps the port and the storage, to test that services reconnect and JetStream state
 * survives. Not for production use.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { freeTcpPort, tcpPortOpen } from "./freePort.js"
import { stopProcess, tail, track } from "./processes.js"

export interface NatsServerHandle {
  readonly host: string
  readonly port: number
  readonly url: string
  readonly storeDir: string
  /** Stops the server (SIGTERM, SIGKILL after a bound) and removes its storage. */
  readonly stop: () => Promise<void>
  /** Stops and starts the server again on the same port with the same storage. */
  readonly restart: () => Promise<void>
  /** Sends a signal without waiting (e.g. SIGKILL to simulate a crash). */
  readonly kill: (signal?: NodeJS.Signals) => void
  /** Starts the server again after `kill` or a stop without cleanup. */
  readonly start: () => Promise<void>
}

export interface NatsServerOptions {
  readonly host?: string
  readonly port?: number
  /** How long to wait for the server to accept connections. */
  readonly startTimeoutMs?: number
}

const natsBinary = (): string => {
  for (const candidate of ["/usr/sbin/nats-server", "/usr/bin/nats-server"]) {
    try {
      execFileSync(candidate, ["--version"], { stdio: "ignore" })
      return candidate
    } catch {
      // try the next
    }
  }
  return "nats-server"
}

export const startNatsServer = async (options: NatsServerOptions = {}): Promise<NatsServerHandle> => {
  const host = options.host ?? "127.0.0.1"
  const port = options.port ?? (await freeTcpPort(host))
  const storeDir = mkdtempSync(join(tmpdir(), "b2bua-nats-"))
  const startTimeoutMs = options.startTimeoutMs ?? 10_000
  const binary = natsBinary()
  let child: ChildProcess | undefined

  const launch = async (): Promise<void> => {
    const stderr = tail()
    const proc = spawn(binary, ["-a", host, "-p", String(port), "-js", "-sd", storeDir], {
      stdio: ["ignore", "pipe", "pipe"],
    })
    track(proc)
    proc.stdout?.on("data", stderr.push)
    proc.stderr?.on("data", stderr.push)
    child = proc
    const deadline = Date.now() + startTimeoutMs
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) break
      if (await tcpPortOpen(port, host)) return
      await new Promise((r) => setTimeout(r, 50))
    }
    proc.kill("SIGKILL")
    throw new Error(
      `nats-server did not start on ${host}:${port} within ${startTimeoutMs} ms:\n${stderr.text}`,
    )
  }

  await launch()
  return {
    host,
    port,
    url: `nats://${host}:${port}`,
    storeDir,
    stop: async () => {
      if (child !== undefined) await stopProcess(child)
      rmSync(storeDir, { recursive: true, force: true })
    },
    restart: async () => {
      if (child !== undefined) await stopProcess(child)
      await launch()
    },
    kill: (signal = "SIGKILL") => {
      child?.kill(signal)
    },
    start: launch,
  }
}
