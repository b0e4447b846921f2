/**
 * Property tests: the parser faces untrusted bytes. Whatever it is given, it returns a message or a
 * SipParseError — never throws, never hangs — and a parsed message survives serialize → parse unchanged.
 */
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { parseMessage, SipParseError, SipStreamFramer, serializeMessage } from "../../src/index.js"

const corpusDirs = [
  fileURLToPath(new URL("../../../../../shared/conformance/rfc4475/", import.meta.url)),
  fileURLToPath(new URL("../golden/guide/", import.meta.url)),
]
const corpus: Buffer[] = corpusDirs.flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".dat") || f.endsWith(".sip"))
    .map((f) => readFileSync(dir + f)),
)

const sameMessage = (a: ReturnType<typeof parseMessage>, b: ReturnType<typeof parseMessage>): void => {
  expect(a.ok && b.ok).toBe(true)
  if (a.ok && b.ok) {
    expect(b.message.startLine()).toBe(a.message.startLine())
    expect(b.message.fields.map((f) => [f.key, f.value])).toEqual(
      a.message.fields.map((f) => [f.key, f.value]),
    )
    expect(b.message.body.equals(a.message.body)).toBe(true)
  }
}

/** Mutations that keep most of a real message: flip, insert, delete and duplicate byte ranges. */
const mutated = fc
  .tuple(
    fc.constantFrom(...corpus),
    fc.array(
      fc.record({
        kind: fc.constantFrom("flip", "insert", "delete", "dup"),
        at: fc.nat(),
        len: fc.integer({ min: 1, max: 16 }),
        byte: fc.integer({ min: 0, max: 255 }),
      }),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([seed, edits]) => {
    let buf = Buffer.from(seed)
    for (const e of edits) {
      const at = buf.length === 0 ? 0 : e.at % buf.length
      if (e.kind === "flip") buf[at] = e.byte
      else if (e.kind === "insert")
        buf = Buffer.concat([buf.subarray(0, at), Buffer.alloc(e.len, e.byte), buf.subarray(at)])
      else if (e.kind === "delete") buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + e.len)])
      else buf = Buffer.concat([buf.subarray(0, at + e.len), buf.subarray(at)])
    }
    return buf
  })

describe("parser properties", () => {
  it("random bytes give a message or a SipParseError, nothing else", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        const r = parseMessage(bytes)
        if (!r.ok) expect(r.error).toBeInstanceOf(SipParseError)
      }),
      { numRuns: 2000 },
    )
  })

  it("mutated real messages give a message or a SipParseError, and round-trip when they parse", () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        const r = parseMessage(bytes)
        if (!r.ok) {
          expect(r.error).toBeInstanceOf(SipParseError)
          expect(r.error.reason.length).toBeGreaterThan(0)
          return
        }
        sameMessage(r, parseMessage(serializeMessage(r.message)))
      }),
      { numRuns: 3000 },
    )
  })

  it("parse(serialize(parse(x))) equals parse(x) after B2BUA edits", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...corpus),
        fc.stringMatching(/^[a-zA-Z0-9.-]{1,20}$/),
        fc.integer({ min: 0, max: 255 }),
        (seed, tag, mf) => {
          const r = parseMessage(seed)
          if (!r.ok) return
          r.message.setToTag(tag)
          r.message.setMaxForwards(mf)
          r.message.prependVia({
            protocol: "SIP/2.0",
            transport: "TCP",
            host: "[2001:db8::1]",
            port: 5070,
            params: [["branch", `z9hG4bK${tag}`]],
          })
          const again = parseMessage(serializeMessage(r.message))
          expect(again.ok).toBe(true)
          if (again.ok) {
            expect(again.message.toTag).toBe(tag)
            expect(again.message.maxForwards).toBe(mf)
            expect(again.message.topVia.host).toBe("[2001:db8::1]")
            sameMessage(again, parseMessage(serializeMessage(again.message)))
          }
        },
      ),
      { numRuns: 500 },
    )
  })

  it("the stream framer cuts any chunking of a message stream the same way", () => {
    const stream = Buffer.concat(
      corpus.filter((m) => parseMessage(m, { mode: "stream" }).ok).concat([Buffer.from("\r\n\r\n")]),
    )
    const whole = new SipStreamFramer({
      maxMessageBytes: 65_535,
      maxHeaderFields: 256,
      maxLineBytes: 16_384,
      maxBodyBytes: 65_535,
    }).push(stream)
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 40 }), (sizes) => {
        const framer = new SipStreamFramer()
        const events = []
        let at = 0
        for (let i = 0; at < stream.length; i++) {
          const size = sizes[i % sizes.length]!
          events.push(...framer.push(stream.subarray(at, at + size)))
          at += size
        }
        expect(events).toEqual(whole)
        expect(framer.bufferedBytes).toBe(0)
      }),
      { numRuns: 200 },
    )
  })

  it("the stream framer never buffers more than its limit", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 4096 }), (bytes) => {
        const framer = new SipStreamFramer({
          maxMessageBytes: 1024,
          maxHeaderFields: 64,
          maxLineBytes: 1024,
          maxBodyBytes: 512,
        })
        for (let i = 0; i < 8; i++) framer.push(bytes)
        expect(framer.bufferedBytes).toBeLessThanOrEqual(1024 + bytes.length)
      }),
      { numRuns: 300 },
    )
  })
})
