// The local stack behind `npm start`: nats-server with JetStream (data in .local/nats) and every service
// that has been built, each as its own process, with prefixed logs and a clean stop on Ctrl-C.
// Plain Node, no dependencies, no build step.
import { spawn } from "node:child_process"
import { existsSync, mkdirSync } from "node:fs"
import { connect, createServer } from "node:net"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const env = process.env

// The services in start order. A service joins the stack once its dist/main.js exists.
// `ready` is the log line each prints once it serves; the stack says "ready" when all have printed theirs.
const SERVICES = [
  { name: "auth", color: 35, ready: "auth ready" },
  { name: "sdp-negotiator", color: 36, ready: "sdp-negotiator ready" },
  { name: "rtp-relay", color: 32, ready: "rtp relay ready" },
  { name: "call-control", color: 34, ready: "call-control ready" },
  { name: "sip-edge", color: 33, ready: "sip-edge listening" },
  { name: "admin-api", color: 95, ready: "gRPC server listening" },
]
const readyServices = new Set()

const paint = (color, text) => (process.stdout.isTTY ? `\x1b[${color}m${text}\x1b[0m` : text)
const say = (text) => console.log(`${paint(1, "[stack]")} ${text}`)

const portFree = (port) =>
  new Promise((resolve) => {
    const server = createServer()
    server.once("error", () => resolve(false))
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)))
  })

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer()
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })

const accepts = (port) =>
  new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port })
    socket.once("connect", () => {
      socket.destroy()
      resolve(true)
    })
    socket.once("error", () => resolve(false))
  })

const children = []
let stopping = false

const pipeLines = (stream, label, color) => {
  let rest = ""
  const readyText = SERVICES.find((s) => s.name === label)?.ready
  stream.on("data", (chunk) => {
    const lines = (rest + chunk.toString()).split("\n")
    rest = lines.pop() ?? ""
    for (const line of lines) {
      if (line.length === 0) continue
      if (readyText !== undefined && line.includes(readyText)) readyServices.add(label)
      console.log(`${paint(color, label.padEnd(15))} ${line}`)
    }
  })
}

const run = (name, color, command, args, extraEnv = {}) => {
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  })
  pipeLines(child.stdout, name, color)
  pipeLines(child.stderr, name, color)
  child.on("exit", (code, signal) => {
    if (!stopping) {
      say(`${name} exited unexpectedly (${signal ?? `code ${code}`}); stopping everything`)
      stop(1)
    }
  })
  children.push({ name, child })
  return child
}

const stop = async (exitCode) => {
  if (stopping) return
  stopping = true
  say("stopping")
  // Services first (reverse start order), NATS last, so services can drain their connections.
  for (const { name, child } of [...children].reverse()) {
    if (child.exitCode !== null || child.signalCode !== null) continue
    await new Promise((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 10_000)
      child.once("exit", () => {
        clearTimeout(timer)
        resolve()
      })
      child.kill("SIGTERM")
    })
    say(`${name} stopped`)
  }
  process.exit(exitCode)
}

process.on("SIGINT", () => stop(0))
process.on("SIGTERM", () => stop(0))

