/**
 * RFC 4733 telephone-event payload (§2.3): event code, end bit, volume and duration.
 *
 *    0                   1                   2                   3
 *    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *   |     event     |E|R| volume    |          duration             |
 *   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 */

export interface TelephoneEvent {
  readonly event: number
  readonly end: boolean
  readonly volume: number
  readonly duration: number
}

export const readTelephoneEvent = (payload: Uint8Array): TelephoneEvent | undefined => {
  if (payload.length < 4) return undefined
  const b1 = payload[1] ?? 0
  return {
    event: payload[0] ?? 0,
    end: (b1 & 0x80) !== 0,
    volume: b1 & 0x3f,
    duration: ((payload[2] ?? 0) << 8) | (payload[3] ?? 0),
  }
}

export const writeTelephoneEvent = (b: Uint8Array, offset: number, e: TelephoneEvent): number => {
  b[offset] = e.event & 0xff
  b[offset + 1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f)
  b[offset + 2] = (e.duration >> 8) & 0xff
  b[offset + 3] = e.duration & 0xff
  return 4
}

const DTMF = "0123456789*#ABCD"

/** RFC 4733 §3.2: events 0–15 are the DTMF digits 0–9, *, #, A–D; others are named by their code. */
export const dtmfDigit = (event: number): string => DTMF[event] ?? String(event)
