import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { methodLabel, startLineLabels, statusLabel } from "../src/EdgeTelemetry.js"

const bytes = (s: string) => Buffer.from(s, "latin1")

const KNOWN = new Set([
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "PRACK",
  "SUBSCRIBE",
  "NOTIFY",
])
const KNOWN_ALL = new Set([...KNOWN, "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE", "other"])

describe("edge metric labels", () => {
  it("reads the method or status from the start line only", () => {
    expect(startLineLabels(bytes("SIP/2.0 486 Busy Here\r\nVia: x\r\n\r\n"))).toEqual({
      kind: "response",
      status: "486",
    })
    expect(startLineLabels(bytes("INVITE sip:bob@example.com SIP/2.0\r\n"))).toEqual({
      kind: "request",
      method: "INVITE",
    })
    expect(startLineLabels(bytes("SIP/2.0 1a5 Odd\r\n"))).toEqual({ kind: "response", status: "other" })
    expect(startLineLabels(bytes("FOO sip:bob@example.com SIP/2.0\r\n"))).toEqual({
      kind: "request",
      method: "other",
    })
  })

  it("folds unknown methods and impossible statuses into 'other'", () => {
    expect(methodLabel("invite")).toBe("other")
    expect(methodLabel("UPDATE")).toBe("UPDATE")
    expect(statusLabel(99)).toBe("other")
    expect(statusLabel(700)).toBe("other")
    expect(statusLabel(183)).toBe("183")
  })

  it("gives a label from a bounded set for any bytes, never throwing", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (input) => {
        const line = startLineLabels(input)
        return line.kind === "request"
          ? KNOWN_ALL.has(line.method)
          : line.status === "other" || /^[1-6]\d\d$/.test(line.status)
      }),
    )
    fc.assert(
      fc.property(
        fc.string({ maxLength: 12 }).map((s) => `SIP/2.0 ${s}`),
        (text) => {
          const line = startLineLabels(bytes(text))
          return line.kind === "response" && (line.status === "other" || /^[1-6]\d\d$/.test(line.status))
        },
      ),
    )
  })
})
