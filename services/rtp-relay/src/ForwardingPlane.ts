/**
 * The forwarding plane as an Effect service: program leg pairs, read every counter in one call, drain
 * RFC 4733 digit events. The live layer is the native engine (io_uring, or epoll where io_uring is
 * unavailable or configured off) whose thread owns the sockets; the memory layer keeps the programs in
 * a map for tests of the control plane that need no sockets. Nothing here runs per packet.
 *
 * A leg program is the plain forwarding record of one leg (peer, remotes, flags, payload-type rewrite):
 * the same record a later tc/XDP BPF path would write into its map, so this interface stays.
 */
import { createRequire } from "node:module"
import { Context, Data, Effect, Layer, type Scope } from "effect"

export interface Endpoint {
  readonly host: string
  readonly port: number
}

/** The forwarding record of one leg: what happens to packets received on it. */
export interface LegProgram {
  /** Slot of the leg the packets are sent to (from that leg's sockets). */
  readonly peer: number
  /** Where this leg's endpoint receives RTP; absent until known or latched. */
  readonly remote?: Endpoint | undefined
  readonly remoteRtcp?: Endpoint | undefined
  readonly rtcpMux: boolean
  readonly strict: boolean
  /** False when the endpoint is not expected to send (RFC 3264 recvonly/inactive): drop its packets. */
  readonly forward: boolean
  readonly udptl: boolean
  /** RFC 4733 telephone-event payload type received on this leg, -1 for none. */
  readonly tePt: number
  readonly clockRate: number
  /** 128 entries: payload type rewrite for packets from this leg to its peer. */
  readonly ptOut: Uint8Array
}

/** One leg's counters (what it received) as read from the plane. */
export interface LegCounters {
  readonly slot: number
  readonly packets: number
  readonly bytes: number
  /** RFC 3550 §A.3 expected and received (validated source) packets. */
  readonly expected: number
  readonly received: number
  /** RFC 3550 §A.8 jitter in timestamp units. */
  readonly jitterUnits: number
  /** Plane clock (ms) of the last packet, -1 when none. */
  readonly lastPacketMs: number
  readonly rtcpPackets: number
  readonly dropped: number
  readonly forwarded: number
  readonly relatches: number
  readonly latched: boolean
  /** The remote RTP port currently used (SDP or latched), 0 when none. */
  readonly remotePort: number
  readonly farEndReports: number
  /** RFC 3550 §6.4.1 fraction lost (×256), cumulative lost, jitter (timestamp units). */
  readonly farEndFraction: number
  readonly farEndLost: number
  readonly farEndJitter: number
  readonly ssrc: number
  readonly clockRate: number
}

export interface DigitEvent {
  readonly slot: number
  /** RFC 4733 §3.2 event code. */
  readonly code: number
  readonly volume: number
  /** Duration in timestamp units. */
  readonly duration: number
  readonly clockRate: number
}

export class PortInUse extends Data.TaggedError("PortInUse")<{ readonly port: number }> {
  override get message(): string {
    return `port ${this.port} or ${this.port + 1} is in use`
  }
}

export class PlaneError extends Data.TaggedError("PlaneError")<{
  readonly operation: string
  readonly errno: number
}> {
  override get message(): string {
    return `forwarding plane ${this.operation} failed (errno ${-this.errno})`
  }
}

export type Backend = "io_uring" | "epoll" | "memory"

export interface ForwardingPlaneShape {
  readonly backend: Backend
  /** Binds the leg's RTP port and the next one (RTCP) and starts forwarding per `program`. */
  readonly addLeg: (
    slot: number,
    host: string,
    rtpPort: number,
    program: LegProgram,
  ) => Effect.Effect<void, PortInUse | PlaneError>
  /** Replaces a leg's program; `keepRemote` keeps the latched remotes (the SDP address did not change). */
  readonly setLeg: (slot: number, program: LegProgram, keepRemote: boolean) => Effect.Effect<void, PlaneError>
  readonly removeLeg: (slot: number) => Effect.Effect<void>
  /** Every active leg's counters, read in one call. */
  readonly readStats: () => Effect.Effect<ReadonlyArray<LegCounters>>
  readonly drainEvents: () => Effect.Effect<ReadonlyArray<DigitEvent>>
  /** The plane's clock in ms (what `lastPacketMs` is measured on). */
  readonly nowMs: () => Effect.Effect<number>
  /**
   * Completes once every change programmed so far is in force (commands are applied by the forwarding
   * thread between batches, not at the call). Bounded: gives up after `timeoutMs`.
   */
  readonly settle: (timeoutMs?: number) => Effect.Effect<boolean>
}

