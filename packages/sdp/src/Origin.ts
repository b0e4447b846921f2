/**
 * The o= line a B2BUA writes on each leg. Each leg is its own session towards the far end, with its own
 * session id; RFC 3264 §8: a new SDP increments the version by one, and the version stays the same when
 * the description did not change (so a re-INVITE that refreshes the session timer changes nothing).
 */
import { mapSessionLines } from "./MediaEdits.js"
import { type Origin, origin, type SessionDescription } from "./SessionDescription.js"
import { serializeSdp } from "./serializeSdp.js"

export type OriginIdentity = Omit<Origin, "sessionVersion">

export const withOrigin = (sdp: SessionDescription, o: Origin): SessionDescription =>
  mapSessionLines(sdp, (l) => (l.type === "o" ? { type: "o", origin: o } : l))

/** The first version of a leg's session; any value is valid (RFC 8866 §5.2), 1 reads as "first". */
export const INITIAL_SESSION_VERSION = "1"

/**
 * `sdp` with the leg's o= line: the previous version when it equals `previous` (the last SDP sent on the
 * leg) line for line, the previous version plus one when it differs, the initial version when the leg
 * had none.
 */
export const stampOrigin = (
  sdp: SessionDescription,
  identity: OriginIdentity,
  previous: SessionDescription | undefined,
): SessionDescription => {
  if (previous === undefined) return withOrigin(sdp, { ...identity, sessionVersion: INITIAL_SESSION_VERSION })
  const before = origin(previous).sessionVersion
  const same = withOrigin(sdp, { ...identity, sessionVersion: before })
  if (serializeSdp(same) === serializeSdp(previous)) return same
  return withOrigin(sdp, { ...identity, sessionVersion: (BigInt(before) + 1n).toString() })
}
