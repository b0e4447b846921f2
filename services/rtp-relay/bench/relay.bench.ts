/**
 * `npm run bench:relay`: how many concurrent G.711 calls one core of relay carries, for this relay
 * (the service process: NATS control plane + native plane), rtpengine (Debian's rtpengine-daemon,
 * userspace, kernel table off, driven by its ng protocol) and a naive Node dgram relay, in one run.
 *
 * Each relay runs pinned to CPU 1 (taskset), the C load generator (bench/loadgen.c) to CPU 0. A trial
 * of N calls: N sessions created, 1 s warm-up, 3 s measured, 0.3 s drain. It passes with loss < 0.1 %
 * and p99 one-way latency < 5 ms (a failing trial runs once more). The ladder doubles N from 400 until
 * a trial fails, then bisects.
 * The relay's CPU time (all its threads, /proc/<pid>/task/<tid>/schedstat, read by the generator at
 * the window's edges) over the measured window divided by the packets it forwarded gives µs per
 * packet; the 400-call trial is the fixed point.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import { createSocket, type Socket } from "node:dgram"
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { createInterface } from "node:readline"
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import {
  decodeCreateReply,
  encodeRelayPayload,
  InstanceId,
  RelayContractError,
  relaySubjects,
} from "@b2bua/contracts"
import { freeUdpPort, type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { type Bencoded, bdecode, bencode } from "./Bencode.js"

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, "..")
const RELAY_CPU = "1"
const GEN_CPU = "0"
/**
 * Knobs for a person profiling one relay (the defaults are the full comparison):
 *   RELAY_BENCH_SUBJECTS=ours,rtpengine,node  which relays to measure, in this order
 *   RELAY_BENCH_CALLS=700,1400                run exactly these trials instead of the ladder
 *   RELAY_BENCH_MEASURE_MS=3000               length of the measured window of a trial
 *   RELAY_BENCH_PERF=/tmp/relay.perf          `perf record -g` the relay over each measured window
 *                                             (the file gets the relay's key and the calls appended)
 */
const SUBJECTS = (process.env.RELAY_BENCH_SUBJECTS ?? "ours,rtpengine,node").split(",").map((s) => s.trim())
const ONLY_CALLS = (process.env.RELAY_BENCH_CALLS ?? "")
  .split(",")
  .filter((s) => s.trim() !== "")
  .map((s) => Number(s))
const WARMUP_MS = 1000
const MEASURE_MS = Number(process.env.RELAY_BENCH_MEASURE_MS ?? 3000)
const PERF_FILE = process.env.RELAY_BENCH_PERF
const DRAIN_MS = 300
const FIXED_CALLS = 400
const MAX_CALLS = 4000
const LOSS_LIMIT = 0.001
const P99_LIMIT_US = 5000
const BUDGET_MS = 280_000
/** Relay media ports (rtpengine's too): 4,000 calls need 16,000 ports, RTCP included. */
const RELAY_PORTS = [20000, 49999] as const
const startedAt = Date.now()

interface GenResult {
  readonly calls: number
  readonly sent: number
  readonly received: number
  readonly loss: number
  readonly p50Us: number
  readonly p99Us: number
  readonly maxLagUs: number
  /** Share of its core the generator used over the measured window. */
  readonly generatorCpu: number
  /** The relay's CPU time over the measured window (all threads; its rtp-fwd thread), read by the generator. */
  readonly relayCpuNs: number
  readonly forwarderCpuNs: number
}

interface Trial extends GenResult {
  readonly cpuUsPerPacket: number
  readonly pass: boolean
  /** Share of one core the relay used over the measured window. */
  readonly relayCpuShare: number
  /** The same for the relay's thread named rtp-fwd (this relay's forwarding thread), 0 for others. */
  readonly forwarderCpuShare: number
  /** System calls of all the relay's threads per forwarded packet (perf), undefined without perf. */
  readonly syscallsPerPacket: number | undefined
  /**
   * The generator could not do its part while the relay still had CPU to spare (< 85 % of its core):
   * it used more than 90 % of its own core, or fell more than 10 ms behind its schedule. Then the
   * generator, not the relay, was the limit. (An overloaded relay also makes the generator late, by
   * returning packets in bursts; then the relay is busy.)
   */
  readonly generatorLimited: boolean
}