export class ForwardingPlane extends Context.Service<ForwardingPlane, ForwardingPlaneShape>()(
  "@b2bua/rtp-relay/ForwardingPlane",
) {}

// ---------------------------------------------------------------------------------------------------
// Native plane

interface NativeConfig {
  readonly peer: number
  readonly remoteHost?: string
  readonly remotePort?: number
  readonly remoteRtcpHost?: string
  readonly remoteRtcpPort?: number
  readonly rtcpMux: boolean
  readonly strict: boolean
  readonly forward: boolean
  readonly udptl: boolean
  readonly tePt: number
  readonly clockRate: number
  readonly ptOut: Uint8Array
}

/** The addon's functions (services/rtp-relay/native/addon.c). */
export interface NativeAddon {
  readonly open: (options: {
    readonly mode: string
    readonly maxLegs: number
    readonly coalesceUs?: number
  }) => object
  readonly backend: (h: object) => "io_uring" | "epoll"
  readonly addLeg: (h: object, slot: number, host: string, port: number, cfg: NativeConfig) => number
  readonly setLeg: (h: object, slot: number, cfg: NativeConfig, keepRemote: boolean) => number
  readonly removeLeg: (h: object, slot: number) => number
  readonly readStats: (h: object, out: Float64Array) => number
  readonly drainEvents: (h: object, out: Float64Array) => number
  readonly counters: (h: object) => {
    readonly nowMs: number
    readonly sendErrors: number
    readonly loops: number
    readonly commandsQueued: number
    readonly commandsApplied: number
  }
  readonly close: (h: object) => void
  readonly statsReplay: (input: Float64Array) => Float64Array
  readonly STATS_FIELDS: number
  readonly EVENT_FIELDS: number
}

/** Loads the addon built by `npm install` (node-gyp) beside src/ and dist/. */
export const loadAddon = (): NativeAddon => {
  const require = createRequire(import.meta.url)
  return require("../build/Release/rtp_relay.node") as NativeAddon
}

const EADDRINUSE = 98

const toNative = (p: LegProgram): NativeConfig => ({
  peer: p.peer,
  ...(p.remote === undefined ? {} : { remoteHost: p.remote.host, remotePort: p.remote.port }),
  ...(p.remoteRtcp === undefined
    ? {}
    : { remoteRtcpHost: p.remoteRtcp.host, remoteRtcpPort: p.remoteRtcp.port }),
  rtcpMux: p.rtcpMux,
  strict: p.strict,
  forward: p.forward,
  udptl: p.udptl,
  tePt: p.tePt,
  clockRate: p.clockRate,
  ptOut: p.ptOut,
})

export type IoMode = "auto" | "io_uring" | "epoll"

export interface NativePlaneOptions {
  readonly mode: IoMode
  readonly maxLegs: number
  /** io_uring interrupt coalescing in µs (default 200; 0 = return on the first completion). */
  readonly coalesceUs?: number | undefined
}

export const makeNativePlane = (
  options: NativePlaneOptions,
): Effect.Effect<ForwardingPlaneShape, PlaneError, Scope.Scope> =>
  Effect.gen(function* () {
    const addon = loadAddon()
    const handle = yield* Effect.acquireRelease(
      Effect.try({
        try: () =>
          addon.open({ mode: options.mode, maxLegs: options.maxLegs, coalesceUs: options.coalesceUs ?? 200 }),
        catch: () => new PlaneError({ operation: `open (${options.mode})`, errno: -38 }),
      }),
      (h) => Effect.sync(() => addon.close(h)),
    )
    const sf = addon.STATS_FIELDS
    const ef = addon.EVENT_FIELDS
    // Preallocated: one record per leg, reused by every read.
    const stats = new Float64Array(options.maxLegs * sf)
    const events = new Float64Array(1024 * ef)
    const check = (operation: string, rc: number): Effect.Effect<void, PlaneError> =>
      rc === 0 ? Effect.void : Effect.fail(new PlaneError({ operation, errno: rc }))
    return {
      backend: addon.backend(handle),
      addLeg: (slot, host, rtpPort, program) =>
        Effect.suspend((): Effect.Effect<void, PortInUse | PlaneError> => {
          const rc = addon.addLeg(handle, slot, host, rtpPort, toNative(program))
          return rc === -EADDRINUSE ? Effect.fail(new PortInUse({ port: rtpPort })) : check("addLeg", rc)
        }),
      setLeg: (slot, program, keepRemote) =>
        Effect.suspend(() => check("setLeg", addon.setLeg(handle, slot, toNative(program), keepRemote))),
      removeLeg: (slot) =>
        Effect.sync(() => {
          addon.removeLeg(handle, slot)
        }),
      readStats: () =>
        Effect.sync(() => {
          const n = addon.readStats(handle, stats)
          const out: Array<LegCounters> = []
          for (let i = 0; i < n; i++) {
            const r = (k: number): number => stats[i * sf + k] ?? 0
            out.push({
              slot: r(0),
              packets: r(1),
              bytes: r(2),
              expected: r(3),
              received: r(4),
              jitterUnits: r(5),
              lastPacketMs: r(6),
              rtcpPackets: r(7),
              dropped: r(8),
              forwarded: r(9),
              relatches: r(10),
              latched: r(11) === 1,
              remotePort: r(12),
              farEndReports: r(14),
              farEndFraction: r(15),
              farEndLost: r(16),
              farEndJitter: r(17),
              ssrc: r(18),
              clockRate: r(19),
            })
          }
          return out
        }),
      drainEvents: () =>
        Effect.sync(() => {
          const out: Array<DigitEvent> = []
          for (;;) {
            const n = addon.drainEvents(handle, events)
            for (let i = 0; i < n; i++) {
              const r = (k: number): number => events[i * ef + k] ?? 0
              out.push({ slot: r(0), code: r(2), volume: r(3), duration: r(4), clockRate: r(5) })
            }
            if (n < 1024) return out
          }
        }),
      nowMs: () => Effect.sync(() => addon.counters(handle).nowMs),
      settle: (timeoutMs = 1000) =>
        Effect.promise(async () => {
          const target = addon.counters(handle).commandsQueued
          const deadline = Date.now() + timeoutMs
          // 32-bit counters: compare by wrapped difference.
          while (((addon.counters(handle).commandsApplied - target) | 0) < 0) {
            if (Date.now() > deadline) return false
            await new Promise((resolve) => setImmediate(resolve))
          }
          return true
        }),
    }
  })

