// `npm run demo`: places a handful of calls through the running local stack (`npm start` in another
// terminal) with SIPp, shows them live with `b2bctl calls list`, then their call records. Loopback only,
// bounded in time; exits non-zero when a call fails or the stack is not there.
import { spawn, spawnSync } from "node:child_process"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const env = process.env
const sipPort = env.B2BUA_SIP_PORT ?? "5060"
const calls = Number(env.B2BUA_DEMO_CALLS ?? 5)
const b2bctl = join(root, "packages", "b2bctl", "dist", "main.js")
const ctlEnv = { ...env, B2BCTL_TOKEN: env.B2BCTL_TOKEN ?? env.B2BUA_ADMIN_TOKEN ?? "demo-admin-token" }
const say = (text) => console.log(`\x1b[1m[demo]\x1b[0m ${text}`)

const ctl = (...args) => {
  const r = spawnSync(process.execPath, [b2bctl, ...args], { env: ctlEnv, encoding: "utf8" })
  process.stdout.write(r.stdout)
  process.stderr.write(r.stderr)
  return r.status ?? 1
}

if (ctl("relays") !== 0) {
  say("the stack does not answer: start it first with `npm start` (in another terminal)")
  process.exit(1)
}
const startedAt = Date.now()
say(`placing ${calls} calls (3 s each) into 127.0.0.1:${sipPort} with SIPp`)
const sipp = spawn(
  "sipp",
  [
    "-sn",
    "uac",
    `127.0.0.1:${sipPort}`,
    "-m",
    String(calls),
    "-r",
    String(calls),
    "-d",
    "3000",
    "-i",
    "127.0.0.1",
    "-p",
    "5095",
    "-nostdin",
    "-timeout",
    "30",
    "-timeout_error",
    "-trace_screen",
    "-screen_file",
    "/dev/null",
  ],
  { stdio: "ignore" },
)
const done = new Promise((resolve) => sipp.once("exit", (code) => resolve(code)))
await new Promise((r) => setTimeout(r, 1500))
say("calls in progress (b2bctl calls list):")
ctl("calls", "list")
const code = await done
say(`SIPp finished (exit ${code}); the calls' records (b2bctl records):`)
await new Promise((r) => setTimeout(r, 500))
ctl("records", "--from", String(startedAt))
process.exit(code === 0 ? 0 : 1)
