/**
 * A small SIP test user agent over real UDP on 127.0.0.1, for tests that need exact control of every
 * byte sent and every message received. Received datagrams are parsed with @b2bua/sip.
 */
import { createSocket, type Socket } from "node:dgram"
import { parseMessage, type SipMessage } from "@b2bua/sip"

export interface Received {
  readonly bytes: Buffer
  readonly from: { readonly address: string; readonly port: number }
  /** The parsed message, or undefined when the datagram is not a valid SIP message. */
  readonly message: SipMessage | undefined
}

export interface TestUserAgent {
  readonly port: number
  readonly address: string
  send(data: string | Uint8Array, to: { readonly host: string; readonly port: number }): Promise<void>
  /** The next received datagram matching `predicate` (earlier unmatched ones stay queued). */
  next(predicate?: (r: Received) => boolean, timeoutMs?: number): Promise<Received>
  /** Every datagram received so far and not yet taken by `next`. */
  readonly pending: ReadonlyArray<Received>
  close(): Promise<void>
}

/** The bound on queued, untaken datagrams: a test UA must not grow without limit either. */
const QUEUE_LIMIT = 10_000

export const createTestUserAgent = async (
  options: { readonly port?: number } = {},
): Promise<TestUserAgent> => {
  const socket: Socket = createSocket("udp4")
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject)
    socket.bind(options.port ?? 0, "127.0.0.1", () => resolve())
  })
  const queue: Received[] = []
  const waiters: Array<{ predicate: (r: Received) => boolean; resolve: (r: Received) => void }> = []
  socket.on("message", (bytes, rinfo) => {
    const parsed = parseMessage(bytes)
    const received: Received = {
      bytes,
      from: { address: rinfo.address, port: rinfo.port },
      message: parsed.ok ? parsed.message : undefined,
    }
    const waiter = waiters.findIndex((w) => w.predicate(received))
    if (waiter >= 0) {
      const [w] = waiters.splice(waiter, 1)
      w?.resolve(received)
    } else if (queue.length < QUEUE_LIMIT) {
      queue.push(received)
    }
  })
  const port = socket.address().port
  return {
    port,
    address: "127.0.0.1",
    pending: queue,
    send: (data, to) =>
      new Promise((resolve, reject) => {
        const bytes = typeof data === "string" ? Buffer.from(data, "latin1") : data
        socket.send(bytes, to.port, to.host, (error) => (error ? reject(error) : resolve()))
      }),
    next: (predicate = () => true, timeoutMs = 5000) => {
      const queued = queue.findIndex(predicate)
      if (queued >= 0) return Promise.resolve(queue.splice(queued, 1)[0]!)
      return new Promise((resolve, reject) => {
        const entry = {
          predicate,
          resolve: (r: Received) => {
            clearTimeout(timer)
            resolve(r)
          },
        }
        const timer = setTimeout(() => {
          const i = waiters.indexOf(entry)
          if (i >= 0) waiters.splice(i, 1)
          reject(new Error(`TestUserAgent on port ${port}: nothing matching arrived within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.push(entry)
      })
    },
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}
