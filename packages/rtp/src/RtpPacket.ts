/**
 * RTP fixed header (RFC 3550 §5.1) read from and written into caller-owned buffers. Pure: bytes in,
 * data out; no allocation on write.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |                           timestamp                           |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |           synchronization source (SSRC) identifier            |
 *   +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 */
import { Data } from "effect"

export interface RtpHeader {
  readonly marker: boolean
  readonly payloadType: number
  readonly sequence: number
  readonly timestamp: number
  readonly ssrc: number
  /** Bytes before the payload: 12 + 4 × CSRC count (+ the header extension when present). */
  readonly headerLength: number
}

export class RtpParseError extends Data.TaggedError("RtpParseError")<{ readonly reason: string }> {
  override get message(): string {
    return `RTP: ${this.reason}`
  }
}

export const RTP_HEADER_SIZE = 12

export const readRtpHeader = (b: Uint8Array): RtpHeader | RtpParseError => {
  if (b.length < RTP_HEADER_SIZE) return new RtpParseError({ reason: `${b.length} bytes, header needs 12` })
  const b0 = b[0] ?? 0
  const b1 = b[1] ?? 0
  if (b0 >> 6 !== 2) return new RtpParseError({ reason: `version ${b0 >> 6}, expected 2` })
  let headerLength = RTP_HEADER_SIZE + 4 * (b0 & 0x0f)
  if (b.length < headerLength) return new RtpParseError({ reason: "CSRC list beyond the packet" })
  // RFC 3550 §5.3.1: a 4-byte extension header whose second half counts 32-bit words.
  if (b0 & 0x10) {
    if (b.length < headerLength + 4)
      return new RtpParseError({ reason: "extension header beyond the packet" })
    headerLength += 4 + 4 * (((b[headerLength + 2] ?? 0) << 8) | (b[headerLength + 3] ?? 0))
    if (b.length < headerLength) return new RtpParseError({ reason: "extension beyond the packet" })
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequence: view.getUint16(2),
    timestamp: view.getUint32(4),
    ssrc: view.getUint32(8),
    headerLength,
  }
}

/** Writes a 12-byte header (no CSRC, no extension) at `offset`; returns the bytes written. */
export const writeRtpHeader = (b: Uint8Array, offset: number, h: Omit<RtpHeader, "headerLength">): number => {
  const view = new DataView(b.buffer, b.byteOffset + offset, RTP_HEADER_SIZE)
  view.setUint8(0, 0x80)
  view.setUint8(1, (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f))
  view.setUint16(2, h.sequence & 0xffff)
  view.setUint32(4, h.timestamp >>> 0)
  view.setUint32(8, h.ssrc >>> 0)
  return RTP_HEADER_SIZE
}
