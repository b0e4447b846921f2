/**
 * Child processes started by tests are registered here and killed when the test process exits, so a
 * failed or interrupted test never leaves a nats-server or SIPp behind.
 */
import type { ChildProcess } from "node:child_process"

const live = new Set<ChildProcess>()
let hooked = false

const killAll = (): void => {
  for (const child of live) {
    try {
      child.kill("SIGKILL")
    } catch {
      // already gone
    }
  }
  live.clear()
}

export const track = (child: ChildProcess): void => {
  if (!hooked) {
    hooked = true
    process.once("exit", killAll)
  }
  live.add(child)
  child.once("exit", () => live.delete(child))
}

/** Waits for a child to exit, SIGTERM first, SIGKILL after `graceMs`. */
export const stopProcess = (child: ChildProcess, graceMs = 3000): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Keeps the last `limit` characters of a stream, for error messages. */
export const tail = (limit = 4000) => {
  let text = ""
  return {
    push: (chunk: Buffer | string) => {
      text = (text + chunk.toString()).slice(-limit)
    },
    get text() {
      return text
    },
  }
}
