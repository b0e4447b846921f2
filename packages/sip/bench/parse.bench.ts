/**
 * Parser benchmark: messages/s of the reference guide's INVITE on one core, for @b2bua/sip and the
 * fastest JavaScript SIP parsers on npm, measured in the same run.
 *
 * "parse": every header boundary found and the hot headers (Via, From, To, Call-ID, CSeq, Contact,
 * Max-Forwards, Content-Length) available typed. Libraries that only split headers into strings (lazy)
 * are measured as they are and marked so.
 * "parse+serialize": parse, then what a B2BUA does — a new top Via, a To-tag, Max-Forwards decremented —
 * and serialize to bytes. Every case starts from the same Buffer (what a socket delivers).
 *
 * Run: npm run bench (pins to one core with taskset when available).
 */
import { execFileSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { createRequire } from "node:module"
import { fileURLToPath } from "node:url"
import { parseMessageOrThrow, type SipRequest, serializeMessage } from "@b2bua/sip"

const require = createRequire(import.meta.url)
const wire = readFileSync(fileURLToPath(new URL("../test/golden/guide/09-invite.sip", import.meta.url)))

interface Case {
  readonly name: string
  readonly note: string
  readonly parse: (buf: Buffer) => unknown
  readonly parseSerialize: (buf: Buffer) => unknown
}

const newVia = {
  protocol: "SIP/2.0",
  transport: "UDP",
  host: "10.0.0.1",
  port: 5060,
  params: [["branch", "z9hG4bKb2b1.4f3a9c"]] as Array<[string, string | null]>,
}

const ours: Case = {
  name: "@b2bua/sip",
  note: "typed hot headers",
  parse: (buf) => {
    const m = parseMessageOrThrow(buf)
    return m.topVia
  },
  parseSerialize: (buf) => {
    const m = parseMessageOrThrow(buf) as SipRequest
    m.prependVia(newVia)
    m.setToTag("b2b1.x9f3k2")
    m.setMaxForwards((m.maxForwards ?? 70) - 1)
    return serializeMessage(m)
  },
}

const drachtio = (): Case => {
  const { SipMessage } = require("drachtio-sip") as {
    SipMessage: new (
      s: string,
    ) => { get(h: string): string; set(h: string, v: string): void; toString(): string }
  }
  return {
    name: "drachtio-sip 0.6.3",
    note: "lazy: headers kept as strings",
    parse: (buf) => new SipMessage(buf.toString("utf8")),
    parseSerialize: (buf) => {
      const m = new SipMessage(buf.toString("utf8"))
      m.set("Via", `SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKb2b1.4f3a9c, ${m.get("Via")}`)
      m.set("To", `${m.get("To")};tag=b2b1.x9f3k2`)
      m.set("Max-Forwards", String(Number(m.get("Max-Forwards")) - 1))
      return Buffer.from(m.toString())
    },
  }
}

interface KirmMessage {
  headers: {
    via: Array<Record<string, unknown>>
    to: { params: Record<string, string> }
    "max-forwards": number
  }
}
const kirm = (): Case => {
  const sip = require("sip") as { parse(s: string): KirmMessage; stringify(m: KirmMessage): string }
  return {
    name: "sip 0.0.6 (kirm)",
    note: "parses every header",
    parse: (buf) => sip.parse(buf.toString("utf8")),
    parseSerialize: (buf) => {
      const m = sip.parse(buf.toString("utf8"))
      m.headers.via.unshift({
        version: "2.0",
        protocol: "UDP",
        host: "10.0.0.1",
        port: 5060,
        params: { branch: "z9hG4bKb2b1.4f3a9c" },
      })
      m.headers.to.params.tag = "b2b1.x9f3k2"
      m.headers["max-forwards"] = m.headers["max-forwards"] - 1
      return Buffer.from(sip.stringify(m))
    },
  }
}

const jssip = (): Case => {
  const Parser = require("jssip/lib/Parser") as {
    parseMessage(
      s: string,
      ua: object,
    ): { toString(): string; setHeader(n: string, v: string): void } | undefined
  }
  return {
    name: "JsSIP 3.x",
    note: "parses every header",
    parse: (buf) => Parser.parseMessage(buf.toString("utf8"), {}),
    parseSerialize: (buf) => {
      const m = Parser.parseMessage(buf.toString("utf8"), {})
      return Buffer.from(String(m))
    },
  }
}

const cases = [ours, drachtio(), kirm(), jssip()]

const measure = (fn: (buf: Buffer) => unknown, seconds: number): number => {
  let sink: unknown
  const deadline = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9))
  let n = 0
  const start = process.hrtime.bigint()
  while (true) {
    for (let i = 0; i < 256; i++) sink = fn(wire)
    n += 256
    if (process.hrtime.bigint() >= deadline) break
  }
  const elapsed = Number(process.hrtime.bigint() - start) / 1e9
  if (sink === undefined) throw new Error("benchmark produced nothing")
  return n / elapsed
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

// Each figure is measured in a fresh process, so that one library's garbage and JIT state cannot
// weigh on another's; rounds interleave the cases so that drift of the machine affects all alike.
const ROUNDS = 5
const fns: ReadonlyArray<(buf: Buffer) => unknown> = [
  (buf) => buf.toString("latin1").split("\r\n"),
  ...cases.flatMap((c) => [c.parse, c.parseSerialize]),
]

const child = process.argv.indexOf("--measure")
if (child >= 0) {
  const fn = fns[Number(process.argv[child + 1])]!
  measure(fn, 1.0) // warm-up: let the JIT optimise every path
  process.stdout.write(JSON.stringify(measure(fn, 0.8)))
} else {
  const samples: number[][] = fns.map(() => [])
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < fns.length; i++) {
      const out = execFileSync(
        process.execPath,
        [...process.execArgv, process.argv[1]!, "--measure", String(i)],
        {
          encoding: "utf8",
        },
      )
      samples[i]!.push(Number(out))
    }
  }
  const figures = samples.map(median)
  console.log(`SIP parser benchmark — guide INVITE (${wire.length} bytes), node ${process.version}, one core`)
  const floor = figures[0]!
  console.log(`floor: toString + split into lines ≈ ${Math.round(floor).toLocaleString("en-US")} msgs/s\n`)
  const results = cases.map((c, i) => ({ c, parse: figures[1 + 2 * i]!, ps: figures[2 + 2 * i]! }))
  const baseline = results.find((r) => r.c.name.startsWith("drachtio"))!
  const pad = (s: string, n: number) => s.padEnd(n)
  const fmt = (x: number) => Math.round(x).toLocaleString("en-US").padStart(10)
  console.log(
    `${pad("parser", 22)}${pad("parse/s", 12)}${pad("vs drachtio", 13)}${pad("parse+ser/s", 14)}${pad("vs drachtio", 13)}notes`,
  )
  for (const r of results) {
    console.log(
      `${pad(r.c.name, 22)}${fmt(r.parse)}  ${pad(`${(r.parse / baseline.parse).toFixed(2)}x`, 12)}${fmt(r.ps)}    ${pad(`${(r.ps / baseline.ps).toFixed(2)}x`, 12)} ${r.c.note}`,
    )
  }
  console.log(
    `\n(${ROUNDS} rounds, each figure the median of fresh-process runs of 0.8 s after 1 s of warm-up)`,
  )
}
