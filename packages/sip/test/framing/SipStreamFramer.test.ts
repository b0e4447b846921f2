import { describe, expect, it } from "vitest"
import { SipStreamFramer } from "../../src/index.js"

const options = (cl: number, extra = "") =>
  Buffer.from(
    `OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n${extra}Content-Length: ${cl}\r\n\r\n${"x".repeat(cl)}`,
  )

describe("SipStreamFramer (RFC 3261 §18.3, RFC 5626 §3.5.1)", () => {
  it("cuts back-to-back messages by Content-Length", () => {
    const framer = new SipStreamFramer()
    const events = framer.push(Buffer.concat([options(3), options(0)]))
    expect(events.map((e) => e._tag)).toEqual(["Message", "Message"])
    expect(events[0]?._tag === "Message" && events[0].bytes.equals(options(3))).toBe(true)
  })

  it("waits for the body when it has not all arrived", () => {
    const framer = new SipStreamFramer()
    const whole = options(10)
    expect(framer.push(whole.subarray(0, whole.length - 4))).toEqual([])
    expect(framer.push(whole.subarray(whole.length - 4)).map((e) => e._tag)).toEqual(["Message"])
  })

  it("answers CRLFCRLF as a keepalive ping and a lone CRLF as a pong", () => {
    const framer = new SipStreamFramer()
    expect(framer.push(Buffer.from("\r\n\r\n")).map((e) => e._tag)).toEqual(["KeepAlivePing"])
    expect(framer.push(Buffer.from("\r\n")).map((e) => e._tag)).toEqual(["KeepAlivePong"])
    expect(framer.push(Buffer.concat([Buffer.from("\r\n\r\n"), options(0)])).map((e) => e._tag)).toEqual([
      "KeepAlivePing",
      "Message",
    ])
  })

  it("refuses a message without Content-Length and then stops taking input", () => {
    const framer = new SipStreamFramer()
    const noLength = Buffer.from("OPTIONS sip:a@b SIP/2.0\r\nCall-ID: c\r\n\r\n")
    const [event] = framer.push(noLength)
    expect(event?._tag === "FramingError" && event.error.reason).toBe(
      "Missing Content-Length on a stream transport",
    )
    expect(framer.closed).toBe(true)
    expect(framer.push(options(0))).toEqual([])
  })

  it("refuses a negative or conflicting Content-Length", () => {
    const neg = new SipStreamFramer().push(options(0, "Content-Length: -5\r\n"))
    expect(neg[0]?._tag).toBe("FramingError")
    const conflict = new SipStreamFramer().push(options(0, "l: 7\r\n"))
    expect(conflict[0]?._tag === "FramingError" && conflict[0].error.reason).toBe(
      "Conflicting Content-Length headers",
    )
  })

  it("never holds more than its limit of header octets", () => {
    const framer = new SipStreamFramer({
      maxMessageBytes: 256,
      maxBodyBytes: 128,
      maxHeaderFields: 16,
      maxLineBytes: 256,
    })
    const events = framer.push(Buffer.alloc(300, 0x41))
    expect(events[0]?._tag === "FramingError" && events[0].error.code).toBe("TooLarge")
    expect(framer.bufferedBytes).toBe(0)
  })

  it("refuses a body larger than the limit before buffering it", () => {
    const framer = new SipStreamFramer({
      maxMessageBytes: 4096,
      maxBodyBytes: 100,
      maxHeaderFields: 16,
      maxLineBytes: 256,
    })
    const events = framer.push(
      Buffer.from(options(0).toString().replace("Content-Length: 0", "Content-Length: 1000")),
    )
    expect(events[0]?._tag).toBe("FramingError")
  })
})
