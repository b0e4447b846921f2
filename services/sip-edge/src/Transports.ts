/**
 * SIP transports: UDP sockets and TCP listeners (TLS joins later through the same seam: a listener that
 * yields framed messages and sends bytes). A TCP connection belongs to this edge instance; responses go
 * back on the connection their request came on (RFC 3261 §18.2.2), and a request too large for UDP goes
 * over TCP (§18.1.1). Buffers are bounded by the stream framer's limits.
 */
import { createSocket, type Socket as UdpSocket } from "node:dgram"
import { createConnection, createServer, type Server, type Socket } from "node:net"
import { ConnectionId, formatHostPort, ListenerId } from "@b2bua/contracts"
import { SipStreamFramer } from "@b2bua/sip"
import type { EdgeConfig, ListenTransport } from "./Config.js"

export interface Endpoint {
  readonly host: string
  readonly port: number
}

export interface Inbound {
  readonly bytes: Buffer
  readonly listener: ListenerId
  readonly transport: ListenTransport
  readonly local: string
  readonly remote: Endpoint
  readonly connection: ConnectionId | undefined
}

export interface Outbound {
  readonly listener: ListenerId | undefined
  readonly transport: ListenTransport | "tls"
  readonly remote: Endpoint
  readonly connection: ConnectionId | undefined
}

export interface ListenerInfo {
  readonly id: ListenerId
  readonly transport: ListenTransport
  readonly host: string
  readonly port: number
}

export interface Transports {
  readonly listeners: ReadonlyArray<ListenerInfo>
  readonly send: (target: Outbound, bytes: Buffer) => void
  readonly close: () => Promise<void>
  readonly tcpConnections: () => number
}

export interface TransportEvents {
  readonly message: (inbound: Inbound) => void
  readonly framingError: (connection: ConnectionId, reason: string) => void
  readonly sendError: (target: Outbound, reason: string) => void
}

/** RFC 3261 §18.1.1: a request within 200 bytes of a 1500-byte MTU must go over a congestion-controlled transport. */
const UDP_REQUEST_LIMIT = 1300

export const startTransports = async (config: EdgeConfig, events: TransportEvents): Promise<Transports> => {
  const udp = new Map<ListenerId, { socket: UdpSocket; info: ListenerInfo }>()
  const tcpServers: Server[] = []
  const connections = new Map<ConnectionId, Socket>()
  const listeners: ListenerInfo[] = []
  let connectionCounter = 0

  const adoptConnection = (socket: Socket, listener: ListenerId, local: string): ConnectionId => {
    const id = ConnectionId(`${config.instance}-${(++connectionCounter).toString(36)}`)
    connections.set(id, socket)
    const framer = new SipStreamFramer()
    socket.setTimeout(config.tcpIdleMs, () => socket.destroy())
    socket.on("data", (chunk: Buffer) => {
      for (const event of framer.push(chunk)) {
        switch (event._tag) {
          case "Message":
            events.message({
              bytes: event.bytes,
              listener,
              transport: "tcp",
              local,
              remote: { host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 },
              connection: id,
            })
            break
          case "KeepAlivePing":
            // RFC 5626 §3.5.1: a CRLFCRLF ping is answered with a CRLF pong.
            socket.write("\r\n")
            break
          case "KeepAlivePong":
            break
          case "FramingError":
            events.framingError(id, event.error.reason)
            socket.destroy()
            break
        }
      }
    })
    socket.on("error", () => socket.destroy())
    socket.on("close", () => connections.delete(id))
    return id
  }

  for (const address of config.listen) {
    if (address.transport === "udp") {
      const socket = createSocket({ type: address.host.includes(":") ? "udp6" : "udp4", reuseAddr: false })
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject)
        socket.bind(address.port, address.host, () => {
          socket.off("error", reject)
          resolve()
        })
      })
      const port = socket.address().port
      const info: ListenerInfo = {
        id: ListenerId(`udp:${formatHostPort(address.host, port)}`),
        transport: "udp",
        host: address.host,
        port,
      }
      const local = formatHostPort(address.host, port)
      socket.on("message", (bytes, rinfo) => {
        events.message({
          bytes,
          listener: info.id,
          transport: "udp",
          local,
          remote: { host: rinfo.address, port: rinfo.port },
          connection: undefined,
        })
      })
      socket.on("error", () => {})
      udp.set(info.id, { socket, info })
      listeners.push(info)
    } else {
      const server = createServer()
      server.maxConnections = config.maxTcpConnections
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(address.port, address.host, () => {
          server.off("error", reject)
          resolve()
        })
      })
      const addr = server.address()
      const port = typeof addr === "object" && addr !== null ? addr.port : address.port
      const info: ListenerInfo = {
        id: ListenerId(`tcp:${formatHostPort(address.host, port)}`),
        transport: "tcp",
        host: address.host,
        port,
      }
      const local = formatHostPort(address.host, port)
      server.on("connection", (socket) => adoptConnection(socket, info.id, local))
      tcpServers.push(server)
      listeners.push(info)
    }
  }

  const firstOf = (transport: ListenTransport) => listeners.find((l) => l.transport === transport)

  const sendTcp = (target: Outbound, bytes: Buffer): void => {
    const existing = target.connection === undefined ? undefined : connections.get(target.connection)
    if (existing !== undefined && !existing.destroyed) {
      existing.write(bytes)
      return
    }
    // §18.2.2: the connection is gone; open one to the destination (responses: received/rport).
    const tcp = firstOf("tcp")
    const socket = createConnection({ host: target.remote.host, port: target.remote.port })
    socket.once("error", (e) => events.sendError(target, e.message))
    socket.once("connect", () => socket.write(bytes))
    adoptConnection(
      socket,
      tcp?.id ?? ListenerId("tcp:outbound"),
      tcp === undefined ? "0.0.0.0:0" : formatHostPort(tcp.host, tcp.port),
    )
  }

  const send = (target: Outbound, bytes: Buffer): void => {
    const isRequest = !(bytes[0] === 0x53 && bytes[1] === 0x49 && bytes[2] === 0x50 && bytes[3] === 0x2f) // "SIP/"
    if (
      target.transport === "udp" &&
      !(isRequest && bytes.length > UDP_REQUEST_LIMIT && firstOf("tcp") !== undefined)
    ) {
      const listener =
        (target.listener === undefined ? undefined : udp.get(target.listener)) ?? [...udp.values()][0]
      if (listener === undefined) {
        events.sendError(target, "no UDP listener")
        return
      }
      listener.socket.send(bytes, target.remote.port, target.remote.host, (error) => {
        if (error) events.sendError(target, error.message)
      })
      return
    }
    sendTcp(target, bytes)
  }

  return {
    listeners,
    send,
    tcpConnections: () => connections.size,
    close: async () => {
      for (const { socket } of udp.values()) socket.close()
      for (const socket of connections.values()) socket.destroy()
      await Promise.all(tcpServers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
    },
  }
}
