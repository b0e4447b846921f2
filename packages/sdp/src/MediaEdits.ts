/**
 * Small immutable edits of a description: they change one kind of line and leave every other line, and
 * the order of all lines, as they were (so what the far end put in its SDP still reaches the other leg).
 */
import type {
  Attribute,
  Connection,
  Direction,
  MediaDescription,
  SdpLine,
  SessionDescription,
} from "./SessionDescription.js"

/** Sets the media-level direction attribute: replaces the first one, or appends one. */
export const withDirection = (m: MediaDescription, direction: Direction): MediaDescription => {
  const line: SdpLine = { type: "a", attribute: { kind: "direction", direction } }
  const at = m.lines.findIndex((l) => l.type === "a" && l.attribute.kind === "direction")
  const lines =
    at < 0
      ? [...m.lines, line]
      : m.lines.flatMap((l, i) =>
          i === at ? [line] : l.type === "a" && l.attribute.kind === "direction" ? [] : [l],
        )
  return { ...m, lines }
}

/** Maps every attribute of a media section; `undefined` removes the line. */
export const mapAttributes = (
  m: MediaDescription,
  f: (a: Attribute) => Attribute | undefined,
): MediaDescription => ({
  ...m,
  lines: m.lines.flatMap((l): ReadonlyArray<SdpLine> => {
    if (l.type !== "a") return [l]
    const a = f(l.attribute)
    return a === undefined ? [] : [{ type: "a", attribute: a }]
  }),
})

/** Replaces every c= of a section, or inserts one where RFC 8866 §5 puts it (after i=) when it has none. */
export const withSectionConnection = (
  lines: ReadonlyArray<SdpLine>,
  connection: Connection,
  insertWhenAbsent: boolean,
): ReadonlyArray<SdpLine> => {
  const line: SdpLine = { type: "c", connection }
  if (lines.some((l) => l.type === "c")) {
    let first = true
    return lines.flatMap((l): ReadonlyArray<SdpLine> => {
      if (l.type !== "c") return [l]
      if (!first) return []
      first = false
      return [line]
    })
  }
  if (!insertWhenAbsent) return lines
  let at = 0
  while (at < lines.length && lines[at]?.type === "i") at++
  return [...lines.slice(0, at), line, ...lines.slice(at)]
}

/** Replaces the session-level lines of one type (o=, c=, ...) by `f`. */
export const mapSessionLines = (
  sdp: SessionDescription,
  f: (l: SdpLine) => SdpLine | undefined,
): SessionDescription => ({
  ...sdp,
  session: sdp.session.flatMap((l) => {
    const r = f(l)
    return r === undefined ? [] : [r]
  }),
})

/** A rejected stream for an answer (RFC 3264 §6): port zero, the offered formats, no attributes. */
export const rejectedStream = (m: MediaDescription): MediaDescription => ({
  media: m.media,
  port: 0,
  proto: m.proto,
  formats: m.formats.length > 0 ? m.formats : ["0"],
  lines: [],
})