interface Subject {
  readonly name: string
  readonly pid: number
  readonly create: (calls: number, genPort: number) => Promise<ReadonlyArray<readonly [number, number]>>
  readonly destroy: () => Promise<void>
  readonly stop: () => Promise<void>
}

const log = (s: string) => process.stderr.write(`${s}\n`)

/**
 * Priorities. This VM is shared with other work, and at ordinary priority the scheduler leaves a woken
 * process waiting up to a tick (10 ms here): that, not the relays, would set the p99. So the generator
 * runs SCHED_FIFO from its start (one thread that sleeps between batches), and each relay, once it is
 * up, is moved with all its threads to SCHED_RR (round-robin, so helper threads pinned to the same core
 * cannot starve each other). The kernel still keeps 5 % of each second for everything else.
 */
const realtime = (() => {
  try {
    execFileSync("chrt", ["-f", "50", "true"])
    return true
  } catch {
    return false
  }
})()
const pinned = (cpu: string, cmd: string, args: ReadonlyArray<string>): [string, Array<string>] => [
  "taskset",
  ["-c", cpu, cmd, ...args],
]
const pinnedRealtime = (cpu: string, cmd: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  realtime ? ["chrt", ["-f", "50", "taskset", "-c", cpu, cmd, ...args]] : pinned(cpu, cmd, args)
/**
 * Moves every thread of a running relay to SCHED_RR 40; a thread named rtp-fwd (this relay's
 * forwarding thread) gets 45, so the JavaScript control plane sharing its core never delays a packet:
 * in production that thread has a core of its own.
 */
const boost = (pid: number): void => {
  if (!realtime) return
  execFileSync("chrt", ["-a", "-r", "-p", "40", String(pid)])
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim()
    if (name === "rtp-fwd") execFileSync("chrt", ["-r", "-p", "45", tid])
  }
}

/**
 * System calls per second of a process (all threads), from the raw_syscalls tracepoint: `perf stat
 * -I 100` from the start of a trial (enabling a tracepoint stalls every CPU for a few ms, so not inside
 * the measured window), counting the whole 100 ms intervals between `mark()` and `stop()` over perf's
 * own clock. Undefined when perf is not installed or not permitted.
 */
const perfWorks = (() => {
  try {
    execFileSync("perf", ["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "true"], { stdio: "ignore" })
    return true
  } catch {
    return false
  }
})()
interface SyscallCounter {
  readonly mark: () => void
  readonly stop: () => Promise<number | undefined>
}
const syscallCounter = (pid: number): SyscallCounter => {
  if (!perfWorks) return { mark: () => undefined, stop: async () => undefined }
  const perf = spawn(
    "perf",
    ["stat", "-x", ",", "-I", "100", "-e", "raw_syscalls:sys_enter", "-p", String(pid)],
    { stdio: ["ignore", "ignore", "pipe"] },
  )
  let count = 0
  let seconds = 0
  let from: readonly [number, number] | undefined
  let to: readonly [number, number] | undefined
  if (perf.stderr !== null) {
    createInterface({ input: perf.stderr }).on("line", (l) => {
      // "<time s>,<count>,,raw_syscalls:sys_enter,<running ns>,<percent>,,"
      const [time, value] = l.split(",")
      const t = Number(time)
      const n = Number(value)
      if (Number.isFinite(t) && Number.isFinite(n) && t > seconds) {
        count += n
        seconds = t
      }
    })
  }
  return {
    mark: () => {
      from = [count, seconds]
    },
    stop: () => {
      to = [count, seconds]
      return new Promise((resolve) => {
        perf.once("exit", () =>
          resolve(
            from !== undefined && to !== undefined && to[1] > from[1]
              ? (to[0] - from[0]) / (to[1] - from[1])
              : undefined,
          ),
        )
        perf.kill("SIGINT")
      })
    },
  }
}

const lines = (child: ChildProcess, onLine: (line: string) => void) => {
  if (child.stdout) createInterface({ input: child.stdout }).on("line", onLine)
  if (child.stderr) createInterface({ input: child.stderr }).on("line", onLine)
}

const waitFor = (child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 60_000) =>
  new Promise<void>((resolve, reject) => {
    const seen: Array<string> = []
    const timer = setTimeout(
      () => reject(new Error(`${what}: not ready within ${timeoutMs} ms; it said: ${seen.join(" | ")}`)),
      timeoutMs,
    )
    lines(child, (l) => {
      if (seen.length < 20) seen.push(l)
      if (pattern.test(l)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once("exit", (code) => reject(new Error(`${what} exited with ${code}: ${seen.join(" | ")}`)))
  })

const stopChild = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000)
    child.once("exit", () => {
      clearTimeout(timer)
      resolve()
    })
    child.kill("SIGTERM")
  })

/** Runs `f` over 0..n-1 with at most `width` in flight. */
const parallel = async <A>(n: number, width: number, f: (i: number) => Promise<A>): Promise<Array<A>> => {
  const out: Array<A> = new Array(n)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(width, n) }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await f(i)
    }),
  )
  return out
}

