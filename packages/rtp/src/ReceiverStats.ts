/**
 * RFC 3550 receiver statistics of one source, the reference of what the relay's native plane computes:
 * sequence validation and the extended highest sequence number (§A.1), expected and lost packets
 * (§A.3) and interarrival jitter (§A.8, integer form). Pure and mutable in place (one state per
 * stream, no allocation per packet); arrival times are given in RTP timestamp units by the caller.
 */

const RTP_SEQ_MOD = 1 << 16
// RFC 3550 §A.1 defaults.
const MAX_DROPOUT = 3000
const MAX_MISORDER = 100
const MIN_SEQUENTIAL = 2

export interface ReceiverState {
  haveSource: boolean
  ssrc: number
  maxSeq: number
  cycles: number
  baseSeq: number
  badSeq: number
  probation: number
  received: number
  haveTransit: boolean
  transit: number
  /** Jitter × 16 (RFC 3550 §A.8 "jitter += d - ((jitter + 8) >> 4)"). */
  jitterQ4: number
}

export const newReceiverState = (): ReceiverState => ({
  haveSource: false,
  ssrc: 0,
  maxSeq: 0,
  cycles: 0,
  baseSeq: 0,
  badSeq: 0,
  probation: 0,
  received: 0,
  haveTransit: false,
  transit: 0,
  jitterQ4: 0,
})

const initSeq = (s: ReceiverState, seq: number): void => {
  s.baseSeq = seq
  s.maxSeq = seq
  s.badSeq = RTP_SEQ_MOD + 1 // so seq == badSeq is false
  s.cycles = 0
  s.received = 0
}

/** RFC 3550 §A.1 update_seq: true when the packet counts as received from a valid source. */
const updateSeq = (s: ReceiverState, seq: number): boolean => {
  const udelta = (seq - s.maxSeq) & 0xffff
  if (s.probation > 0) {
    // packet is in sequence
    if (seq === ((s.maxSeq + 1) & 0xffff)) {
      s.probation--
      s.maxSeq = seq
      if (s.probation === 0) {
        initSeq(s, seq)
        s.received++
        return true
      }
    } else {
      s.probation = MIN_SEQUENTIAL - 1
      s.maxSeq = seq
    }
    return false
  } else if (udelta < MAX_DROPOUT) {
    // in order, with permissible gap
    if (seq < s.maxSeq) s.cycles += RTP_SEQ_MOD // sequence number wrapped
    s.maxSeq = seq
  } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
    // the sequence number made a very large jump
    if (seq === s.badSeq) {
      initSeq(s, seq) // two sequential packets: the sender restarted
    } else {
      s.badSeq = (seq + 1) & (RTP_SEQ_MOD - 1)
      return false
    }
  }
  // else: duplicate or reordered packet
  s.received++
  return true
}

/** One RTP packet: its sequence number, SSRC, RTP timestamp and arrival time in timestamp units. */
export const receivePacket = (
  s: ReceiverState,
  seq: number,
  ssrc: number,
  ts: number,
  arrival: number,
): void => {
  if (!s.haveSource || s.ssrc !== ssrc) {
    // RFC 3550 §A.1: a new source is on probation; its first packet sets max_seq = seq - 1.
    s.haveSource = true
    s.ssrc = ssrc
    initSeq(s, seq)
    s.maxSeq = (seq - 1) & 0xffff
    s.probation = MIN_SEQUENTIAL
    s.haveTransit = false
    s.jitterQ4 = 0
  }
  if (!updateSeq(s, seq)) return
  // RFC 3550 §A.8: relative transit time difference, 32-bit modular arithmetic.
  const transit = (arrival - ts) | 0
  if (s.haveTransit) {
    let d = (transit - s.transit) | 0
    if (d < 0) d = -d
    s.jitterQ4 = (s.jitterQ4 + d - ((s.jitterQ4 + 8) >>> 4)) >>> 0
  }
  s.transit = transit
  s.haveTransit = true
}

/** RFC 3550 §A.3: extended highest sequence number received minus the first, plus one. */
export const expectedPackets = (s: ReceiverState): number =>
  s.received === 0 ? 0 : s.cycles + s.maxSeq - s.baseSeq + 1

/** RFC 3550 §A.3: cumulative packets lost (negative when duplicates arrived). */
export const lostPackets = (expected: number, received: number): number => expected - received

/** Interarrival jitter in timestamp units (RFC 3550 §A.8: the integer jitter is scaled by 16). */
export const jitterUnits = (s: ReceiverState): number => s.jitterQ4 / 16

/** Jitter in milliseconds for a clock rate (RFC 3550 §6.4.1: jitter is in timestamp units). */
export const jitterMs = (units: number, clockRate: number): number => (units * 1000) / clockRate