export const nativePlaneLayer = (options: NativePlaneOptions): Layer.Layer<ForwardingPlane, PlaneError> =>
  Layer.effect(ForwardingPlane, makeNativePlane(options))

// ---------------------------------------------------------------------------------------------------
// Memory plane (tests of the control plane)

export interface MemoryPlane extends ForwardingPlaneShape {
  readonly legs: ReadonlyMap<
    number,
    { readonly host: string; readonly rtpPort: number; readonly program: LegProgram }
  >
  /** Ports that refuse to bind (a foreign process holds them). */
  readonly busyPorts: Set<number>
  /** Counters returned by readStats, by slot (defaults to zeros). */
  readonly counters: Map<number, Partial<LegCounters>>
  readonly pendingEvents: Array<DigitEvent>
  clockMs: number
}

const zeroCounters = (slot: number): LegCounters => ({
  slot,
  packets: 0,
  bytes: 0,
  expected: 0,
  received: 0,
  jitterUnits: 0,
  lastPacketMs: -1,
  rtcpPackets: 0,
  dropped: 0,
  forwarded: 0,
  relatches: 0,
  latched: false,
  remotePort: 0,
  farEndReports: 0,
  farEndFraction: 0,
  farEndLost: 0,
  farEndJitter: 0,
  ssrc: 0,
  clockRate: 8000,
})

export const makeMemoryPlane = (): MemoryPlane => {
  const legs = new Map<number, { host: string; rtpPort: number; program: LegProgram }>()
  const plane: MemoryPlane = {
    backend: "memory",
    legs,
    busyPorts: new Set(),
    counters: new Map(),
    pendingEvents: [],
    clockMs: 0,
    addLeg: (slot, host, rtpPort, program) =>
      Effect.suspend((): Effect.Effect<void, PortInUse> => {
        if (plane.busyPorts.has(rtpPort) || plane.busyPorts.has(rtpPort + 1)) {
          return Effect.fail(new PortInUse({ port: rtpPort }))
        }
        legs.set(slot, { host, rtpPort, program })
        return Effect.void
      }),
    setLeg: (slot, program) =>
      Effect.sync(() => {
        const leg = legs.get(slot)
        if (leg !== undefined) legs.set(slot, { ...leg, program })
      }),
    removeLeg: (slot) =>
      Effect.sync(() => {
        legs.delete(slot)
        plane.counters.delete(slot)
      }),
    readStats: () =>
      Effect.sync(() =>
        [...legs.keys()].map((slot) => ({ ...zeroCounters(slot), ...plane.counters.get(slot) })),
      ),
    drainEvents: () => Effect.sync(() => plane.pendingEvents.splice(0)),
    nowMs: () => Effect.sync(() => plane.clockMs),
    settle: () => Effect.succeed(true),
  }
  return plane
}

export const memoryPlaneLayer = (plane: MemoryPlane): Layer.Layer<ForwardingPlane> =>
  Layer.succeed(ForwardingPlane, plane)