const main = async () => {
  const natsBin = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p))
  if (natsBin === undefined) {
    say("nats-server is not installed (scripts/bootstrap.sh installs it)")
    process.exit(1)
  }
  let natsPort = Number(env.B2BUA_NATS_PORT ?? 4222)
  if (!(await portFree(natsPort))) {
    const other = await freePort()
    say(`port ${natsPort} is taken (another nats-server?); this stack's NATS uses port ${other} instead`)
    natsPort = other
  }
  const dataDir = join(root, ".local", "nats")
  mkdirSync(dataDir, { recursive: true })
  run("nats", 90, natsBin, ["-a", "127.0.0.1", "-p", String(natsPort), "-js", "-sd", dataDir])
  const deadline = Date.now() + 10_000
  while (!(await accepts(natsPort))) {
    if (Date.now() > deadline) {
      say("nats-server did not start within 10 s")
      return stop(1)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  const natsUrl = `nats://127.0.0.1:${natsPort}`
  say(`NATS (JetStream) ready at ${natsUrl}, data in .local/nats`)

  // The demo route sends calls to B2BUA_DEMO_CALLEE; unset, a SIPp UAS answers every call and echoes
  // its media (sipp -rtp_echo) on 127.0.0.1.
  let callee = env.B2BUA_DEMO_CALLEE
  if (callee === undefined || callee === "") {
    const port = Number(env.B2BUA_DEMO_CALLEE_PORT ?? 5080)
    const calleePort = (await portFree(port)) ? port : await freePort()
    callee = `127.0.0.1:${calleePort}`
    run(
      "demo-callee",
      37,
      "sipp",
      ["-sn", "uas", "-i", "127.0.0.1", "-p", String(calleePort), "-rtp_echo", "-nostdin", "-trace_err"],
      {},
      true,
    )
    say(`demo callee (SIPp UAS, answers and echoes media) at ${callee}`)
  }

  const sipPort = env.B2BUA_SIP_PORT ?? "5060"
  const adminToken = env.B2BUA_ADMIN_TOKEN ?? "demo-admin-token"
  // The demo configuration of each service; any variable already set in the environment wins.
  const demoEnv = {
    auth: {
      B2BUA_AUTH_CONFIG: join(root, "deploy", "local", "auth-demo.yaml"),
      B2BUA_NONCE_KEY: "local-demo-nonce-key-not-for-production",
      B2BUA_AUTH_SIP_ADDRESS: `127.0.0.1:${sipPort}`,
    },
    "rtp-relay": { B2BUA_RELAY_ADDRESS: "127.0.0.1", B2BUA_RTP_PORTS: "30000-39999" },
    "call-control": {},
    "sdp-negotiator": {},
    "sip-edge": {},
    "admin-api": { B2BUA_ADMIN_TOKEN: adminToken },
  }
  const found = SERVICES.filter((s) => existsSync(join(root, "services", s.name, "dist", "main.js")))
  const missing = SERVICES.filter((s) => !found.includes(s)).map((s) => s.name)
  for (const s of found) {
    const own = Object.fromEntries(
      Object.entries(demoEnv[s.name] ?? {}).filter(([key]) => env[key] === undefined),
    )
    run(s.name, s.color, process.execPath, [join("services", s.name, "dist", "main.js")], {
      NATS_URL: natsUrl,
      B2BUA_DEMO_CALLEE: callee,
      ...own,
    })
  }
  say(`services running: ${found.length > 0 ? found.map((s) => s.name).join(", ") : "none"}`)
  if (missing.length > 0) say(`services not built yet (they join when they exist): ${missing.join(", ")}`)
  const readyBy = Date.now() + 120_000
  while (found.some((s) => !readyServices.has(s.name))) {
    if (Date.now() > readyBy) {
      say(
        `not ready after 120 s: ${found
          .filter((s) => !readyServices.has(s.name))
          .map((s) => s.name)
          .join(", ")}`,
      )
      return stop(1)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  // Relays announce themselves every second; the negotiator anchors calls once it has heard one.
  await new Promise((r) => setTimeout(r, 1500))
  say("ready — Ctrl-C stops the stack")
  say(`place a call: sipp -sn uac 127.0.0.1:${sipPort} -m 1 -i 127.0.0.1 -p 5090`)
  say(`register the demo user: alice / alice-demo (realm b2bua-demo) at sip:alice@127.0.0.1`)
  say(`admin API: gRPC at 127.0.0.1:50051, bearer token "${adminToken}"`)
  say(`watch the calls: B2BCTL_TOKEN=${adminToken} node packages/b2bctl/dist/main.js calls watch`)
  say("or place a few calls and see them with their records: npm run demo")
}

main()
