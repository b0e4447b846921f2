/**
 * `npm run bench:cps`: the highest call rate with no failed call, for the suite and for a Kamailio +
 * rtpengine baseline, in one run with the same CPU pinning. See bench/README.md for the method.
 *
 * Subjects, each started fresh, every process pinned with taskset:
 * - the suite: nats-server (JetStream), auth, sdp-negotiator, rtp-relay, call-control, sip-edge, as
 *   processes the way deploy/local/stack.mjs and test/suite.ts start them (media anchored by the relay,
 *   callers identified by the auth service);
 * - the baseline: Kamailio (bench/kamailio.cfg: tm, rr, rtpengine_manage) with rtpengine-daemon
 *   (userspace, kernel table off) on its ng port.
 * Configurations: "1 core" pins the subject to CPU 1 and the load (SIPp caller and callee, tcpdump) to
 * CPU 0; "2 cores" gives the suite CPUs 0-1, shared with the load.
 *
 * Each trial: a SIPp caller at R calls/s for the step's duration (bench/scenarios/uac-cps.xml: INVITE
 * with SDP, 200, ACK, 1 s hold, BYE), a SIPp callee answering at once; it passes when every call
 * succeeded (SIPp: no failed call, no 200 later than 8 s, media anchored on both legs) and the caller
 * really offered R (within 5 %, from the capture). The rate search (RateSearch.ts) uses short steps;
 * the answer is confirmed by one longer run (30 s), stepping down 15 % at a time (four runs at most) if that fails.
 * The INVITE (A) to INVITE (B) delay comes from a tcpdump capture of INVITEs only (InviteCapture.ts).
 *
 * Bounded: every child runs under `timeout` (the bench's whole budget), is pinned, and is stopped at
 * the end, on error and on Ctrl-C. Loopback only.
 *
 * Environment (optional): CPS_STEP_S (search step, default 8), CPS_CONFIRM_S (default 30),
 * CPS_SUBJECTS (comma list of suite-1core, kamailio-1core, suite-2cores; default all three),
 * CPS_PROFILE=1 (the suite's services run with --cpu-prof; profiles kept in the run folder),
 * CPS_KEEP=1 (keep the run folder with logs and captures).
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createSocket } from "node:dgram"
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs"
import { loadavg, tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import { freeSipPort, freeTcpPort, freeUdpPort } from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { inviteDelays, readUdpDatagrams } from "./InviteCapture.js"
import { initialSearch, nextRate, percentile, type RateSearchConfig, recordTrial } from "./RateSearch.js"

const here = dirname(fileURLToPath(import.meta.url))
const services = join(here, "..", "..")
const scenarios = join(here, "scenarios")

const envInt = (name: string, fallback: number, min: number, max: number): number => {
  const text = process.env[name]
  if (text === undefined || text === "") return fallback
  const n = Number(text)
  if (!Number.isInteger(n) || n < min || n > max)
    throw new Error(`${name}: expected an integer in ${min}-${max}, got "${text}"`)
  return n
}
const STEP_S = envInt("CPS_STEP_S", 8, 2, 60)
const CONFIRM_S = envInt("CPS_CONFIRM_S", 30, 5, 300)
const PROFILE = process.env.CPS_PROFILE === "1"
/** CPS_TALLY=1: with CPS_FIXED, count the suite's NATS messages by subject (a wildcard subscriber). */
const TALLY = process.env.CPS_TALLY === "1"
/** CPS_FIXED=rate:seconds: one trial at that rate instead of the search (for profiling). */
const FIXED = (() => {
  const m = /^(\d+):(\d+)$/.exec(process.env.CPS_FIXED ?? "")
  return m === null ? undefined : { rate: Number(m[1]), seconds: Number(m[2]) }
})()
const KEEP = process.env.CPS_KEEP === "1"
const ALL_SUBJECTS = ["suite-1core", "kamailio-1core", "suite-2cores"] as const
type SubjectKey = (typeof ALL_SUBJECTS)[number]
const SUBJECTS: ReadonlyArray<SubjectKey> = (() => {
  const text = process.env.CPS_SUBJECTS
  if (text === undefined || text === "") return ALL_SUBJECTS
  const picked = text.split(",").map((s) => s.trim())
  for (const p of picked)
    if (!(ALL_SUBJECTS as ReadonlyArray<string>).includes(p))
      throw new Error(`CPS_SUBJECTS: unknown "${p}" (${ALL_SUBJECTS.join(", ")})`)
  return picked as ReadonlyArray<SubjectKey>
})()
/** Everything this bench starts dies by this bound even if the bench itself is killed. */
const LIFETIME_S = 40 * 60
const SEARCH: RateSearchConfig = {
  start: 100,
  factor: 2,
  ceiling: 6400,
  floor: 10,
  precision: 0.05,
  minGap: 20,
  granularity: 10,
  maxTrials: 12,
}
/**
 * The media anchors' port range, below the kernel's ephemeral ports (32768-60999) and apart from
 * `npm run bench:relay` (20000-59999). Both SIPp scenarios check that the SDP they receive carries a
 * port in it: a call whose media is not anchored fails. 10,000 ports are 2,500 relay sessions of 4
 * ports, enough for 2,000 calls/s held 1 s.
 */
