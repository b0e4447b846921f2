/**
 * Hold and resume (RFC 3264 §8.4): the direction attributes, and the legacy form of RFC 2543 (c= set to
 * 0.0.0.0), which a B2BUA must turn into a direction because it rewrites c= to the relay's address.
 */
import { withDirection } from "./MediaEdits.js"
import {
  type Connection,
  type Direction,
  type MediaDescription,
  mediaConnection,
  mediaDirection,
  type SessionDescription,
} from "./SessionDescription.js"

/** RFC 3264 §8.4: "c=IN IP4 0.0.0.0" was the RFC 2543 way to put a stream on hold. */
export const isLegacyHoldConnection = (c: Connection | undefined): boolean =>
  c !== undefined && c.addrType.toUpperCase() === "IP4" && c.address === "0.0.0.0"

/**
 * The direction a stream really has. With c=0.0.0.0 the holder asks for no media towards itself: what
 * was sendrecv becomes sendonly, what was recvonly becomes inactive.
 */
export const effectiveDirection = (sdp: SessionDescription, m: MediaDescription): Direction => {
  const d = mediaDirection(sdp, m)
  if (!isLegacyHoldConnection(mediaConnection(sdp, m))) return d
  return d === "sendrecv" ? "sendonly" : d === "recvonly" ? "inactive" : d
}

/** Writes the effective direction on every active stream held the legacy way (c= itself is untouched). */
export const normalizeLegacyHold = (sdp: SessionDescription): SessionDescription => ({
  ...sdp,
  media: sdp.media.map((m) =>
    m.port !== 0 && isLegacyHoldConnection(mediaConnection(sdp, m))
      ? withDirection(m, effectiveDirection(sdp, m))
      : m,
  ),
})

/** RFC 3264 §6.1: the direction an answerer that can send and receive gives to an offered direction. */
export const answerDirection = (offered: Direction): Direction =>
  offered === "sendonly" ? "recvonly" : offered === "recvonly" ? "sendonly" : offered

/** Whether a direction puts the other side on hold (it sends nothing towards the one who said it). */
export const isHold = (d: Direction): boolean => d === "sendonly" || d === "inactive"