/**
 * The generator's port: free, and above the kernel's ephemeral range (32768-60999 by default) and
 * every relay's port range, so neither a relay's leg nor the naive relay's `bind(0)` can take it
 * between this choice and the generator's own bind.
 */
const generatorPort = async (): Promise<number> => {
  for (let i = 0; i < 200; i++) {
    const port = 61000 + Math.floor(Math.random() * 4500)
    const free = await new Promise<boolean>((resolve) => {
      const s = createSocket("udp4")
      s.once("error", () => s.close(() => resolve(false)))
      s.bind(port, "127.0.0.1", () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error("no free generator port in 61000-65499")
}

// ---------------------------------------------------------------------------------------------------
// Subjects

const ourRelay = async (nats: NatsServerHandle, bus: typeof Bus.Service): Promise<Subject> => {
  const relayId = InstanceId("bench")
  const child = spawn(...pinned(RELAY_CPU, process.execPath, [join(root, "dist", "main.js")]), {
    env: {
      ...process.env,
      NATS_URL: nats.url,
      B2BUA_RELAY_ID: relayId,
      B2BUA_RTP_PORTS: `${RELAY_PORTS[0]}-${RELAY_PORTS[1]}`,
      B2BUA_RELAY_MAX_SESSIONS: String(MAX_CALLS + 100),
      B2BUA_RELAY_QUARANTINE_MS: "0",
      B2BUA_RELAY_MEDIA_TIMEOUT_MS: "600000",
    },
    stdio: ["ignore", "pipe", "pipe"],
  })
  await waitFor(child, /rtp relay ready/, "rtp-relay")
  let ids: Array<string> = []
  let round = 0
  const request = (subject: string, payload: Parameters<typeof encodeRelayPayload>[0]) =>
    Effect.runPromise(bus.request(subject, encodeRelayPayload(payload), { timeoutMs: 10_000 }))
  return {
    name: "b2bua rtp-relay",
    pid: child.pid ?? -1,
    create: async (calls, genPort) => {
      round++
      const remote = { host: "127.0.0.1", port: genPort }
      return parallel(calls, 64, async (i) => {
        const sessionId = `r${round}-${i}`
        const reply = decodeCreateReply(
          (
            await request(relaySubjects.create(relayId), {
              v: 1,
              sessionId,
              owner: InstanceId("bench"),
              leaseMs: 600_000,
              legs: { a: { remote }, b: { remote } },
            })
          ).data,
        )
        if (reply instanceof RelayContractError || !("ok" in reply))
          throw new Error(`create: ${JSON.stringify(reply)}`)
        ids.push(sessionId)
        return [reply.ok.legs.a.rtpPort, reply.ok.legs.b.rtpPort] as const
      })
    },
    destroy: async () => {
      const all = ids
      ids = []
      await parallel(all.length, 64, (i) =>
        request(relaySubjects.delete(relayId), { v: 1, sessionId: all[i] ?? "" }),
      )
    },
    stop: () => stopChild(child),
  }
}

/** rtpengine's ng protocol over UDP: "<cookie> <bencoded dict>" both ways. */
const ngClient = async (port: number) => {
  const socket: Socket = createSocket("udp4")
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", () => resolve()))
  const pending = new Map<string, (v: Record<string, Bencoded>) => void>()
  let cookie = 0
  socket.on("message", (msg) => {
    const text = msg.toString("latin1")
    const sp = text.indexOf(" ")
    const resolve = pending.get(text.slice(0, sp))
    if (resolve === undefined) return
    pending.delete(text.slice(0, sp))
    resolve(bdecode(text, sp + 1)[0] as Record<string, Bencoded>)
  })
  const call = (body: Record<string, Bencoded>, timeoutMs = 30_000) =>
    new Promise<Record<string, Bencoded>>((resolve, reject) => {
      const c = `c${cookie++}`
      const timer = setTimeout(() => {
        pending.delete(c)
        reject(new Error(`rtpengine ${String(body.command)}: no answer`))
      }, timeoutMs)
      pending.set(c, (v) => {
        clearTimeout(timer)
        resolve(v)
      })
      socket.send(Buffer.from(`${c} ${bencode(body)}`, "latin1"), port, "127.0.0.1")
    })
  return { call, close: () => new Promise<void>((resolve) => socket.close(() => resolve())) }
}

const sdp = (port: number) =>
  [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "a=sendrecv",
    "",
  ].join("\r\n")

const audioPort = (reply: Record<string, Bencoded>): number => {
  const m = /m=audio (\d+)/.exec(String(reply.sdp ?? ""))
  if (reply.result !== "ok" || m === null) throw new Error(`rtpengine: ${JSON.stringify(reply)}`)
  return Number(m[1])
}

const rtpengine = async (): Promise<Subject> => {
  const ngPort = await freeUdpPort()
  const child = spawn(
    ...pinned(RELAY_CPU, "rtpengine", [
      "--config-file=none",
      "--foreground",
      "--log-stderr",
      "--log-level=3",
      "--interface=127.0.0.1",
      `--listen-ng=127.0.0.1:${ngPort}`,
      `--port-min=${RELAY_PORTS[0]}`,
      `--port-max=${RELAY_PORTS[1]}`,
      "--table=-1",
      "--num-threads=1",
      "--timeout=600",
      "--delete-delay=0",
    ]),
    { stdio: ["ignore", "pipe", "pipe"] },
  )
  const ng = await ngClient(ngPort)
  for (let i = 0; ; i++) {
    const pong = await ng.call({ command: "ping" }, 200).catch(() => undefined)
    if (pong?.result === "pong") break
    if (i > 50 || child.exitCode !== null) throw new Error("rtpengine did not answer ping")
  }
  let calls: Array<readonly [string, string]> = []
  let round = 0
  return {
    name: "rtpengine (userspace)",
    pid: child.pid ?? -1,
    create: async (n, genPort) => {
      round++
      return parallel(n, 32, async (i) => {
        const callId = `bench-${round}-${i}`
        const offer = await ng.call({
          command: "offer",
          "call-id": callId,
          "from-tag": "a",
          sdp: sdp(genPort),
        })
        const portB = audioPort(offer)
        const answer = await ng.call({
          command: "answer",
          "call-id": callId,
          "from-tag": "a",
          "to-tag": "b",
          sdp: sdp(genPort),
        })
        calls.push([callId, "a"])
        return [audioPort(answer), portB] as const
      })
    },
    destroy: async () => {
      const all = calls
      calls = []
      // After an overloaded trial rtpengine may drop a command (UDP): a call it keeps ends by its own
      // timeout, the next trial uses new call ids, so the run goes on.
      let unanswered = 0
      await parallel(all.length, 16, (i) =>
        ng
          .call({ command: "delete", "call-id": all[i]?.[0] ?? "", "from-tag": all[i]?.[1] ?? "" }, 5_000)
          .then(
            () => undefined,
            () => {
              unanswered++
            },
          ),
      )
      if (unanswered > 0) console.log(`  (rtpengine left ${unanswered} deletes unanswered)`)
    },
    stop: async () => {
      await ng.close()
      await stopChild(child)
    },
  }
}

const naiveNode = async (): Promise<Subject> => {
  const child = spawn(...pinned(RELAY_CPU, process.execPath, [join(here, "naive-relay.mjs")]), {
    stdio: ["pipe", "pipe", "inherit"],
  })
  const replies: Array<(line: string) => void> = []
  if (child.stdout) createInterface({ input: child.stdout }).on("line", (l) => replies.shift()?.(l))
  const send = (cmd: object) =>
    new Promise<string>((resolve) => {
      replies.push(resolve)
      child.stdin?.write(`${JSON.stringify(cmd)}\n`)
    })
  return {
    name: "naive Node dgram relay",
    pid: child.pid ?? -1,
    create: async (calls, genPort) =>
      (
        JSON.parse(await send({ op: "create", calls, remotePort: genPort })) as {
          ports: Array<[number, number]>
        }
      ).ports,
    destroy: async () => {
      await send({ op: "delete" })
    },
    stop: async () => {
      child.stdin?.end()
      await stopChild(child)
    },
  }
}

// ---------------------------------------------------------------------------------------------------
// Trials

const compileLoadgen = (dir: string): string => {
  const bin = join(dir, "loadgen")
  execFileSync("cc", ["-O2", "-o", bin, join(here, "loadgen.c")], { stdio: "inherit" })
  return bin
}

const trial = async (
  loadgen: string,
  dir: string,
  subject: Subject,
  calls: number,
  countSyscalls = false,
): Promise<Trial> => {
  const genPort = await generatorPort()
  const ports = await subject.create(calls, genPort)
  const file = join(dir, "ports.txt")
  writeFileSync(file, ports.map(([a, b]) => `${a} ${b}`).join("\n"))
  const gen = spawn(
    ...pinnedRealtime(GEN_CPU, loadgen, [
      file,
      String(genPort),
      String(WARMUP_MS),
      String(MEASURE_MS),
      String(DRAIN_MS),
      String(subject.pid),
    ]),
    { stdio: ["ignore", "pipe", "inherit"] },
  )
  const syscalls = countSyscalls ? syscallCounter(subject.pid) : undefined
  let syscallsPerS: Promise<number | undefined> = Promise.resolve(undefined)
  let profiler: ChildProcess | undefined
  let result: GenResult | undefined
  await new Promise<void>((resolve, reject) => {
    if (gen.stdout === null) return reject(new Error("no loadgen output"))
    createInterface({ input: gen.stdout }).on("line", (l) => {
      if (l === "MEASURE_START") {
        syscalls?.mark()
        if (PERF_FILE !== undefined) {
          profiler = spawn(
            "perf",
            [
              "record",
              "-q",
              "-g",
              "-o",
              `${PERF_FILE}.${subject.name.split(" ")[0]}.${calls}`,
              "-p",
              String(subject.pid),
            ],
            { stdio: "ignore" },
          )
        }
      } else if (l === "MEASURE_END") {
        syscallsPerS = syscalls?.stop() ?? syscallsPerS
        profiler?.kill("SIGINT")
      } else if (l.startsWith("{")) result = JSON.parse(l) as GenResult
    })
    gen.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`loadgen exited with ${code}`))))
  })
  const perS = await syscallsPerS
  await subject.destroy()
  if (result === undefined) throw new Error("loadgen printed no result")
  const cpuUsPerPacket = result.sent > 0 ? result.relayCpuNs / 1000 / result.sent : Number.NaN
  const pass = result.loss < LOSS_LIMIT && result.p99Us < P99_LIMIT_US
  const relayCpuShare = result.relayCpuNs / (MEASURE_MS * 1e6)
  const forwarderCpuShare = result.forwarderCpuNs / (MEASURE_MS * 1e6)
  const syscallsPerPacket =
    perS !== undefined && result.sent > 0 ? perS / (result.sent / (MEASURE_MS / 1000)) : undefined
  const generatorLimited = (result.generatorCpu > 0.9 || result.maxLagUs > 10_000) && relayCpuShare < 0.85
  const t: Trial = {
    ...result,
    cpuUsPerPacket,
    pass,
    relayCpuShare,
    forwarderCpuShare,
    syscallsPerPacket,
    generatorLimited,
  }
  log(
    `  ${subject.name}: ${calls} calls → loss ${(t.loss * 100).toFixed(3)} %, p50 ${(t.p50Us / 1000).toFixed(2)} ms, ` +
      `p99 ${(t.p99Us / 1000).toFixed(2)} ms, ${t.cpuUsPerPacket.toFixed(2)} µs/packet, ` +
      `${syscallsPerPacket === undefined ? "" : `${syscallsPerPacket.toFixed(2)} syscalls/packet, `}` +
      `relay CPU ${(t.relayCpuShare * 100).toFixed(0)} %` +
      `${forwarderCpuShare > 0 ? ` (rtp-fwd ${(forwarderCpuShare * 100).toFixed(0)} %)` : ""}, ` +
      `generator CPU ${(t.generatorCpu * 100).toFixed(0)} %, ${(t.maxLagUs / 1000).toFixed(1)} ms behind at worst` +
      `${t.generatorLimited ? " (generator-limited)" : ""} ${t.pass ? "PASS" : "FAIL"}`,
  )
  return t
}

