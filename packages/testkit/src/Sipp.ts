/**
 * SIPp (Debian's sip-tester) as a test peer: bounded runs of a built-in or XML scenario with their
 * result read from SIPp's statistics file, and background UAS processes. Loopback only.
 */
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { freeUdpPort } from "./freePort.js"
import { stopProcess, tail, track } from "./processes.js"

/** The scenarios shipped with the test kit, named by what they expect. */
export const scenarioPath = (name: string): string =>
  fileURLToPath(new URL(`../scenarios/${name}`, import.meta.url))

export interface SippOptions {
  /** A built-in scenario ("uac", "uas", "uac_pcap", ...) or a path to an XML scenario. */
  readonly scenario: string
  /** host:port to call (uac); omitted for a UAS. */
  readonly remote?: string
  readonly localPort?: number
  readonly transport?: "u1" | "t1" | "un" | "tn"
  /** Number of calls before SIPp exits (-m). */
  readonly calls?: number
  /** Calls per second (-r). */
  readonly rate?: number
  /** Simultaneous call limit (-l). */
  readonly limit?: number
  /** Percentage of packets SIPp drops (-lost), to exercise retransmissions. */
  readonly lostPercent?: number
  /** Pause length of the built-in scenarios, ms (-d). */
  readonly pauseMs?: number
  /** SIPp's global timeout, seconds; the run fails with it. */
  readonly timeoutSeconds?: number
  /** Extra -key name value pairs for [name] keywords in scenarios. */
  readonly keys?: Readonly<Record<string, string>>
  readonly extraArgs?: ReadonlyArray<string>
}

export interface SippResult {
  readonly exitCode: number | null
  readonly successfulCalls: number
  readonly failedCalls: number
  readonly createdCalls: number
  readonly stats: Readonly<Record<string, string>>
  readonly stdout: string
  readonly stderr: string
}

const buildArgs = (o: SippOptions, localPort: number, statsFile: string): string[] => {
  const args: string[] = []
  if (o.scenario.endsWith(".xml")) args.push("-sf", o.scenario)
  else args.push("-sn", o.scenario)
  if (o.remote !== undefined) args.push(o.remote)
  args.push(
    "-i",
    "127.0.0.1",
    "-p",
    String(localPort),
    "-nostdin",
    "-trace_stat",
    "-stf",
    statsFile,
    "-fd",
    "1",
  )
  args.push("-t", o.transport ?? "u1")
  if (o.calls !== undefined) args.push("-m", String(o.calls))
  if (o.rate !== undefined) args.push("-r", String(o.rate))
  if (o.limit !== undefined) args.push("-l", String(o.limit))
  if (o.lostPercent !== undefined) args.push("-lost", String(o.lostPercent))
  if (o.pauseMs !== undefined) args.push("-d", String(o.pauseMs))
  args.push("-timeout", `${o.timeoutSeconds ?? 30}s`, "-timeout_error")
  for (const [k, v] of Object.entries(o.keys ?? {})) args.push("-key", k, v)
  args.push(...(o.extraArgs ?? []))
  return args
}

const readStats = (file: string): Record<string, string> => {
  try {
    const lines = readFileSync(file, "utf8").trim().split("\n")
    const header = lines[0]?.split(";") ?? []
    const last = lines[lines.length - 1]?.split(";") ?? []
    const stats: Record<string, string> = {}
    header.forEach((name, i) => {
      if (name !== "") stats[name] = last[i] ?? ""
    })
    return stats
  } catch {
    return {}
  }
}

export interface SippProcess {
  readonly localPort: number
  readonly child: ChildProcess
  /** Resolves when SIPp exits by itself (its call count reached or its timeout). */
  readonly result: () => Promise<SippResult>
  /** Stops SIPp now and returns what it did. */
  readonly stop: () => Promise<SippResult>
}

/** Starts SIPp in the background. */
export const startSipp = async (options: SippOptions): Promise<SippProcess> => {
  const localPort = options.localPort ?? (await freeUdpPort())
  const dir = mkdtempSync(join(tmpdir(), "b2bua-sipp-"))
  const statsFile = join(dir, "stats.csv")
  const out = tail(20_000)
  const err = tail(20_000)
  const child = spawn("sipp", buildArgs(options, localPort, statsFile), {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
  })
  track(child)
  child.stdout?.on("data", out.push)
  child.stderr?.on("data", err.push)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  let cached: Promise<SippResult> | undefined
  const result = (): Promise<SippResult> => {
    cached ??= exited.then((exitCode) => {
      const stats = readStats(statsFile)
      rmSync(dir, { recursive: true, force: true })
      return {
        exitCode,
        successfulCalls: Number(stats["SuccessfulCall(C)"] ?? 0),
        failedCalls: Number(stats["FailedCall(C)"] ?? 0),
        createdCalls: Number(stats.TotalCallCreated ?? 0),
        stats,
        stdout: out.text,
        stderr: err.text,
      }
    })
    return cached
  }
  return {
    localPort,
    child,
    result,
    stop: async () => {
      await stopProcess(child)
      return result()
    },
  }
}

/** Runs SIPp to completion (bounded by its own -timeout). */
export const runSipp = async (options: SippOptions): Promise<SippResult> =>
  (await startSipp(options)).result()

/** A background SIPp UAS; `stop()` ends it and reports its calls. */
export const startSippUas = (
  options: Omit<SippOptions, "remote" | "scenario"> & { readonly scenario?: string },
): Promise<SippProcess> => startSipp({ ...options, scenario: options.scenario ?? "uas" })
