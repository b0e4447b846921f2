/** A suite service started as its own process for end-to-end tests, ready once it logs `readyText`. */
import { type ChildProcess, spawn } from "node:child_process"
import { stopProcess, tail, track } from "./processes.js"

export interface ServiceProcess {
  readonly child: ChildProcess
  readonly logs: () => string
  /** SIGTERM, SIGKILL after a bound; resolves with the exit code. */
  readonly stop: () => Promise<number | null>
}

export const startService = async (options: {
  readonly main: string
  readonly env: Readonly<Record<string, string>>
  readonly readyText: string
  readonly timeoutMs?: number
}): Promise<ServiceProcess> => {
  const logs = tail(200_000)
  const child = spawn(process.execPath, [options.main], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  })
  track(child)
  child.stdout?.on("data", logs.push)
  child.stderr?.on("data", logs.push)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const deadline = Date.now() + (options.timeoutMs ?? 15_000)
  while (!logs.text.includes(options.readyText)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill("SIGKILL")
      throw new Error(`${options.main} did not become ready:\n${logs.text}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    child,
    logs: () => logs.text,
    stop: async () => {
      await stopProcess(child)
      return exited
    },
  }
}
