import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  dtmfDigit,
  estimateMos,
  mosFromR,
  RtpParseError,
  readRtpHeader,
  readTelephoneEvent,
  rFactor,
  writeRtpHeader,
  writeTelephoneEvent,
} from "../src/index.js"

describe("RTP header (RFC 3550 §5.1)", () => {
  it("writes the golden bytes and reads them back", () => {
    const b = new Uint8Array(12)
    writeRtpHeader(b, 0, {
      marker: true,
      payloadType: 0,
      sequence: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
    })
    expect(Array.from(b)).toEqual([0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4])
    expect(readRtpHeader(b)).toEqual({
      marker: true,
      payloadType: 0,
      sequence: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      headerLength: 12,
    })
  })

  it("accounts for CSRCs and the header extension, and refuses truncated packets", () => {
    const b = new Uint8Array(12 + 4 + 8 + 4)
    b[0] = 0x80 | 0x10 | 1
    b[12 + 4 + 3] = 2 // extension length: 2 words
    expect(readRtpHeader(b)).toMatchObject({ headerLength: 28 })
    expect(readRtpHeader(b.subarray(0, 20))).toBeInstanceOf(RtpParseError)
    expect(readRtpHeader(new Uint8Array([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]))).toBeInstanceOf(
      RtpParseError,
    )
  })

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const h = readRtpHeader(b)
        expect(h instanceof RtpParseError || h.headerLength <= b.length).toBe(true)
      }),
    )
  })
})

describe("RFC 4733 telephone-event", () => {
  it("round-trips the payload and names the digits", () => {
    const b = new Uint8Array(4)
    writeTelephoneEvent(b, 0, { event: 11, end: true, volume: 10, duration: 800 })
    expect(Array.from(b)).toEqual([11, 0x8a, 0x03, 0x20])
    expect(readTelephoneEvent(b)).toEqual({ event: 11, end: true, volume: 10, duration: 800 })
    expect(dtmfDigit(11)).toBe("#")
    expect(dtmfDigit(10)).toBe("*")
    expect(dtmfDigit(15)).toBe("D")
    expect(dtmfDigit(70)).toBe("70")
    expect(readTelephoneEvent(b.subarray(0, 3))).toBeUndefined()
  })
})

describe("E-model (G.107)", () => {
  it("gives the G.711 ceiling without impairments and falls with loss and delay", () => {
    expect(rFactor({ lossPercent: 0, delayMs: 0 })).toBeCloseTo(93.2, 5)
    expect(mosFromR(93.2)).toBeCloseTo(4.41, 2)
    expect(estimateMos(0, 0)).toBeGreaterThan(4.3)
    expect(estimateMos(5, 0)).toBeLessThan(estimateMos(1, 0))
    expect(estimateMos(0, 150)).toBeLessThan(estimateMos(0, 5))
    expect(mosFromR(-5)).toBe(1)
    expect(estimateMos(100, 1000)).toBeGreaterThanOrEqual(1)
  })
})
