import { describe, expect, it } from "vitest"
import { inviteDelays, inviteUser, PcapFormatError, readUdpDatagrams } from "../../bench/InviteCapture.js"

const encoder = new TextEncoder()

/** One Ethernet + IPv4 + UDP frame as Linux loopback captures it (linktype 1). */
const frame = (destinationPort: number, payload: string): Uint8Array => {
  const body = encoder.encode(payload)
  const out = new Uint8Array(14 + 20 + 8 + body.length)
  const view = new DataView(out.buffer)
  view.setUint16(12, 0x0800) // EtherType IPv4
  out[14] = 0x45 // version 4, IHL 5 words
  view.setUint16(16, 20 + 8 + body.length)
  out[14 + 9] = 17 // UDP
  out.set([127, 0, 0, 1], 14 + 12)
  out.set([127, 0, 0, 1], 14 + 16)
  view.setUint16(34, 40000)
  view.setUint16(36, destinationPort)
  view.setUint16(38, 8 + body.length)
  out.set(body, 42)
  return out
}

/** A pcap file (µs or ns timestamps, either byte order) holding the given frames. */
const pcap = (
  records: ReadonlyArray<readonly [number, Uint8Array]>,
  options: { readonly nanos?: boolean; readonly littleEndian?: boolean; readonly linktype?: number } = {},
): Uint8Array => {
  const le = options.littleEndian ?? true
  const size = 24 + records.reduce((s, [, f]) => s + 16 + f.length, 0)
  const out = new Uint8Array(size)
  const view = new DataView(out.buffer)
  view.setUint32(0, options.nanos === true ? 0xa1b23c4d : 0xa1b2c3d4, le)
  view.setUint16(4, 2, le)
  view.setUint16(6, 4, le)
  view.setUint32(16, 65535, le)
  view.setUint32(20, options.linktype ?? 1, le)
  let at = 24
  for (const [timeUs, f] of records) {
    view.setUint32(at, Math.floor(timeUs / 1e6), le)
    const frac = timeUs % 1e6
    view.setUint32(at + 4, options.nanos === true ? frac * 1000 : frac, le)
    view.setUint32(at + 8, f.length, le)
    view.setUint32(at + 12, f.length, le)
    out.set(f, at + 16)
    at += 16 + f.length
  }
  return out
}

const invite = (user: string) => `INVITE sip:${user}@127.0.0.1:5999 SIP/2.0\r\nVia: SIP/2.0/UDP x\r\n\r\n`

describe("readUdpDatagrams", () => {
  it("reads timestamps, destination ports and payloads, in both byte orders and resolutions", () => {
    const records = [[1_700_000_000_123_456, frame(5999, invite("71"))] as const]
    for (const littleEndian of [true, false])
      for (const nanos of [true, false]) {
        const [d] = readUdpDatagrams(pcap(records, { littleEndian, nanos }))
        expect(d?.timeUs).toBe(1_700_000_000_123_456)
        expect(d?.destinationPort).toBe(5999)
        expect(inviteUser(d?.payload ?? new Uint8Array())).toBe("71")
      }
  })

  it("skips a record cut short by a stopped capture", () => {
    const whole = pcap([
      [1_000_000, frame(5999, invite("71"))],
      [2_000_000, frame(5999, invite("72"))],
    ])
    expect(readUdpDatagrams(whole.subarray(0, whole.length - 10))).toHaveLength(1)
  })

  it("names what is wrong with a file that is not pcap", () => {
    expect(() => readUdpDatagrams(new Uint8Array(10))).toThrow(PcapFormatError)
    expect(() => readUdpDatagrams(new Uint8Array(24))).toThrow(/magic/)
    expect(() => readUdpDatagrams(pcap([], { linktype: 228 }))).toThrow(/linktype 228/)
  })
})

describe("inviteUser", () => {
  it("is the Request-URI user of an INVITE and nothing for other messages", () => {
    expect(inviteUser(encoder.encode(invite("7123")))).toBe("7123")
    expect(inviteUser(encoder.encode("SIP/2.0 200 OK\r\n\r\n"))).toBeUndefined()
    expect(inviteUser(encoder.encode("INVITE sip:127.0.0.1 SIP/2.0\r\n"))).toBeUndefined()
  })
})

describe("inviteDelays", () => {
  const A = 5999
  const B = 6001
  it("pairs the first A-leg and first B-leg INVITE of each call; retransmissions and other ports are ignored", () => {
    const result = inviteDelays(
      readUdpDatagrams(
        pcap([
          [1_000_000, frame(A, invite("71"))],
          [1_000_900, frame(B, invite("71"))],
          [1_010_000, frame(A, invite("72"))],
          [1_012_000, frame(B, invite("72"))],
          [1_020_000, frame(A, invite("73"))],
          [1_500_000, frame(A, invite("73"))], // retransmission: the first one counts
          [1_520_500, frame(B, invite("73"))],
          [1_030_000, frame(4000, invite("74"))], // another port
          [1_040_000, frame(A, "SIP/2.0 100 Trying\r\n\r\n")],
        ]),
      ),
      { aLeg: A, bLeg: B },
    )
    expect(result.delaysUs).toEqual([900, 2000, 500_500])
    expect(result.aLegCalls).toBe(3)
    expect(result.bLegCalls).toBe(3)
    // 3 distinct A-leg INVITEs over 20 ms: 2 intervals of 10 ms.
    expect(result.offeredCps).toBeCloseTo(100)
  })

  it("counts calls that never left as unpaired", () => {
    const result = inviteDelays(readUdpDatagrams(pcap([[1_000_000, frame(A, invite("71"))]])), {
      aLeg: A,
      bLeg: B,
    })
    expect(result.delaysUs).toEqual([])
    expect(result.aLegCalls).toBe(1)
    expect(result.bLegCalls).toBe(0)
    expect(result.offeredCps).toBeUndefined()
  })
})
