/**
 * The SIP envelope: how a SIP message travels between the edge and the services. The payload is the raw
 * SIP bytes, untouched; the transport facts travel in message headers, so nothing on the SIP path is
 * encoded twice (no base64, no JSON). Pure: the bus turns `EnvelopeHeaders` into NATS headers.
 *
 *   B2b-Contract     contract version ("1")
 *   B2b-Edge         edge instance that received (or is to send) the message
 *   B2b-Listener     listener (socket) id on that edge, e.g. "udp:0.0.0.0:5060"
 *   B2b-Transport    udp | tcp | tls
 *   B2b-Local        local address:port of the socket
 *   B2b-Remote       remote address:port (source of a received message, destination of one to send)
 *   B2b-Conn         TCP/TLS connection id (optional)
 *   B2b-Received-At  receive time, ms since the epoch (optional)
 *   B2b-Takeover     "1" when the owner did not answer and another instance must take the call
 *   B2b-Answer-By    when the sender of a request/reply stops waiting for the reply, ms since the epoch
 *                    (optional): on a new INVITE, the edge answers 503 then, so call control must not
 *                    start the call after it (clocks in sync, NTP; a reply in flight at that moment is
 *                    the remaining window, closed by the 2xx's no-ACK BYE, RFC 3261 §13.3.1.4)
 */
import { Data } from "effect"
import { ConnectionId, type InstanceId, isInstanceId, ListenerId } from "./Ids.js"
import { CONTRACT_VERSION } from "./Subjects.js"

export type SipTransport = "udp" | "tcp" | "tls"

export interface SipEnvelopeMeta {
  readonly edge: InstanceId
  readonly listener: ListenerId
  readonly transport: SipTransport
  readonly local: string
  readonly remote: string
  readonly connection?: ConnectionId | undefined
  readonly receivedAt?: number | undefined
  readonly takeover?: boolean | undefined
  readonly answerBy?: number | undefined
}

export interface SipEnvelope {
  readonly meta: SipEnvelopeMeta
  readonly sip: Uint8Array
}

export type EnvelopeHeaders = Readonly<Record<string, string>>

/** A header lookup, as NATS headers provide it. */
export interface HeaderReader {
  get(name: string): string
}

export class EnvelopeError extends Data.TaggedError("EnvelopeError")<{
  readonly header: string
  readonly reason: string
}> {
  override get message(): string {
    return `SIP envelope header ${this.header}: ${this.reason}`
  }
}

export const ENVELOPE_HEADERS = {
  contract: "B2b-Contract",
  edge: "B2b-Edge",
  listener: "B2b-Listener",
  transport: "B2b-Transport",
  local: "B2b-Local",
  remote: "B2b-Remote",
  connection: "B2b-Conn",
  receivedAt: "B2b-Received-At",
  takeover: "B2b-Takeover",
  answerBy: "B2b-Answer-By",
} as const

export const encodeSipEnvelopeHeaders = (meta: SipEnvelopeMeta): EnvelopeHeaders => {
  const h: Record<string, string> = {
    [ENVELOPE_HEADERS.contract]: String(CONTRACT_VERSION),
    [ENVELOPE_HEADERS.edge]: meta.edge,
    [ENVELOPE_HEADERS.listener]: meta.listener,
    [ENVELOPE_HEADERS.transport]: meta.transport,
    [ENVELOPE_HEADERS.local]: meta.local,
    [ENVELOPE_HEADERS.remote]: meta.remote,
  }
  if (meta.connection !== undefined) h[ENVELOPE_HEADERS.connection] = meta.connection
  if (meta.receivedAt !== undefined) h[ENVELOPE_HEADERS.receivedAt] = String(meta.receivedAt)
  if (meta.takeover === true) h[ENVELOPE_HEADERS.takeover] = "1"
  if (meta.answerBy !== undefined) h[ENVELOPE_HEADERS.answerBy] = String(meta.answerBy)
  return h
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/

/** Splits "host:port" (IPv6 in brackets); undefined when malformed. */
export const parseHostPort = (text: string): { readonly host: string; readonly port: number } | undefined => {
  const m = HOST_PORT.exec(text)
  if (m === null) return undefined
  const port = Number(m[2])
  if (port > 65535) return undefined
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!
  return { host, port }
}

export const formatHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** Decodes the envelope headers; fails naming the first missing or invalid header. */
export const decodeSipEnvelopeMeta = (headers: HeaderReader): SipEnvelopeMeta | EnvelopeError => {
  const need = (name: string): string | EnvelopeError => {
    const v = headers.get(name)
    return v === "" ? new EnvelopeError({ header: name, reason: "missing" }) : v
  }
  const contract = need(ENVELOPE_HEADERS.contract)
  if (contract instanceof EnvelopeError) return contract
  if (contract !== String(CONTRACT_VERSION)) {
    return new EnvelopeError({ header: ENVELOPE_HEADERS.contract, reason: `unsupported version ${contract}` })
  }
  const edge = need(ENVELOPE_HEADERS.edge)
  if (edge instanceof EnvelopeError) return edge
  if (!isInstanceId(edge))
    return new EnvelopeError({ header: ENVELOPE_HEADERS.edge, reason: "not an instance id" })
  const listener = need(ENVELOPE_HEADERS.listener)
  if (listener instanceof EnvelopeError) return listener
  const transport = need(ENVELOPE_HEADERS.transport)
  if (transport instanceof EnvelopeError) return transport
  if (transport !== "udp" && transport !== "tcp" && transport !== "tls") {
    return new EnvelopeError({ header: ENVELOPE_HEADERS.transport, reason: `unknown transport ${transport}` })
  }
  const local = need(ENVELOPE_HEADERS.local)
  if (local instanceof EnvelopeError) return local
  if (parseHostPort(local) === undefined)
    return new EnvelopeError({ header: ENVELOPE_HEADERS.local, reason: "not host:port" })
  const remote = need(ENVELOPE_HEADERS.remote)
  if (remote instanceof EnvelopeError) return remote
  if (parseHostPort(remote) === undefined)
    return new EnvelopeError({ header: ENVELOPE_HEADERS.remote, reason: "not host:port" })
  const connection = headers.get(ENVELOPE_HEADERS.connection)
  const receivedAtText = headers.get(ENVELOPE_HEADERS.receivedAt)
  const receivedAt = receivedAtText === "" ? undefined : Number(receivedAtText)
  if (receivedAt !== undefined && !Number.isSafeInteger(receivedAt)) {
    return new EnvelopeError({ header: ENVELOPE_HEADERS.receivedAt, reason: "not a time in ms" })
  }
  const answerByText = headers.get(ENVELOPE_HEADERS.answerBy)
  const answerBy = answerByText === "" ? undefined : Number(answerByText)
  if (answerBy !== undefined && !Number.isSafeInteger(answerBy)) {
    return new EnvelopeError({ header: ENVELOPE_HEADERS.answerBy, reason: "not a time in ms" })
  }
  return {
    edge,
    listener: ListenerId(listener),
    transport,
    local,
    remote,
    connection: connection === "" ? undefined : ConnectionId(connection),
    receivedAt,
    takeover: headers.get(ENVELOPE_HEADERS.takeover) === "1",
    ...(answerBy === undefined ? {} : { answerBy }),
  }
}
