/**
 * The typed attributes (RFC 8866 §6, RFC 3605, RFC 5761): their value grammar and their text form.
 * `parseAttribute` returns the attribute or the defect; `formatAttribute` is its inverse for well-formed
 * values. Attributes this module does not know stay `other`, written back as received.
 */
import type { Attribute, Connection, Direction } from "./SessionDescription.js"

// RFC 8866 §9 token-char: what attribute names and encoding names are made of.
const TOKEN = /^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$/
const DIGITS = /^[0-9]+$/
// RFC 8866 §6.4: ptime is a non-zero integer or real.
const DECIMAL = /^[0-9]+(\.[0-9]+)?$/

const isDirection = (s: string): s is Direction =>
  s === "sendrecv" || s === "sendonly" || s === "recvonly" || s === "inactive"

export const isToken = (s: string): boolean => TOKEN.test(s)

const integer = (s: string, max: number): number | undefined => {
  if (!DIGITS.test(s) || s.length > 10) return undefined
  const n = Number(s)
  return n <= max ? n : undefined
}

/** Space-separated fields; runs of spaces are accepted on input (written back as one). */
export const fields = (s: string): ReadonlyArray<string> => s.split(" ").filter((f) => f.length > 0)

export const parseConnectionFields = (f: ReadonlyArray<string>): Connection | undefined => {
  const [netType, addrType, address] = f
  if (f.length !== 3 || netType === undefined || addrType === undefined || address === undefined)
    return undefined
  return { netType, addrType, address }
}

export const parseAttribute = (text: string): Attribute | string => {
  const colon = text.indexOf(":")
  const name = colon < 0 ? text : text.slice(0, colon)
  const value = colon < 0 ? undefined : text.slice(colon + 1)
  if (!isToken(name)) return `a=: attribute name "${name}" is not a token`
  switch (name) {
    case "rtpmap": {
      if (value === undefined) return "a=rtpmap: expected <payload type> <encoding>/<clock rate>"
      const [pt, encodingText, ...rest] = fields(value)
      const payloadType = pt === undefined ? undefined : integer(pt, 127)
      if (payloadType === undefined) return "a=rtpmap: payload type must be 0-127"
      if (encodingText === undefined || rest.length > 0) {
        return "a=rtpmap: expected <payload type> <encoding>/<clock rate>"
      }
      const [encoding, rateText, channelsText, ...more] = encodingText.split("/")
      if (encoding === undefined || !isToken(encoding)) return "a=rtpmap: encoding name is not a token"
      const clockRate = rateText === undefined ? undefined : integer(rateText, 4_294_967_295)
      if (clockRate === undefined || clockRate === 0) return "a=rtpmap: clock rate must be a positive integer"
      if (more.length > 0) return "a=rtpmap: too many / separated fields"
      if (channelsText === undefined) return { kind: "rtpmap", payloadType, encoding, clockRate }
      const channels = integer(channelsText, 255)
      if (channels === undefined || channels === 0) return "a=rtpmap: channels must be a positive integer"
      return { kind: "rtpmap", payloadType, encoding, clockRate, channels }
    }
    case "fmtp": {
      const space = value?.indexOf(" ") ?? -1
      if (value === undefined || space <= 0) return "a=fmtp: expected <format> <parameters>"
      const format = value.slice(0, space)
      if (!isToken(format)) return "a=fmtp: format is not a token"
      return { kind: "fmtp", format, parameters: value.slice(space + 1) }
    }
    case "ptime":
    case "maxptime": {
      if (value === undefined || !DECIMAL.test(value) || value.length > 12 || Number(value) === 0) {
        return `a=${name}: expected a positive number of milliseconds`
      }
      return { kind: name, ms: Number(value) }
    }
    case "rtcp": {
      const f = value === undefined ? [] : fields(value)
      const port = f[0] === undefined ? undefined : integer(f[0], 65_535)
      if (port === undefined) return "a=rtcp: port must be 0-65535"
      if (f.length === 1) return { kind: "rtcp", port }
      const connection = parseConnectionFields(f.slice(1))
      if (connection === undefined) return "a=rtcp: expected <port> [<nettype> <addrtype> <address>]"
      return { kind: "rtcp", port, connection }
    }
    case "rtcp-mux":
      if (value !== undefined) return "a=rtcp-mux: takes no value"
      return { kind: "rtcp-mux" }
    default:
      if (isDirection(name)) {
        if (value !== undefined) return `a=${name}: takes no value`
        return { kind: "direction", direction: name }
      }
      return value === undefined ? { kind: "other", name } : { kind: "other", name, value }
  }
}

export const formatConnection = (c: Connection): string => `${c.netType} ${c.addrType} ${c.address}`

export const formatAttribute = (a: Attribute): string => {
  switch (a.kind) {
    case "rtpmap":
      return `rtpmap:${a.payloadType} ${a.encoding}/${a.clockRate}${a.channels === undefined ? "" : `/${a.channels}`}`
    case "fmtp":
      return `fmtp:${a.format} ${a.parameters}`
    case "ptime":
    case "maxptime":
      return `${a.kind}:${a.ms}`
    case "direction":
      return a.direction
    case "rtcp":
      return `rtcp:${a.port}${a.connection === undefined ? "" : ` ${formatConnection(a.connection)}`}`
    case "rtcp-mux":
      return "rtcp-mux"
    case "other":
      return a.value === undefined ? a.name : `${a.name}:${a.value}`
  }
}
