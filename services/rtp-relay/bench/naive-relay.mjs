// The naive Node relay baseline of `npm run bench:relay`: one dgram socket per leg, `on('message')` →
// `send` to the other leg's remote (latched from the last source). Driven by JSON lines on stdin:
//   {"op":"create","calls":N,"remotePort":P} → {"ports":[[a,b],...]}   {"op":"delete"} → {"ok":true}
import { createSocket } from "node:dgram"
import { createInterface } from "node:readline"

let sockets = []

const bindLeg = () =>
  new Promise((resolve) => {
    const s = createSocket("udp4")
    s.bind(0, "127.0.0.1", () => resolve(s))
  })

const create = async (calls, remotePort) => {
  const ports = []
  for (let i = 0; i < calls; i++) {
    const a = await bindLeg()
    const b = await bindLeg()
    const remote = {
      a: { port: remotePort, address: "127.0.0.1" },
      b: { port: remotePort, address: "127.0.0.1" },
    }
    a.on("message", (msg, rinfo) => {
      remote.a = rinfo
      b.send(msg, remote.b.port, remote.b.address)
    })
    b.on("message", (msg, rinfo) => {
      remote.b = rinfo
      a.send(msg, remote.a.port, remote.a.address)
    })
    sockets.push(a, b)
    ports.push([a.address().port, b.address().port])
  }
  return ports
}

for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line)
  if (cmd.op === "create") {
    process.stdout.write(`${JSON.stringify({ ports: await create(cmd.calls, cmd.remotePort) })}\n`)
  } else if (cmd.op === "delete") {
    await Promise.all(sockets.map((s) => new Promise((resolve) => s.close(resolve))))
    sockets = []
    process.stdout.write(`${JSON.stringify({ ok: true })}\n`)
  }
}
