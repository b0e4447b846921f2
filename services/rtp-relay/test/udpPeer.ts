/** A UDP endpoint on 127.0.0.1 for tests: sends datagrams and awaits the next one (bounded queue and wait). */
import { createSocket, type RemoteInfo } from "node:dgram"

export interface Datagram {
  readonly data: Buffer
  readonly from: RemoteInfo
}

export interface UdpPeer {
  readonly port: number
  readonly send: (data: Uint8Array, port: number) => Promise<void>
  /** The next datagram, or a rejection after `timeoutMs`. */
  readonly next: (timeoutMs?: number) => Promise<Datagram>
  readonly received: () => number
  readonly close: () => Promise<void>
}

export const udpPeer = async (port = 0): Promise<UdpPeer> => {
  const socket = createSocket("udp4")
  const queue: Array<Datagram> = []
  const waiters: Array<(d: Datagram) => void> = []
  let count = 0
  socket.on("message", (data, from) => {
    count++
    const w = waiters.shift()
    if (w !== undefined) w({ data, from })
    else if (queue.length < 10_000) queue.push({ data, from })
  })
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject)
    socket.bind(port, "127.0.0.1", () => resolve())
  })
  return {
    port: socket.address().port,
    send: (data, to) =>
      new Promise((resolve, reject) =>
        socket.send(data, to, "127.0.0.1", (e) => (e ? reject(e) : resolve())),
      ),
    next: (timeoutMs = 2000) => {
      const d = queue.shift()
      if (d !== undefined) return Promise.resolve(d)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(onData)
          if (i >= 0) waiters.splice(i, 1)
          reject(new Error(`no datagram on ${socket.address().port} within ${timeoutMs} ms`))
        }, timeoutMs)
        const onData = (x: Datagram) => {
          clearTimeout(timer)
          resolve(x)
        }
        waiters.push(onData)
      })
    },
    received: () => count,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}

/** A 172-byte G.711 RTP packet (12-byte header + 160 bytes) with the given fields. */
export const rtpPacket = (seq: number, pt = 0, ssrc = 0x1234, ts = seq * 160, size = 172): Buffer => {
  const b = Buffer.alloc(size)
  b[0] = 0x80
  b[1] = pt & 0x7f
  b.writeUInt16BE(seq & 0xffff, 2)
  b.writeUInt32BE(ts >>> 0, 4)
  b.writeUInt32BE(ssrc >>> 0, 8)
  return b
}

/** An RTCP receiver report (RFC 3550 §6.4.2) with one report block. */
export const rtcpReceiverReport = (fraction: number, cumulativeLost: number, jitter: number): Buffer => {
  const b = Buffer.alloc(32)
  b[0] = 0x81 // V=2, RC=1
  b[1] = 201
  b.writeUInt16BE(7, 2) // length in 32-bit words minus one
  b.writeUInt32BE(0xabcd, 4) // sender SSRC
  b.writeUInt32BE(0x1234, 8) // reportee SSRC
  b[12] = fraction
  b.writeUIntBE(cumulativeLost & 0xffffff, 13, 3)
  b.writeUInt32BE(1000, 16)
  b.writeUInt32BE(jitter, 20)
  return b
}

/** RFC 4733 telephone-event packet. */
export const dtmfPacket = (
  seq: number,
  pt: number,
  ts: number,
  event: number,
  end: boolean,
  duration: number,
): Buffer => {
  const b = rtpPacket(seq, pt, 0x1234, ts, 16)
  b[12] = event
  b[13] = (end ? 0x80 : 0) | 10
  b.writeUInt16BE(duration, 14)
  return b
}
