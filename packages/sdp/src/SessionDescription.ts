/**
 * The SDP data model (RFC 8866 §5). A description is its session-level lines and its media sections, each
 * kept as an ordered list of typed lines: unknown line types and unknown attributes stay where they were,
 * and serializing a well-formed description gives back its bytes. Typed values live on the lines; the
 * accessors below read them (c= of a media section falls back to the session's, RFC 8866 §5.7).
 *
 * Pure data: no parsing here (see parseSdp.ts), no I/O.
 */

/** RFC 8866 §6.7: the four direction attributes; sendrecv is the default when none is present. */
export type Direction = "sendrecv" | "sendonly" | "recvonly" | "inactive"

export interface Origin {
  readonly username: string
  /** Decimal digits; kept as text because real values exceed 2^53 (NTP timestamps). */
  readonly sessionId: string
  readonly sessionVersion: string
  readonly netType: string
  readonly addrType: string
  readonly address: string
}

export interface Connection {
  readonly netType: string
  readonly addrType: string
  /** The connection address as written, multicast `/ttl/count` suffixes included. */
  readonly address: string
}

export type Attribute =
  /** RFC 8866 §6.6 `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]`. */
  | {
      readonly kind: "rtpmap"
      readonly payloadType: number
      readonly encoding: string
      readonly clockRate: number
      readonly channels?: number
    }
  /** RFC 8866 §6.15 `a=fmtp:<format> <format specific parameters>`. */
  | { readonly kind: "fmtp"; readonly format: string; readonly parameters: string }
  /** RFC 8866 §6.4 and §6.5, milliseconds. */
  | { readonly kind: "ptime" | "maxptime"; readonly ms: number }
  | { readonly kind: "direction"; readonly direction: Direction }
  /** RFC 3605 `a=rtcp:<port> [<nettype> <addrtype> <connection-address>]`. */
  | { readonly kind: "rtcp"; readonly port: number; readonly connection?: Connection }
  /** RFC 5761 §5.1.1. */
  | { readonly kind: "rtcp-mux" }
  /** Any other attribute, as written: `a=<name>` (value undefined) or `a=<name>:<value>`. */
  | { readonly kind: "other"; readonly name: string; readonly value?: string }

/** Lines whose value is kept as text (RFC 8866 §5.3-5.6, §5.10-5.12). */
export type TextLineType = "s" | "i" | "u" | "e" | "p" | "r" | "z" | "k"

export type SdpLine =
  | { readonly type: "v"; readonly version: 0 }
  | { readonly type: "o"; readonly origin: Origin }
  | { readonly type: TextLineType; readonly text: string }
  | { readonly type: "c"; readonly connection: Connection }
  /** RFC 8866 §5.8 `b=<bwtype>:<bandwidth>`. */
  | { readonly type: "b"; readonly bwType: string; readonly bandwidth: number }
  /** RFC 8866 §5.9 `t=<start-time> <stop-time>`, decimal NTP seconds as text. */
  | { readonly type: "t"; readonly start: string; readonly stop: string }
  | { readonly type: "a"; readonly attribute: Attribute }
  /** A type letter RFC 8866 does not define, kept where it was. */
  | { readonly type: "unknown"; readonly letter: string; readonly text: string }

export interface MediaDescription {
  /** RFC 8866 §5.14 `m=<media> <port>[/<number of ports>] <proto> <fmt> ...`. */
  readonly media: string
  readonly port: number
  readonly portCount?: number
  readonly proto: string
  readonly formats: ReadonlyArray<string>
  /** The lines after m=, in order. */
  readonly lines: ReadonlyArray<SdpLine>
}

export interface SessionDescription {
  /** The session-level lines, v= first. */
  readonly session: ReadonlyArray<SdpLine>
  readonly media: ReadonlyArray<MediaDescription>
}

const attributesOf = (lines: ReadonlyArray<SdpLine>): ReadonlyArray<Attribute> =>
  lines.flatMap((l) => (l.type === "a" ? [l.attribute] : []))

export const sessionAttributes = (sdp: SessionDescription): ReadonlyArray<Attribute> =>
  attributesOf(sdp.session)
export const mediaAttributes = (m: MediaDescription): ReadonlyArray<Attribute> => attributesOf(m.lines)

export const origin = (sdp: SessionDescription): Origin => {
  for (const l of sdp.session) if (l.type === "o") return l.origin
  // The parser refuses a description without o=, so only a hand-built value can get here.
  throw new Error("SessionDescription without an o= line")
}

const connectionOf = (lines: ReadonlyArray<SdpLine>): Connection | undefined => {
  for (const l of lines) if (l.type === "c") return l.connection
  return undefined
}

export const sessionConnection = (sdp: SessionDescription): Connection | undefined =>
  connectionOf(sdp.session)

/** The connection of a media section: its own c=, else the session's (RFC 8866 §5.7). */
export const mediaConnection = (sdp: SessionDescription, m: MediaDescription): Connection | undefined =>
  connectionOf(m.lines) ?? connectionOf(sdp.session)

/** RFC 8866 §6.7: a media-level direction overrides the session-level one; sendrecv by default. */
export const mediaDirection = (sdp: SessionDescription, m: MediaDescription): Direction => {
  for (const a of mediaAttributes(m)) if (a.kind === "direction") return a.direction
  for (const a of sessionAttributes(sdp)) if (a.kind === "direction") return a.direction
  return "sendrecv"
}

export const ptimeOf = (m: MediaDescription): number | undefined => {
  for (const a of mediaAttributes(m)) if (a.kind === "ptime") return a.ms
  return undefined
}

export const rtcpOf = (m: MediaDescription): Extract<Attribute, { kind: "rtcp" }> | undefined => {
  for (const a of mediaAttributes(m)) if (a.kind === "rtcp") return a
  return undefined
}

export const hasRtcpMux = (m: MediaDescription): boolean =>
  mediaAttributes(m).some((a) => a.kind === "rtcp-mux")

/** RFC 3264 §5.1, §6: a stream offered or answered with port zero is rejected or disabled. */
export const isRejected = (m: MediaDescription): boolean => m.port === 0