interface Ladder {
  readonly name: string
  readonly maxCalls: number
  readonly limitedByGenerator: boolean
  readonly fixed: Trial | undefined
  readonly trials: ReadonlyArray<Trial>
  /** System calls per forwarded packet at the fixed point, in a trial of its own (perf), if perf works. */
  readonly syscallsPerPacket: number | undefined
}

const ladder = async (loadgen: string, dir: string, subject: Subject, deadline: number): Promise<Ladder> => {
  const l = await search(loadgen, dir, subject, deadline)
  // Counting system calls slows each one a little: a trial of its own, apart from the CPU figures.
  const counted = perfWorks ? await trial(loadgen, dir, subject, FIXED_CALLS, true) : undefined
  return { ...l, syscallsPerPacket: counted?.syscallsPerPacket }
}

const search = async (
  loadgen: string,
  dir: string,
  subject: Subject,
  deadline: number,
): Promise<Omit<Ladder, "syscallsPerPacket">> => {
  const trials: Array<Trial> = []
  // A failing trial runs once more and the better of the two counts: on this shared VM one stall of a
  // few tens of ms (another guest on the host) fails the p99 of a 3 s window. Every relay gets the same.
  const run = async (n: number) => {
    const first = await trial(loadgen, dir, subject, n)
    const t = first.pass ? first : await trial(loadgen, dir, subject, n)
    trials.push(t)
    return t
  }
  if (ONLY_CALLS.length > 0) {
    for (const n of ONLY_CALLS) await run(n)
    const best = trials.filter((t) => t.pass).reduce((m, t) => Math.max(m, t.calls), 0)
    return {
      name: subject.name,
      maxCalls: best,
      limitedByGenerator: trials.some((t) => !t.pass && t.generatorLimited && t.calls > best),
      fixed: trials.find((t) => t.calls === FIXED_CALLS),
      trials,
    }
  }
  const fixed = await run(FIXED_CALLS)
  let good = fixed.pass ? FIXED_CALLS : 0
  let bad = fixed.pass ? 0 : FIXED_CALLS
  // Below the fixed point: halve until a pass.
  while (good === 0 && bad > 50 && Date.now() < deadline) {
    const n = Math.floor(bad / 2)
    if ((await run(n)).pass) good = n
    else bad = n
  }
  // Above: double until a failure.
  while (bad === 0 && good < MAX_CALLS && Date.now() < deadline) {
    const n = Math.min(MAX_CALLS, good * 2)
    if ((await run(n)).pass) good = n
    else bad = n
  }
  // Bisect to within 10 %.
  while (bad > 0 && bad - good > Math.max(50, good * 0.1) && Date.now() < deadline) {
    const n = Math.round((good + bad) / 2 / 50) * 50
    if ((await run(n)).pass) good = n
    else bad = n
  }
  // A failure where the generator could not keep its own schedule is the generator's limit, not the relay's.
  const limitedByGenerator = trials.some((t) => !t.pass && t.generatorLimited && t.calls > good)
  return { name: subject.name, maxCalls: good, limitedByGenerator, fixed, trials }
}

