/**
 * The INVITE timestamps of `npm run bench:cps`, pure: bytes of a libpcap file in, the A-leg to B-leg
 * INVITE delays out. No sockets, no files: the runner captures with tcpdump on loopback, with a kernel
 * filter that keeps only UDP datagrams starting "INVI" to the system's SIP port (A-leg, from the caller)
 * and the callee's port (B-leg), so tcpdump wakes twice per call and the timestamps are the kernel's.
 *
 * A call is recognised on both legs by its Request-URI user part, unique per call in a run (the caller
 * dials [service][call_number]; a proxy keeps the Request-URI user, the suite passes the dialled
 * number). The first INVITE seen on each leg counts; retransmissions are ignored.
 *
 * libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html), little or big endian:
 *
 *   global header, 24 bytes: magic(4) major(2) minor(2) thiszone(4) sigfigs(4) snaplen(4) linktype(4)
 *   per record, 16 bytes:    ts_sec(4) ts_frac(4) incl_len(4) orig_len(4), then incl_len bytes
 *
 * magic 0xa1b2c3d4: ts_frac in microseconds; 0xa1b23c4d: nanoseconds. Linux loopback is linktype 1
 * (Ethernet, 14-byte header with zero addresses); linktype 113 (Linux cooked, 16 bytes) and 276
 * (cooked v2, 20 bytes) come from `-i any`.
 */
import { Data } from "effect"

export interface CapturedDatagram {
  /** Capture time, µs since the epoch. */
  readonly timeUs: number
  readonly destinationPort: number
  /** The UDP payload as captured (cut at the snap length). */
  readonly payload: Uint8Array
}

/** The file is not a pcap file this reader understands; `reason` names the defect. */
export class PcapFormatError extends Data.TaggedError("PcapFormatError")<{ readonly reason: string }> {
  override get message(): string {
    return `pcap: ${this.reason}`
  }
}

const linkHeaderBytes = (linktype: number): number => {
  switch (linktype) {
    case 1:
      return 14
    case 113:
      return 16
    case 276:
      return 20
    case 101:
      return 0
    default:
      throw new PcapFormatError({
        reason: `linktype ${linktype} is not one this reader knows (1, 101, 113, 276)`,
      })
  }
}

/** Every IPv4/UDP datagram in a pcap file; other packets and records cut before the UDP header are skipped. */
export const readUdpDatagrams = (file: Uint8Array): Array<CapturedDatagram> => {
  if (file.length < 24)
    throw new PcapFormatError({ reason: `${file.length} bytes: shorter than a pcap header` })
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength)
  const magicLe = view.getUint32(0, true)
  const magicBe = view.getUint32(0, false)
  const known = [0xa1b2c3d4, 0xa1b23c4d]
  const little = known.includes(magicLe)
  if (!little && !known.includes(magicBe))
    throw new PcapFormatError({ reason: `magic 0x${magicLe.toString(16)} is not a pcap file's` })
  const nanos = (little ? magicLe : magicBe) === 0xa1b23c4d
  const linkBytes = linkHeaderBytes(view.getUint32(20, little))
  const out: Array<CapturedDatagram> = []
  let at = 24
  while (at + 16 <= file.length) {
    const sec = view.getUint32(at, little)
    const frac = view.getUint32(at + 4, little)
    const inclLen = view.getUint32(at + 8, little)
    const start = at + 16
    at = start + inclLen
    // A file cut mid-record (tcpdump stopped while writing) ends here.
    if (at > file.length) break
    const ip = start + linkBytes
    if (ip + 20 > at || file[ip] === undefined || file[ip] >> 4 !== 4) continue
    const ihl = (file[ip] & 0x0f) * 4
    if (file[ip + 9] !== 17) continue
    const udp = ip + ihl
    if (udp + 8 > at) continue
    out.push({
      timeUs: sec * 1e6 + (nanos ? Math.floor(frac / 1000) : frac),
      destinationPort: view.getUint16(udp + 2, false),
      payload: file.subarray(udp + 8, at),
    })
  }
  return out
}

const INVITE_SIP = "INVITE sip:"

/** The user part of an INVITE's Request-URI (`INVITE sip:USER@...`), or undefined for anything else. */
export const inviteUser = (payload: Uint8Array): string | undefined => {
  const head = new TextDecoder("latin1").decode(payload.subarray(0, 160))
  if (!head.startsWith(INVITE_SIP)) return undefined
  const end = head.indexOf("@", INVITE_SIP.length)
  if (end <= INVITE_SIP.length) return undefined
  return head.slice(INVITE_SIP.length, end)
}

export interface InviteDelays {
  /** A-leg to B-leg delay of each call seen on both legs, µs, ascending. */
  readonly delaysUs: ReadonlyArray<number>
  /** Distinct calls whose INVITE reached the system / left it. */
  readonly aLegCalls: number
  readonly bLegCalls: number
  /** The rate the caller really offered: distinct A-leg INVITEs over the time from the first to the last. */
  readonly offeredCps: number | undefined
}

/** Pairs the first A-leg and first B-leg INVITE of each call. */
export const inviteDelays = (
  datagrams: ReadonlyArray<CapturedDatagram>,
  ports: { readonly aLeg: number; readonly bLeg: number },
): InviteDelays => {
  const aLeg = new Map<string, number>()
  const bLeg = new Map<string, number>()
  for (const d of datagrams) {
    const leg = d.destinationPort === ports.aLeg ? aLeg : d.destinationPort === ports.bLeg ? bLeg : undefined
    if (leg === undefined) continue
    const user = inviteUser(d.payload)
    if (user !== undefined && !leg.has(user)) leg.set(user, d.timeUs)
  }
  const delaysUs: Array<number> = []
  for (const [user, bTime] of bLeg) {
    const aTime = aLeg.get(user)
    if (aTime !== undefined) delaysUs.push(bTime - aTime)
  }
  delaysUs.sort((x, y) => x - y)
  let first = Number.POSITIVE_INFINITY
  let last = Number.NEGATIVE_INFINITY
  for (const t of aLeg.values()) {
    first = Math.min(first, t)
    last = Math.max(last, t)
  }
  const offeredCps = aLeg.size > 1 && last > first ? ((aLeg.size - 1) * 1e6) / (last - first) : undefined
  return { delaysUs, aLegCalls: aLeg.size, bLegCalls: bLeg.size, offeredCps }
}