const MEDIA_PORTS = [10000, 19999] as const
/** The hold time of bench/scenarios/uac-cps.xml, and the bound on a 200 or a BYE's 200. */
const HOLD_MS = 1000
const ANSWER_TIMEOUT_MS = 8000

const log = (text: string) => process.stderr.write(`[bench:cps] ${text}\n`)

// ---------------------------------------------------------------------------------------------------
// Processes: pinned, bounded, tracked, stopped on every way out.

interface Child {
  readonly name: string
  readonly proc: ChildProcess
  readonly logFile: string
  readonly exited: Promise<number | null>
}

const children = new Set<Child>()

const killTree = (child: Child, signal: NodeJS.Signals) => {
  // `timeout` puts the command in its own process group: signal the whole group (Kamailio forks).
  try {
    if (child.proc.pid !== undefined) process.kill(-child.proc.pid, signal)
  } catch {
    // already gone
  }
}

process.once("exit", () => {
  for (const child of children) killTree(child, "SIGKILL")
})
for (const signal of ["SIGINT", "SIGTERM"] as const)
  process.once(signal, () => {
    log(`${signal}: stopping everything`)
    for (const child of children) killTree(child, "SIGTERM")
    setTimeout(() => process.exit(130), 1500).unref()
  })

let runDir = ""

const start = (
  name: string,
  cpus: string,
  command: string,
  args: ReadonlyArray<string>,
  env: Readonly<Record<string, string>> = {},
): Child => {
  const logFile = join(runDir, `${name}.log`)
  const fd = openSync(logFile, "a")
  const proc = spawn("timeout", ["-k", "3", String(LIFETIME_S), "taskset", "-c", cpus, command, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", fd, fd],
    cwd: runDir,
    detached: true,
  })
  closeSync(fd)
  const exited = new Promise<number | null>((resolve) => proc.once("exit", (code) => resolve(code)))
  const child: Child = { name, proc, logFile, exited }
  children.add(child)
  void exited.then(() => children.delete(child))
  return child
}

const stop = async (child: Child, graceMs = 5000): Promise<void> => {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return
  killTree(child, "SIGTERM")
  const timer = setTimeout(() => killTree(child, "SIGKILL"), graceMs)
  await child.exited
  clearTimeout(timer)
}

const logText = (child: Child): string => {
  try {
    return readFileSync(child.logFile, "latin1")
  } catch {
    return ""
  }
}
const logTail = (child: Child, chars = 3000): string => logText(child).slice(-chars)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const waitForLog = async (child: Child, text: string | RegExp, timeoutMs = 30_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const seen = logText(child)
    if (typeof text === "string" ? seen.includes(text) : text.test(seen)) return
    if (child.proc.exitCode !== null || Date.now() > deadline)
      throw new Error(
        `${child.name} did not become ready (waiting for ${String(text)}):\n${seen.slice(-3000)}`,
      )
    await sleep(50)
  }
}

// ---------------------------------------------------------------------------------------------------
// CPU accounting: /proc/<pid>/stat utime + stime of every process under a child (all its threads).

const CLOCK_TICK = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100

const parentOf = (): Map<number, Array<number>> => {
  const kids = new Map<number, Array<number>>()
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "latin1")
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1])
      const list = kids.get(ppid) ?? []
      list.push(Number(entry))
      kids.set(ppid, list)
    } catch {
      // gone
    }
  }
  return kids
}

const treePids = (root: number): Array<number> => {
  const kids = parentOf()
  const out: Array<number> = []
  const walk = (pid: number) => {
    out.push(pid)
    for (const k of kids.get(pid) ?? []) walk(k)
  }
  walk(root)
  return out
}

/** CPU seconds used so far by a child and all its descendants. */
const cpuSeconds = (child: Child): number => {
  if (child.proc.pid === undefined) return 0
  let ticks = 0
  for (const pid of treePids(child.proc.pid)) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1")
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
      ticks += Number(fields[11]) + Number(fields[12])
    } catch {
      // gone
    }
  }
  return ticks / CLOCK_TICK
}