const main = async () => {
  const dir = mkdtempSync(join(tmpdir(), "relay-bench-"))
  const loadgen = compileLoadgen(dir)
  const nats = await startNatsServer()
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(busLayer({ servers: nats.url, name: "relay-bench" }), scope),
  )
  const bus = Context.get(context, Bus)
  const results: Array<Ladder> = []
  const all: Record<string, () => Promise<Subject>> = {
    ours: () => ourRelay(nats, bus),
    rtpengine,
    node: naiveNode,
  }
  const makers = SUBJECTS.map((key) => {
    const make = all[key]
    if (make === undefined)
      throw new Error(`RELAY_BENCH_SUBJECTS: unknown relay ${key} (ours, rtpengine, node)`)
    return [key, make] as const
  })
  const byKey = new Map<string, Ladder>()
  try {
    for (let i = 0; i < makers.length; i++) {
      const [key, make] = makers[i] ?? []
      if (key === undefined || make === undefined) continue
      const subject = await make()
      boost(subject.pid)
      log(
        `${subject.name} (pid ${subject.pid}, CPU ${RELAY_CPU}; generator on CPU ${GEN_CPU}` +
          `${realtime ? "; real-time priority" : ""})`,
      )
      // Share what is left of the budget among the relays still to measure.
      const left = BUDGET_MS - (Date.now() - startedAt)
      const deadline = Date.now() + left / (makers.length - i)
      try {
        const l = await ladder(loadgen, dir, subject, deadline)
        results.push(l)
        byKey.set(key, l)
      } finally {
        await subject.stop()
      }
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await nats.stop()
  }
  const ours = byKey.get("ours")
  const engine = byKey.get("rtpengine")
  const node = byKey.get("node")
  const atBest = (l: Ladder | undefined) => l?.trials.find((t) => t.calls === l.maxCalls)
  const fmt = (l: Ladder | undefined) =>
    l === undefined
      ? ""
      : `${l.name.padEnd(24)} ${String(l.maxCalls).padStart(6)}${l.limitedByGenerator ? "+" : " "} calls ` +
        `${(l.maxCalls * 100).toLocaleString("en").padStart(8)} packets/s  ` +
        `${atBest(l)?.cpuUsPerPacket.toFixed(2).padStart(6)} µs/packet there  ` +
        `${l.fixed?.cpuUsPerPacket.toFixed(2).padStart(6)} µs/packet at ${FIXED_CALLS} calls ` +
        `(${l.fixed?.pass ? "passing" : "failing"}, p99 ${((l.fixed?.p99Us ?? 0) / 1000).toFixed(2)} ms)  ` +
        `${l.syscallsPerPacket === undefined ? "n/a" : l.syscallsPerPacket.toFixed(2)} syscalls/packet`
  console.log("")
  console.log(
    `RTP relay benchmark: G.711 calls (2 legs × 50 packets/s each way, 172 bytes), relay on one core`,
  )
  console.log(`criterion: loss < ${LOSS_LIMIT * 100} % and p99 one-way latency < ${P99_LIMIT_US / 1000} ms`)
  for (const l of results) console.log(fmt(l))
  if (results.some((l) => l.limitedByGenerator)) {
    console.log(
      "+ above this the generator could not keep its schedule: the relay's own limit is at least this",
    )
  }
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a"
  if (ours !== undefined) {
    console.log(
      `calls on one core: ${ratio(ours.maxCalls, engine?.maxCalls)} rtpengine, ${ratio(ours.maxCalls, node?.maxCalls)} naive Node`,
    )
    console.log(
      `CPU per packet at ${FIXED_CALLS} calls: rtpengine uses ${ratio(engine?.fixed?.cpuUsPerPacket, ours.fixed?.cpuUsPerPacket)}, ` +
        `naive Node ${ratio(node?.fixed?.cpuUsPerPacket, ours.fixed?.cpuUsPerPacket)} of ours ` +
        "(a relay failing there batches more and looks cheaper per packet)",
    )
    console.log(
      `CPU per packet at each relay's highest passing load: rtpengine uses ${ratio(atBest(engine)?.cpuUsPerPacket, atBest(ours)?.cpuUsPerPacket)}, ` +
        `naive Node ${ratio(atBest(node)?.cpuUsPerPacket, atBest(ours)?.cpuUsPerPacket)} of ours`,
    )
  }
  console.log(`(${((Date.now() - startedAt) / 1000).toFixed(0)} s)`)
}

await main()
