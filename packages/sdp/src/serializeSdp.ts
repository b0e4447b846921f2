/**
 * SDP serializer (RFC 8866 §5): every line ends with CRLF, fields are separated by one space. For a
 * description parsed from well-formed text this gives back the same text, octet for octet.
 */
import { formatAttribute, formatConnection } from "./Attribute.js"
import type { MediaDescription, SdpLine, SessionDescription } from "./SessionDescription.js"

export const formatLine = (l: SdpLine): string => {
  switch (l.type) {
    case "v":
      return "v=0"
    case "o": {
      const o = l.origin
      return `o=${o.username} ${o.sessionId} ${o.sessionVersion} ${o.netType} ${o.addrType} ${o.address}`
    }
    case "c":
      return `c=${formatConnection(l.connection)}`
    case "b":
      return `b=${l.bwType}:${l.bandwidth}`
    case "t":
      return `t=${l.start} ${l.stop}`
    case "a":
      return `a=${formatAttribute(l.attribute)}`
    case "unknown":
      return `${l.letter}=${l.text}`
    default:
      return `${l.type}=${l.text}`
  }
}

export const formatMediaLine = (m: MediaDescription): string =>
  `m=${m.media} ${m.port}${m.portCount === undefined ? "" : `/${m.portCount}`} ${m.proto}${m.formats
    .map((f) => ` ${f}`)
    .join("")}`

export const serializeSdp = (sdp: SessionDescription): string => {
  let out = ""
  for (const l of sdp.session) out += `${formatLine(l)}\r\n`
  for (const m of sdp.media) {
    out += `${formatMediaLine(m)}\r\n`
    for (const l of m.lines) out += `${formatLine(l)}\r\n`
  }
  return out
}

export const serializeSdpBytes = (sdp: SessionDescription): Uint8Array =>
  new TextEncoder().encode(serializeSdp(sdp))