// ---------------------------------------------------------------------------------------------------
// Subjects

interface RunningSubject {
  readonly label: string
  /** Where callers send INVITEs (UDP on 127.0.0.1). */
  readonly sipPort: number
  /** The processes whose CPU counts, by name. */
  readonly parts: ReadonlyArray<Child>
  /** NATS messages in so far (the suite's bus, from nats-server's monitoring endpoint). */
  readonly busMessages?: () => Promise<number>
  readonly natsUrl?: string
  readonly stop: () => Promise<void>
}

const startSuite = async (cpus: string, calleePort: number): Promise<RunningSubject> => {
  const natsPort = await freeTcpPort()
  const monitorPort = await freeTcpPort()
  const sipPort = await freeSipPort()
  const natsDir = join(runDir, `nats-${natsPort}`)
  mkdirSync(natsDir, { recursive: true })
  const parts: Array<Child> = []
  const stopAll = async () => {
    for (const c of [...parts].reverse()) await stop(c)
  }
  try {
    const natsBin =
      ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server"
    const nats = start(`nats-${cpus}`, cpus, natsBin, [
      "-a",
      "127.0.0.1",
      "-p",
      String(natsPort),
      "-m",
      String(monitorPort),
      "-js",
      "-sd",
      natsDir,
    ])
    parts.push(nats)
    await waitForLog(nats, "Server is ready")
    const natsUrl = `nats://127.0.0.1:${natsPort}`
    const authFile = join(runDir, "auth.yaml")
    writeFileSync(
      authFile,
      [
        "# bench:cps: the caller (SIPp on 127.0.0.1) is the trusted trunk 'local'.",
        "domains: [{ name: 127.0.0.1, realm: bench }]",
        "users: []",
        "unknownSources: challenge",
        "trunks: [{ name: local, sources: [127.0.0.1/32] }]",
        "",
      ].join("\n"),
    )
    const service = async (name: string, ready: string, env: Record<string, string>) => {
      const profDir = join(runDir, `prof-${name}-${cpus}`)
      const args = PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`] : []
      const child = start(
        `${name}-${cpus}`,
        cpus,
        process.execPath,
        [...args, join(services, name, "dist", "main.js")],
        {
          NATS_URL: natsUrl,
          ...env,
        },
      )
      parts.push(child)
      await waitForLog(child, ready)
    }
    await service("auth", "auth ready", {
      B2BUA_AUTH_CONFIG: authFile,
      B2BUA_NONCE_KEY: "bench-cps-nonce-key-not-a-secret",
      B2BUA_AUTH_INSTANCE: "authbench",
      B2BUA_AUTH_SIP_ADDRESS: `127.0.0.1:${sipPort}`,
    })
    await service("rtp-relay", "rtp relay ready", {
      B2BUA_RELAY_ID: "relaybench",
      B2BUA_RELAY_ADDRESS: "127.0.0.1",
      B2BUA_RTP_PORTS: MEDIA_PORTS.join("-"),
      // Ports of an ended session are held back 10 s by default; at a thousand calls a second that
      // would need more ports than the range has. rtpengine runs with --delete-delay=0 likewise.
      B2BUA_RELAY_QUARANTINE_MS: "200",
    })
    await service("sdp-negotiator", "sdp-negotiator ready", { B2BUA_SDP_INSTANCE: "sdpbench" })
    await service("call-control", "call-control ready", {
      B2BUA_ROUTE_TARGET: `127.0.0.1:${calleePort}`,
      B2BUA_CC_INSTANCE: "ccbench",
      B2BUA_MEDIA: "relay",
      B2BUA_AUTH: "service",
      B2BUA_SIP_PORT: String(sipPort),
    })
    await service("sip-edge", "sip-edge listening", {
      B2BUA_SIP_PORT: String(sipPort),
      B2BUA_SIP_LISTEN: `udp:127.0.0.1:${sipPort},tcp:127.0.0.1:${sipPort}`,
    })
    // The relay announces itself every second; the negotiator anchors calls once it has heard one.
    await sleep(1500)
  } catch (e) {
    await stopAll()
    throw e
  }
  const busMessages = async () => {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/varz`)
    const varz = (await res.json()) as { readonly in_msgs?: number }
    return varz.in_msgs ?? 0
  }
  return {
    label: `suite (CPU ${cpus})`,
    sipPort,
    parts,
    busMessages,
    natsUrl: `nats://127.0.0.1:${natsPort}`,
    stop: stopAll,
  }
}

