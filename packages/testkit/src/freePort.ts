/** Free loopback ports for tests: bind port 0 and read what the kernel chose. */
import { createSocket } from "node:dgram"
import { connect, createServer } from "node:net"

export const freeTcpPort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export const freeUdpPort = (host = "127.0.0.1"): Promise<number> =>
  new Promise((resolve, reject) => {
    const socket = createSocket("udp4")
    socket.once("error", reject)
    socket.bind(0, host, () => {
      const port = socket.address().port
      socket.close(() => resolve(port))
    })
  })

/** A port free for both UDP and TCP (SIP listens on both). Bounded retries. */
export const freeSipPort = async (host = "127.0.0.1"): Promise<number> => {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await freeUdpPort(host)
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once("error", () => resolve(false))
      server.listen(port, host, () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error("no port free for both UDP and TCP after 20 attempts")
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export const tcpPortOpen = (port: number, host = "127.0.0.1"): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })
