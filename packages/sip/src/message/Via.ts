/**
 * The Via header (RFC 3261 §20.42, §18.2.1) and the RFC 3581 rport parameter.
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params )
 */
import {
  formatHostPort,
  formatParams,
  getParam,
  type Params,
  readHostPort,
  readParams,
  skipWsp,
} from "../grammar/Scanner.js"
import { badHeaderValue } from "./SipParseError.js"

export interface Via {
  /** "SIP/2.0" */
  readonly protocol: string
  /** Upper-case transport token: UDP, TCP, TLS, SCTP, WS, WSS or an extension. */
  readonly transport: string
  readonly host: string
  readonly port: number | undefined
  readonly params: Params
}

/** RFC 3261 §8.1.1.7: branches of RFC 3261 elements start with this magic cookie. */
export const MAGIC_COOKIE = "z9hG4bK"

const readProtocolPart = (s: string, i: number): { part: string; end: number } => {
  const start = i
  while (i < s.length) {
    const c = s.charCodeAt(i)
    if (c === 47 || c === 32 || c === 9) break
    i++
  }
  if (i === start) throw badHeaderValue("Via", "malformed sent-protocol")
  return { part: s.slice(start, i), end: i }
}

const KNOWN_TRANSPORTS: Readonly<Record<string, string>> = {
  UDP: "UDP",
  TCP: "TCP",
  TLS: "TLS",
  WS: "WS",
  WSS: "WSS",
  SCTP: "SCTP",
}

/**
 * Parses one via-parm (one element of the comma list). The common spelling "SIP/2.0/UDP host" takes a
 * fast path; anything else (spaces around the slashes, lower case, other versions) the general one.
 */
export const parseVia = (s: string): Via => {
  if (s.startsWith("SIP/2.0/")) {
    const space = s.indexOf(" ", 8)
    const transport = space > 8 ? KNOWN_TRANSPORTS[s.slice(8, space)] : undefined
    if (transport !== undefined) {
      const { hostPort, end } = readHostPort(s, skipWsp(s, space), "Via header")
      const { params, end: paramsEnd } = readParams(s, end, "Via header")
      if (paramsEnd !== s.length) throw badHeaderValue("Via", "unexpected text after parameters")
      return { protocol: "SIP/2.0", transport, host: hostPort.host, port: hostPort.port, params }
    }
  }
  let i = skipWsp(s, 0)
  const name = readProtocolPart(s, i)
  i = skipWsp(s, name.end)
  if (s.charCodeAt(i) !== 47) throw badHeaderValue("Via", "malformed sent-protocol")
  const version = readProtocolPart(s, skipWsp(s, i + 1))
  i = skipWsp(s, version.end)
  if (s.charCodeAt(i) !== 47) throw badHeaderValue("Via", "malformed sent-protocol")
  const transport = readProtocolPart(s, skipWsp(s, i + 1))
  i = skipWsp(s, transport.end)
  if (i === transport.end) throw badHeaderValue("Via", "missing sent-by")
  const { hostPort, end } = readHostPort(s, i, "Via header")
  const { params, end: paramsEnd } = readParams(s, end, "Via header")
  if (paramsEnd !== s.length) throw badHeaderValue("Via", "unexpected text after parameters")
  const protocol =
    name.part === "SIP" && version.part === "2.0" ? "SIP/2.0" : `${name.part.toUpperCase()}/${version.part}`
  return {
    protocol,
    transport: transport.part.toUpperCase(),
    host: hostPort.host,
    port: hostPort.port,
    params,
  }
}

export const formatVia = (via: Via): string =>
  `${via.protocol}/${via.transport} ${formatHostPort({ host: via.host, port: via.port })}${formatParams(via.params)}`

export const viaBranch = (via: Via): string | undefined => getParam(via.params, "branch") ?? undefined

/** The sent-by of a Via, with the transport's default port when none is written (RFC 3261 §18.2.2). */
export const viaSentBy = (via: Via): string => {
  const port = via.port ?? (via.transport === "TLS" ? 5061 : 5060)
  return `${via.host.toLowerCase()}:${port}`
}