/** Waits until rtpengine answers an ng `ping` (bencoded: "<cookie> d7:command4:pinge" -> "pong"). */
const ngPing = async (port: number, rtpengine: Child): Promise<void> => {
  const socket = createSocket("udp4")
  try {
    const pong = new Promise<void>((resolve) =>
      socket.on("message", (msg) => {
        if (msg.toString("latin1").includes("pong")) resolve()
      }),
    )
    const deadline = Date.now() + 15_000
    for (;;) {
      socket.send("bench d7:command4:pinge", port, "127.0.0.1")
      const answered = await Promise.race([pong.then(() => true), sleep(200).then(() => false)])
      if (answered) return
      if (rtpengine.proc.exitCode !== null || Date.now() > deadline)
        throw new Error(`rtpengine did not answer an ng ping on ${port}:\n${logTail(rtpengine)}`)
    }
  } finally {
    socket.close()
  }
}

const startKamailio = async (cpus: string, calleePort: number): Promise<RunningSubject> => {
  const sipPort = await freeUdpPort()
  const ngPort = await freeUdpPort()
  const kamDir = join(runDir, `kamailio-${sipPort}`)
  mkdirSync(kamDir, { recursive: true })
  const cfg = readFileSync(join(here, "kamailio.cfg"), "utf8")
    .replaceAll("@LISTEN_PORT@", String(sipPort))
    .replaceAll("@CALLEE_PORT@", String(calleePort))
    .replaceAll("@NG_PORT@", String(ngPort))
    .replaceAll("@CHILDREN@", "4")
  const cfgFile = join(kamDir, "kamailio.cfg")
  writeFileSync(cfgFile, cfg)
  const parts: Array<Child> = []
  const stopAll = async () => {
    for (const c of [...parts].reverse()) await stop(c)
  }
  try {
    const rtpengine = start(`rtpengine-${cpus}`, cpus, "rtpengine", [
      "--config-file=none",
      "--foreground",
      "--log-stderr",
      "--log-level=5",
      "--interface=127.0.0.1",
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${MEDIA_PORTS[0]}`,
      `--port-max=${MEDIA_PORTS[1]}`,
      "--table=-1",
      "--delete-delay=0",
      "--timeout=60",
    ])
    parts.push(rtpengine)
    await ngPing(ngPort, rtpengine)
    const kamailio = start(`kamailio-${cpus}`, cpus, "kamailio", [
      "-DD",
      "-E",
      "-f",
      cfgFile,
      "-Y",
      kamDir,
      "-m",
      "512",
      "-M",
      "32",
    ])
    parts.push(kamailio)
    await waitForLog(kamailio, /Listening on/)
    await sleep(500)
    if (kamailio.proc.exitCode !== null) throw new Error(`kamailio exited:\n${logTail(kamailio)}`)
  } catch (e) {
    await stopAll()
    throw e
  }
  return { label: `Kamailio + rtpengine (CPU ${cpus})`, sipPort, parts, stop: stopAll }
}

// ---------------------------------------------------------------------------------------------------
// One trial: SIPp caller at a rate, INVITEs captured.

interface TrialResult {
  readonly rate: number
  readonly seconds: number
  readonly calls: number
  readonly successful: number
  readonly failed: number
  readonly retransmissions: number
  readonly offeredCps: number | undefined
  readonly p50Us: number | undefined
  readonly p99Us: number | undefined
  readonly paired: number
  readonly captureDropped: number
  readonly cpuByPart: ReadonlyArray<readonly [string, number]>
  /** NATS messages published per successful call (the suite only). */
  readonly busMessagesPerCall: number | undefined
  /** CPU per successful call, µs, less the subject's idle use over the same time. */
  readonly netCpuUsPerCall: number
  readonly pass: boolean
  readonly why: string
}

const readStats = (file: string): Record<string, string> => {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n")
    const header = lines[0]?.split(";") ?? []
    const last = lines[lines.length - 1]?.split(";") ?? []
    return Object.fromEntries(header.map((name, i) => [name, last[i] ?? ""]))
  } catch {
    return {}
  }
}

let trialNo = 0

const trial = async (
  subject: RunningSubject,
  loadCpus: string,
  calleePort: number,
  rate: number,
  seconds: number,
  idleShare: number,
): Promise<TrialResult> => {
  trialNo++
  const tag = `t${String(trialNo).padStart(2, "0")}-${rate}`
  const pcap = join(runDir, `${tag}.pcap`)
  const filter = `udp and (dst port ${subject.sipPort} or dst port ${calleePort}) and udp[8:4] = 0x494e5649`
  const capture = start(`tcpdump-${tag}`, loadCpus, "tcpdump", [
    "-i",
    "lo",
    "-n",
    "-p",
    "-s",
    "200",
    "-B",
    "16384",
    "-w",
    pcap,
    filter,
  ])
  await waitForLog(capture, "listening on", 10_000)
  const calls = rate * seconds
  const statsFile = join(runDir, `${tag}-stats.csv`)
  const cpuBefore = subject.parts.map((p) => cpuSeconds(p))
  const windowFrom = Date.now()
  const busBefore = await subject.busMessages?.()
  const callerPort = await freeUdpPort()
  const caller = start(`uac-${tag}`, loadCpus, "sipp", [
    `127.0.0.1:${subject.sipPort}`,
    "-sf",
    join(scenarios, "uac-cps.xml"),
    "-i",
    "127.0.0.1",
    "-p",
    String(callerPort),
    "-mp",
    String(await freeUdpPort()),
    "-t",
    "u1",
    "-s",
    // A prefix of fixed width per trial: a late B-leg INVITE of an earlier trial never pairs with
    // this trial's A-leg INVITE of the same call number.
    String(1000 + trialNo),
    "-m",
    String(calls),
    "-r",
    String(rate),
    "-rp",
    "1000",
    "-buff_size",
    "4194304",
    "-nostdin",
    "-trace_stat",
    "-stf",
    statsFile,
    "-fd",
    "1",
    "-timeout",
    `${seconds + (HOLD_MS + 2 * ANSWER_TIMEOUT_MS) / 1000 + 10}s`,
    "-timeout_error",
  ])
  const exitCode = await caller.exited
  const cpuAfter = subject.parts.map((p) => cpuSeconds(p))
  const windowS = (Date.now() - windowFrom) / 1000
  const cpuUsed = cpuAfter.reduce((sum, c, i) => sum + c - (cpuBefore[i] ?? 0), 0)
  const busAfter = await subject.busMessages?.()
  await sleep(200)
  await stop(capture)
  const dropped = Number(/(\d+) packets? dropped by kernel/.exec(logText(capture))?.[1] ?? 0)
  const stats = readStats(statsFile)
  const successful = Number(stats["SuccessfulCall(C)"] ?? 0)
  const failed = Number(stats["FailedCall(C)"] ?? 0)
  const retransmissions = Number(stats["Retransmissions(C)"] ?? 0)
  let delays: ReturnType<typeof inviteDelays> = {
    delaysUs: [],
    aLegCalls: 0,
    bLegCalls: 0,
    offeredCps: undefined,
  }
  try {
    delays = inviteDelays(readUdpDatagrams(readFileSync(pcap)), { aLeg: subject.sipPort, bLeg: calleePort })
  } catch (e) {
    log(`capture ${pcap} unreadable: ${String(e)}`)
  }
  if (!KEEP) rmSync(pcap, { force: true })
  const offered = delays.offeredCps
  const why =
    exitCode !== 0 && failed === 0
      ? `SIPp exited with ${exitCode}: ${logTail(caller, 400).replace(/\s+/g, " ")}`
      : failed > 0
        ? `${failed} failed calls`
        : successful !== calls
          ? `${successful} of ${calls} calls completed`
          : offered !== undefined && offered < rate * 0.95
            ? `SIPp offered only ${offered.toFixed(0)} calls/s`
            : ""
  return {
    rate,
    seconds,
    calls,
    successful,
    failed,
    retransmissions,
    offeredCps: offered,
    p50Us: percentile(delays.delaysUs, 50),
    p99Us: percentile(delays.delaysUs, 99),
    paired: delays.delaysUs.length,
    captureDropped: dropped,
    busMessagesPerCall:
      busBefore === undefined || busAfter === undefined || successful === 0
        ? undefined
        : (busAfter - busBefore) / successful,
    cpuByPart: subject.parts.map(
      (p, i) => [p.name.replace(/-[0-9,]+$/, ""), (cpuAfter[i] ?? 0) - (cpuBefore[i] ?? 0)] as const,
    ),
    netCpuUsPerCall: (Math.max(0, cpuUsed - idleShare * windowS) * 1e6) / Math.max(1, successful),
    pass: why === "",
    why,
  }
}

/** Each part's CPU share (of one core) over a window with no calls. */
const idleCpu = async (subject: RunningSubject, windowMs: number) => {
  const before = subject.parts.map((p) => cpuSeconds(p))
  await sleep(windowMs)
  return subject.parts.map(
    (p, i) =>
      [p.name.replace(/-[0-9,]+$/, ""), (cpuSeconds(p) - (before[i] ?? 0)) / (windowMs / 1000)] as const,
  )
}

/**
 * Waits until the subject is back to its idle CPU use (plus 5 % of a core) for a second, at most 30 s:
 * retransmissions and lingering transactions of an overloaded trial must not spill into the next.
 */
const settle = async (subject: RunningSubject, idleShare: number) => {
  const deadline = Date.now() + 30_000
  for (;;) {
    const before = subject.parts.reduce((s, p) => s + cpuSeconds(p), 0)
    await sleep(1000)
    const used = subject.parts.reduce((s, p) => s + cpuSeconds(p), 0) - before
    if (used < idleShare + 0.05 || Date.now() > deadline) return
  }
}

const ms = (us: number | undefined) => (us === undefined ? "-" : `${(us / 1000).toFixed(2)} ms`)

const describe = (t: TrialResult) => {
  const cpu = t.cpuByPart.reduce((s, [, c]) => s + c, 0)
  return `${t.rate} cps x ${t.seconds} s: ${t.pass ? "pass" : `FAIL (${t.why})`}; ${t.successful}/${t.calls} ok, ${t.retransmissions} retransmissions, offered ${t.offeredCps?.toFixed(0) ?? "-"} cps, INVITE->INVITE p50 ${ms(t.p50Us)} p99 ${ms(t.p99Us)} (${t.paired} pairs${t.captureDropped > 0 ? `, ${t.captureDropped} dropped by the capture` : ""}), CPU ${((cpu * 1e6) / Math.max(1, t.successful)).toFixed(0)} us/call, ${t.netCpuUsPerCall.toFixed(0)} net of idle (${t.cpuByPart.map(([n, c]) => `${n} ${c.toFixed(2)} s`).join(", ")})${t.busMessagesPerCall === undefined ? "" : `, ${t.busMessagesPerCall.toFixed(1)} NATS messages/call`}`
}

interface SubjectResult {
  readonly key: SubjectKey
  readonly label: string
  readonly trials: ReadonlyArray<TrialResult>
  readonly confirmed: TrialResult | undefined
  readonly error?: string
}

interface Bench {
  readonly subject: RunningSubject
  readonly calleePort: number
  readonly idleShare: number
  readonly stop: () => Promise<void>
}

/**
 * Counts messages on the suite's bus by subject, ids folded (`b2b.v1.cc.call.<x>` → `b2b.v1.cc.call.*`,
 * inboxes → `_INBOX`, JetStream API calls by operation); the returned function stops and reports.
 */
const tallySubjects = async (url: string): Promise<() => Promise<Map<string, number>>> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(busLayer({ servers: url, name: "cps-tally" }), scope),
  )
  const bus = Context.get(context, Bus)
  const counts = new Map<string, number>()
  const sub = bus.connection.subscribe(">")
  const fold = (subject: string): string => {
    if (subject.startsWith("_INBOX.")) return "_INBOX (replies)"
    if (subject.startsWith("$JS.API.")) return subject.split(".").slice(0, 4).join(".")
    if (subject.startsWith("$JS.ACK.")) return "$JS.ACK"
    if (subject.startsWith("$KV.")) return subject.split(".").slice(0, 2).join(".")
    return subject
      .split(".")
      .slice(0, 4)
      .map((part, i) => (i === 3 && /[0-9a-f]{8,}|\d/.test(part) ? "*" : part))
      .join(".")
  }
  const done = (async () => {
    for await (const m of sub) counts.set(fold(m.subject), (counts.get(fold(m.subject)) ?? 0) + 1)
  })()
  return async () => {
    sub.unsubscribe()
    await done.catch(() => undefined)
    await Effect.runPromise(Scope.close(scope, Exit.void))
    return counts
  }
}

/**
 * A fresh SIPp callee and subject, warmed up, idle CPU measured: a warm-up that must pass (a second
 * chance once the JIT has seen the path) shows the path works and media is anchored.
 */
const freshBench = async (key: SubjectKey, subjectCpus: string, loadCpus: string): Promise<Bench> => {
  const calleePort = await freeUdpPort()
  const callee = start(`uas-${key}`, loadCpus, "sipp", [
    "-sf",
    join(scenarios, "uas-cps.xml"),
    "-i",
    "127.0.0.1",
    "-p",
    String(calleePort),
    "-mp",
    String(await freeUdpPort()),
    "-t",
    "u1",
    "-buff_size",
    "4194304",
    "-nostdin",
    "-timeout",
    `${LIFETIME_S}s`,
  ])
  let subject: RunningSubject | undefined
  const stopBoth = async () => {
    await subject?.stop()
    await stop(callee)
  }
  try {
    await sleep(300)
    if (callee.proc.exitCode !== null) throw new Error(`SIPp callee exited:\n${logTail(callee)}`)
    subject =
      key === "kamailio-1core"
        ? await startKamailio(subjectCpus, calleePort)
        : await startSuite(subjectCpus, calleePort)
    log(`${subject.label}: started (callee on ${calleePort}, load on CPU ${loadCpus})`)
    for (let attempt = 1; ; attempt++) {
      const warm = await trial(subject, loadCpus, calleePort, 5, 4, 0)
      log(`${subject.label}: warm-up ${describe(warm)}`)
      await sleep(2000)
      if (warm.pass || FIXED !== undefined) break
      if (attempt === 2) throw new Error(`warm-up failed: ${warm.why}`)
    }
    // Idle use once start-up and warm-up are over (the relay polls; timers of lingering calls).
    const idle = await idleCpu(subject, 3000)
    const idleShare = idle.reduce((s, [, c]) => s + c, 0)
    log(`${subject.label}: idle CPU ${idle.map(([n, c]) => `${n} ${(c * 100).toFixed(1)} %`).join(", ")}`)
    return { subject, calleePort, idleShare, stop: stopBoth }
  } catch (e) {
    for (const p of subject?.parts ?? []) log(`--- ${p.name} log tail ---\n${logTail(p, 1500)}`)
    await stopBoth()
    throw e
  }
}

/**
 * The search and the confirmation for one configuration. A system pushed past its capacity may not
 * recover by itself within the settle time (a backlog of retransmissions): after a failed trial the
 * next one gets a fresh callee and subject, so every trial starts from the same state.
 */
const measure = async (key: SubjectKey, subjectCpus: string, loadCpus: string): Promise<SubjectResult> => {
  const trials: Array<TrialResult> = []
  let bench: Bench | undefined
  let label: string = key
  const run = async (rate: number, seconds: number, what: string): Promise<TrialResult> => {
    bench ??= await freshBench(key, subjectCpus, loadCpus)
    label = bench.subject.label
    const t = await trial(bench.subject, loadCpus, bench.calleePort, rate, seconds, bench.idleShare)
    trials.push(t)
    log(`${label}: ${what}${describe(t)}`)
    if (t.pass) await settle(bench.subject, bench.idleShare)
    else {
      await bench.stop()
      bench = undefined
    }
    return t
  }
  try {
    if (FIXED !== undefined) {
      bench = await freshBench(key, subjectCpus, loadCpus)
      const from = process.hrtime.bigint() / 1000n
      const tally =
        TALLY && bench.subject.natsUrl !== undefined ? await tallySubjects(bench.subject.natsUrl) : undefined
      const t = await run(FIXED.rate, FIXED.seconds, "fixed ")
      if (tally !== undefined) {
        const counts = await tally()
        log(
          `NATS messages per call (attempted) by subject: ${[...counts]
            .sort((a, b) => b[1] - a[1])
            .map(([k, n]) => `${k} ${(n / Math.max(1, t.calls)).toFixed(2)}`)
            .join(", ")}`,
        )
      }
      // The trial's window on the monotonic clock V8's profiles use (µs), to cut startup out of them.
      writeFileSync(
        join(runDir, "window.json"),
        JSON.stringify({ fromUs: Number(from), toUs: Number(process.hrtime.bigint() / 1000n) }),
      )
      return { key, label, trials, confirmed: t.pass ? t : undefined }
    }
    let search = initialSearch
    for (let rate = nextRate(SEARCH, search); rate !== undefined; rate = nextRate(SEARCH, search)) {
      const t = await run(rate, STEP_S, "")
      search = recordTrial(search, { rate, pass: t.pass })
    }
    let rate = search.passed
    let confirmed: TrialResult | undefined
    for (let attempt = 0; rate !== undefined && attempt < 4; attempt++) {
      const t = await run(rate, CONFIRM_S, "confirmation ")
      if (t.pass) {
        confirmed = t
        break
      }
      rate = Math.floor((rate * 0.85) / 10) * 10
      if (rate < SEARCH.floor) break
    }
    return { key, label, trials, confirmed }
  } catch (e) {
    const text = e instanceof Error ? e.message : String(e)
    log(`${key}: ${text}`)
    return { key, label, trials, confirmed: undefined, error: text.split("\n")[0] ?? text }
  } finally {
    await bench?.stop()
  }
}

// ---------------------------------------------------------------------------------------------------

const requireTools = () => {
  const tools: ReadonlyArray<readonly [string, string]> = [
    ["sipp", "sip-tester"],
    ["tcpdump", "tcpdump"],
    ["taskset", "util-linux"],
    ["timeout", "coreutils"],
    ["rtpengine", "rtpengine-daemon"],
    ["kamailio", "kamailio"],
    ["nats-server", "nats-server"],
  ]
  const missing = tools.filter(([cmd]) => {
    try {
      execFileSync("sh", ["-c", `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: "ignore" })
      return false
    } catch {
      return true
    }
  })
  if (missing.length > 0)
    throw new Error(
      `missing: ${missing.map(([c, p]) => `${c} (Debian package ${p})`).join(", ")}; bash scripts/bootstrap.sh installs them`,
    )
  for (const name of ["auth", "rtp-relay", "sdp-negotiator", "call-control", "sip-edge"])
    if (!existsSync(join(services, name, "dist", "main.js")))
      throw new Error(`services/${name} is not built (npm run build)`)
  const cpus = Number(execFileSync("nproc").toString().trim())
  if (cpus < 2)
    throw new Error(`needs 2 CPUs (the load on one, the subject on the other); this machine has ${cpus}`)
}

