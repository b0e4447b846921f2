/**
 * RFC 4475 torture tests: every message of ../shared/conformance/rfc4475 is a test. Valid messages parse
 * and round-trip; invalid ones fail with the specific defect; semantic ones parse and are then judged by
 * validation (see validation tests) as the RFC expects.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseMessage, type SipMessage, serializeMessage } from "../../src/index.js"

const dir = fileURLToPath(new URL("../../../../../shared/conformance/rfc4475/", import.meta.url))
interface Entry {
  readonly file: string
  readonly section: string
  readonly kind: "request" | "response"
  readonly expect: "valid" | "invalid" | "semantic"
}
const index: Entry[] = JSON.parse(readFileSync(`${dir}index.json`, "utf8"))
const load = (file: string): Buffer => readFileSync(dir + file)

/** What the parser must say about each invalid message (RFC 4475 §3.1.2). */
const invalidReasons: Record<string, RegExp> = {
  "badinv01.dat": /Bad (Via|Contact) header/,
  "clerr.dat": /Content-Length larger than the body/,
  "ncl.dat": /Bad Content-Length header/,
  "scalar02.dat": /Bad CSeq header/,
  "scalarlg.dat": /Bad CSeq header|Status code/,
  "quotbal.dat": /unterminated quoted string|display name/,
  "ltgtruri.dat": /Request-URI/,
  "lwsruri.dat": /request line|Request-URI|SIP version/,
  "lwsstart.dat": /Request-URI|request line/,
  "trws.dat": /Trailing whitespace/,
  "escruri.dat": /Request-URI must not contain headers/,
  "regbadct.dat": /Bad Contact header: URI with '\?'/,
  "baddate.dat": /Bad Date header: not an RFC 1123 date in GMT/,
  "badaspec.dat": /Bad To header: URI contains whitespace/,
  "baddn.dat": /Bad From header: display name must be a token or quoted/,
  "badvers.dat": /SIP version 7.0 not supported/,
  "mismatch01.dat": /CSeq method does not match/,
  "mismatch02.dat": /CSeq method does not match/,
  "bigcode.dat": /Status code is not from 100 to 699/,
}

/** Semantic messages the parser itself must refuse (framing or header-count defects). */
const semanticParseFailures: Record<string, RegExp> = {
  "insuf.dat": /Missing (Call-ID|From|To) header/,
  "multi01.dat": /Duplicate (Call-ID|To|From|Max-Forwards|CSeq) header/,
  "mcl01.dat": /Conflicting Content-Length/,
}

const parsesAndRoundTrips = (bytes: Buffer, kind: "request" | "response"): SipMessage => {
  const result = parseMessage(bytes)
  if (!result.ok) throw new Error(`expected a valid message, got: ${result.error.reason}`)
  expect(result.message.kind).toBe(kind)
  const again = parseMessage(serializeMessage(result.message))
  expect(again.ok).toBe(true)
  if (again.ok) {
    expect(again.message.startLine()).toBe(result.message.startLine())
    expect(again.message.fields.map((f) => [f.key, f.value])).toEqual(
      result.message.fields.map((f) => [f.key, f.value]),
    )
    expect(again.message.body.equals(result.message.body)).toBe(true)
  }
  return result.message
}

describe("RFC 4475 torture messages", () => {
  it("covers all 49 messages", () => {
    expect(index).toHaveLength(49)
  })

  for (const entry of index) {
    const title = `§${entry.section} ${entry.file} (${entry.expect})`
    if (entry.expect === "valid") {
      it(`${title} parses and round-trips`, () => {
        parsesAndRoundTrips(load(entry.file), entry.kind)
      })
    } else if (entry.expect === "invalid") {
      it(`${title} is refused with the specific defect`, () => {
        const result = parseMessage(load(entry.file))
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.error.reason).toMatch(invalidReasons[entry.file] ?? /^$/)
      })
    } else if (entry.file in semanticParseFailures) {
      it(`${title} is refused by the parser`, () => {
        const result = parseMessage(load(entry.file))
        expect(result.ok).toBe(false)
        if (!result.ok) expect(result.error.reason).toMatch(semanticParseFailures[entry.file]!)
      })
    } else {
      it(`${title} parses as well-formed`, () => {
        parsesAndRoundTrips(load(entry.file), entry.kind)
      })
    }
  }
})

describe("RFC 4475 details", () => {
  const parse = (file: string): SipMessage => {
    const r = parseMessage(load(file))
    if (!r.ok) throw new Error(r.error.reason)
    return r.message
  }

  it("§3.1.1.1 wsinv: folding, odd spacing and casing are understood", () => {
    const m = parse("wsinv.dat")
    expect(m.maxForwards).toBe(68)
    expect(m.cseq).toEqual({ seq: 9, method: "INVITE" })
    expect(m.toTag).toBe("1918181833n")
    expect(m.fromTag).toBe("98asjd8")
    expect(m.from.displayName).toBe('J Rosenberg \\"')
    expect(m.vias.map((v) => [v.transport, v.host])).toEqual([
      ["UDP", "192.0.2.2"],
      ["TCP", "spindle.example.com"],
      ["UDP", "192.168.255.111"],
    ])
    expect(m.contacts[0]?.displayName).toBe('Quoted string ""')
    expect(m.header("NewFangledHeader")).toBe("newfangled value continued newfangled value")
    expect(m.body.length).toBe(150)
  })

  it("§3.1.1.2 intmeth: an extension method and raw octets survive byte-exact", () => {
    const bytes = load("intmeth.dat")
    const m = parse("intmeth.dat")
    expect(m.kind === "request" && m.method).toBe("!interesting-Method0123456789_*+`.%indeed'~")
    expect(serializeMessage(m).equals(bytes)).toBe(true)
  })

  it("§3.1.1.5 esc02: % is not an escape in method or header names", () => {
    const m = parse("esc02.dat")
    expect(m.kind === "request" && m.method).toBe("RE%47IST%45R")
    expect(m.contacts).toHaveLength(2)
    expect(m.header("C%6Fntact")).toBe("<sip:alias2@host2.example.com>")
  })

  it("§3.1.1.8 dblreq: octets after Content-Length are discarded", () => {
    const m = parse("dblreq.dat")
    expect(m.body.length).toBe(0)
    expect(serializeMessage(m).toString("latin1")).not.toContain("INVITE sip:")
  })

  it("§3.1.1.10 transports: every Via transport is accepted", () => {
    expect(parse("transports.dat").vias.map((v) => v.transport)).toEqual([
      "UDP",
      "SCTP",
      "TLS",
      "UNKNOWN",
      "TCP",
    ])
  })

  it("§3.1.1.11 mpart01: the binary body is exactly Content-Length octets", () => {
    const m = parse("mpart01.dat")
    expect(m.body.length).toBe(m.contentLength)
  })

  it("§3.1.1.13 noreason: an empty reason phrase is accepted", () => {
    const m = parse("noreason.dat")
    expect(m.kind === "response" && m.reason).toBe("")
  })

  it("§3.4.1 inv2543: without Content-Length the body is the rest of the datagram", () => {
    const m = parse("inv2543.dat")
    expect(m.body.length).toBe(105)
    expect(m.fromTag).toBeUndefined()
  })
})
