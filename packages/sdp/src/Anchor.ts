/**
 * Media anchoring: rewrites a description so that the far end sees only the relay — the c= lines, the
 * port of each active m= line and its a=rtcp (RFC 3605) become the relay's, and ICE attributes go.
 * Rejected streams (port 0) stay as they are. Pure.
 */
import { mapAttributes, withSectionConnection } from "./MediaEdits.js"
import type { Connection, SdpLine, SessionDescription } from "./SessionDescription.js"

export interface AnchorEndpoint {
  /** The relay's port for the stream (RTP, or UDPTL for T.38). */
  readonly port: number
  /** The relay's RTCP port; RTP + 1 when absent (RFC 3550 §11). */
  readonly rtcpPort?: number
}

export interface AnchorTarget {
  readonly connection: Connection
  /** One endpoint per m= line, by index; `undefined` for a stream that stays rejected. */
  readonly streams: ReadonlyArray<AnchorEndpoint | undefined>
}

// RFC 8839 §5: ICE candidates name the far end's own addresses, and the relay does not run ICE with
// either side; they would leak the other leg's topology and make an ICE agent bypass the relay.
const ICE = new Set([
  "candidate",
  "remote-candidates",
  "end-of-candidates",
  "ice-ufrag",
  "ice-pwd",
  "ice-options",
  "ice-lite",
  "ice-mismatch",
])

const withoutIce = (lines: ReadonlyArray<SdpLine>): ReadonlyArray<SdpLine> =>
  lines.filter((l) => !(l.type === "a" && l.attribute.kind === "other" && ICE.has(l.attribute.name)))

export const anchorMedia = (sdp: SessionDescription, target: AnchorTarget): SessionDescription => {
  const sessionHasC = sdp.session.some((l) => l.type === "c")
  return {
    session: withoutIce(withSectionConnection(sdp.session, target.connection, false)),
    media: sdp.media.map((m, i) => {
      const endpoint = target.streams[i]
      if (m.port === 0 || endpoint === undefined) return m
      const rtcpPort = endpoint.rtcpPort ?? endpoint.port + 1
      const anchored = mapAttributes(m, (a) =>
        a.kind !== "rtcp"
          ? a
          : a.connection === undefined
            ? { kind: "rtcp", port: rtcpPort }
            : { kind: "rtcp", port: rtcpPort, connection: target.connection },
      )
      const { portCount: _ignored, ...single } = anchored
      return {
        ...single,
        port: endpoint.port,
        lines: withoutIce(withSectionConnection(anchored.lines, target.connection, !sessionHasC)),
      }
    }),
  }
}