const main = async () => {
  requireTools()
  runDir = mkdtempSync(join(tmpdir(), "b2bua-cps-"))
  const began = Date.now()
  const loadBefore = loadavg()
  log(
    `run folder ${runDir}; steps ${STEP_S} s, confirmation ${CONFIRM_S} s; load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")}`,
  )
  const results: Array<SubjectResult> = []
  for (const key of SUBJECTS) {
    const [subjectCpus, loadCpus] = key === "suite-2cores" ? ["0,1", "0,1"] : ["1", "0"]
    results.push(await measure(key, subjectCpus, loadCpus))
  }
  const loadAfter = loadavg()
  const minutes = (Date.now() - began) / 60_000

  const line = (r: SubjectResult) => {
    const c = r.confirmed
    if (c === undefined) {
      const searched = r.trials.filter((t) => t.pass && t.seconds === STEP_S).map((t) => t.rate)
      const confirmTried = r.trials.filter((t) => t.seconds === CONFIRM_S).map((t) => t.rate)
      return `${r.label.padEnd(38)} not confirmed${r.error === undefined ? "" : ` (${r.error})`}: ${
        searched.length > 0 ? `${Math.max(...searched)} CPS passed a ${STEP_S} s trial` : "no trial passed"
      }${confirmTried.length > 0 ? `; ${CONFIRM_S} s runs failed at ${confirmTried.join(", ")} CPS` : ""}`
    }
    const cpu = c.cpuByPart.reduce((s, [, x]) => s + x, 0)
    return `${r.label.padEnd(38)} ${String(c.rate).padStart(6)} CPS   INVITE->INVITE p50 ${ms(c.p50Us)}, p99 ${ms(c.p99Us)}   CPU ${((cpu * 1e6) / c.successful).toFixed(0)} us/call (${c.netCpuUsPerCall.toFixed(0)} net of idle)`
  }
  const out: Array<string> = []
  out.push("")
  out.push(
    `bench:cps — highest call rate with 0 failed calls over ${CONFIRM_S} s (INVITE+SDP, 200, ACK, ${HOLD_MS / 1000} s, BYE; media anchored)`,
  )
  for (const r of results) out.push(line(r))
  const by = (k: SubjectKey) => results.find((r) => r.key === k)?.confirmed?.rate
  const suite1 = by("suite-1core")
  const kam1 = by("kamailio-1core")
  const suite2 = by("suite-2cores")
  if (suite1 !== undefined && kam1 !== undefined)
    out.push(`ratio suite / Kamailio + rtpengine on one core: ${(suite1 / kam1).toFixed(2)} (target >= 1)`)
  if (suite2 !== undefined) out.push(`suite on both cores: ${suite2} CPS (target >= 1000)`)
  for (const r of results) {
    const c = r.confirmed
    if (c === undefined) continue
    out.push(
      `  ${r.label}: CPU per call by process: ${c.cpuByPart.map(([n, s]) => `${n} ${((s * 1e6) / c.successful).toFixed(0)} us`).join(", ")}`,
    )
  }
  out.push(
    `load average ${loadBefore.map((l) => l.toFixed(2)).join(" ")} before, ${loadAfter.map((l) => l.toFixed(2)).join(" ")} after; ${minutes.toFixed(1)} min; the machine may be shared: figures are noisy`,
  )
  process.stdout.write(`${out.join("\n")}\n`)
  writeFileSync(join(runDir, "results.json"), JSON.stringify({ loadBefore, loadAfter, results }, null, 2))
  if (!KEEP && !PROFILE) rmSync(runDir, { recursive: true, force: true })
  else log(`kept ${runDir}`)
  process.exit(results.some((r) => r.error !== undefined) ? 1 : 0)
}

main().catch((e) => {
  log(e instanceof Error ? (e.stack ?? e.message) : String(e))
  process.exit(1)
})
