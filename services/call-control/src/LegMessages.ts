/**
 * The messages a call builds on each leg: the B-leg INVITE and ACKs, in-dialog requests on either leg
 * (From/To, CSeq, Via naming the owner, the suite's Contact), responses relayed to A, CANCEL, BYE. Only
 * headers that carry the session's meaning cross from one leg to the other (topology hiding).
 */
import { makeBranch } from "@b2bua/contracts"
import { buildRequest, createResponse, type HeaderList, type SipRequest, type SipResponse } from "@b2bua/sip"
import type { BTarget, Call, CallAction, CallIdentity, HostPort } from "./CallState.js"

/** host:port of a SIP URI (default port 5060), for sending to a Contact. */
export const hostPortOf = (uri: string): HostPort | undefined => {
  const m = /^sips?:(?:[^@]*@)?(\[[^\]]+\]|[^:;>?]+)(?::(\d+))?/i.exec(uri)
  if (m === null) return undefined
  const host = m[1]!.startsWith("[") ? m[1]!.slice(1, -1) : m[1]!
  return { host, port: m[2] === undefined ? 5060 : Number(m[2]) }
}

/** The user part of a SIP/SIPS/tel URI (the number being called or calling). */
export const userPartOf = (uri: string): string => /^(?:sips?|tel):([^@;:]+)/i.exec(uri)?.[1] ?? "anonymous"

/** The suite's Via for its n-th request of a call or subscription (the branch names the owner). */
export const via = (
  call: { readonly id: CallIdentity; readonly dest: Pick<BTarget, "transport"> },
  n: number,
): string =>
  `SIP/2.0/${call.dest.transport.toUpperCase()} ${call.id.local.host}:${call.id.local.port};branch=${makeBranch(call.id.owner, `${call.id.random}${n}`)};rport`

export const contact = (id: CallIdentity): string => `<sip:b2bua@${id.local.host}:${id.local.port}>`

/**
 * Headers whose meaning is the session's, not the hop's: copied from one leg's request to the other's.
 * Session-Expires and Min-SE are not: each leg negotiates its own session timer (SessionTimer.ts).
 */
export const END_TO_END = ["content-type", "supported", "allow", "privacy", "p-asserted-identity"]

export const endToEnd = (request: SipRequest | SipResponse, drop: ReadonlyArray<string> = []): HeaderList =>
  request.fields
    .filter((f) => END_TO_END.includes(f.key) && f.key !== "content-type" && !drop.includes(f.key))
    .map((f) => [f.name, f.value] as const)

/** Headers of the A-leg INVITE the next hop should see about the call's history, when the trunk allows. */
export const HISTORY = ["diversion", "history-info"]

export const history = (request: SipRequest, drop: ReadonlyArray<string>): HeaderList =>
  request.fields
    .filter((f) => HISTORY.includes(f.key) && !drop.includes(f.key))
    .map((f) => [f.name, f.value] as const)

/** Sends a message on the B-leg to where the current attempt goes. */
export const toB = (call: Call, message: SipRequest | SipResponse): CallAction => ({
  _tag: "SendB",
  message,
  to: target(call),
  transport: call.dest.transport,
})

/** The B-leg INVITE for one target: fresh branch and CSeq, the target's numbers and header policy;
 * `extra` are the suite's own headers for the leg (its session timer). */
export const inviteToB = (call: Call, dest: BTarget, seq: number, extra: HeaderList = []): SipRequest => {
  const a = call.aInvite
  const targetUri = targetUriOf(dest)
  // RFC 3261 §16.6 step 3 (applied by the B2BUA as a forwarding element): Max-Forwards decremented.
  const maxForwards = (a.maxForwards ?? 70) - 1
  return buildRequest({
    method: "INVITE",
    uri: targetUri,
    headers: [
      ["Via", via({ ...call, dest }, call.sent)],
      ["Max-Forwards", String(maxForwards)],
      ["From", `<sip:${dest.caller}@${formatHost(call.id.local.host)}>;tag=${call.bFromTag}`],
      ["To", `<${targetUri}>`],
      ["Call-ID", call.bCallId],
      ["CSeq", `${seq} INVITE`],
      ["Contact", contact(call.id)],
      ...endToEnd(a, dest.drop),
      ...history(a, dest.drop),
      ...extra,
    ],
    body: a.body,
    ...(a.contentType === undefined ? {} : { contentType: a.contentType }),
  })
}

export const formatHost = (host: string): string => (host.includes(":") ? `[${host}]` : host)

/** The B-leg Request-URI (and To) for a target: a registered contact, else the called number at the gateway. */
export const targetUriOf = (dest: BTarget): string =>
  dest.contactUri ??
  `sip:${dest.called}@${formatHost(dest.host)}:${dest.port}${dest.transport === "tcp" ? ";transport=tcp" : ""}`

/** Relays a B-leg response to the A-leg INVITE with the suite's tag, Contact and the same body. */
export const relayToA = (call: Call, response: SipResponse, extra: HeaderList = []): SipResponse =>
  createResponse(call.aInvite, response.status, {
    reason: response.reason,
    toTag: call.aTag,
    headers: [
      ...(response.status < 300 ? [["Contact", contact(call.id)] as const] : []),
      ...endToEnd(response),
      ...extra,
    ],
    body: response.body,
    ...(response.contentType === undefined ? {} : { contentType: response.contentType }),
  })

/**
 * The ACK for a response to an INVITE the suite sent: for a 2xx a new transaction to the remote target
 * (RFC 3261 §13.2.2.4), for a non-2xx the INVITE's own branch and Request-URI (§17.1.1.3). `body`: the
 * answer to an offer the 2xx carried (late offer, §13.2.1).
 */
export const ackFor = (
  call: Call,
  invite: SipRequest,
  response: SipResponse,
  remoteTarget: string | undefined,
  body?: Body,
): SipRequest => {
  const success = response.status < 300
  const to = invite.headerValues("To")[0]!
  return buildRequest({
    method: "ACK",
    uri: success ? (remoteTarget ?? invite.uri) : invite.uri,
    headers: [
      ["Via", success ? via(call, call.sent) : invite.headerValues("Via")[0]!],
      ["Max-Forwards", "70"],
      ["From", invite.headerValues("From")[0]!],
      ["To", invite.toTag === undefined ? `${to};tag=${response.toTag ?? ""}` : to],
      ["Call-ID", invite.callId],
      ["CSeq", `${invite.cseq.seq} ACK`],
    ],
    ...bodyOptions(body),
  })
}

export const ackToB = (call: Call, response: SipResponse): SipRequest =>
  ackFor(call, call.bInvite, response, response.contacts[0]?.uri ?? call.bTarget)

export interface Body {
  readonly bytes: Buffer
  readonly contentType: string | undefined
}

export const bodyOf = (m: SipRequest | SipResponse): Body | undefined =>
  m.body.length === 0 ? undefined : { bytes: m.body, contentType: m.contentType }

export const bodyOptions = (body: Body | undefined) =>
  body === undefined
    ? {}
    : body.contentType === undefined
      ? { body: body.bytes }
      : { body: body.bytes, contentType: body.contentType }

/** A request in the B-leg dialog (BYE, re-INVITE ...) from the suite. */
export const requestToB = (
  call: Call,
  method: string,
  extra: HeaderList = [],
  body?: Body,
): [Call, SipRequest] => {
  const seq = call.bLocalSeq + 1
  const request = buildRequest({
    method,
    uri: call.bTarget ?? call.bInvite.uri,
    headers: [
      ["Via", via(call, call.sent)],
      ["Max-Forwards", "70"],
      ["From", call.bInvite.headerValues("From")[0]!],
      ["To", `${call.bInvite.headerValues("To")[0]!};tag=${call.bRemoteTag ?? ""}`],
      ["Call-ID", call.bCallId],
      ["CSeq", `${seq} ${method}`],
      ...extra,
    ],
    ...bodyOptions(body),
  })
  return [{ ...call, bLocalSeq: seq, sent: call.sent + 1 }, request]
}

/** The caller's transport (its INVITE's top Via): the Via of the suite's requests to A names it. */
const aTransport = (call: Call): "udp" | "tcp" => (call.aInvite.topVia.transport === "TCP" ? "tcp" : "udp")

/** A request in the A-leg dialog from the suite: From/To swapped, the caller's Contact as target (§12.2.1.1). */
export const requestToA = (
  call: Call,
  method: string,
  extra: HeaderList = [],
  body?: Body,
): [Call, SipRequest] => {
  const seq = call.aLocalSeq + 1
  const a = call.aInvite
  const request = buildRequest({
    method,
    uri: call.aTarget,
    headers: [
      ["Via", via({ id: call.id, dest: { transport: aTransport(call) } }, call.sent)],
      ["Max-Forwards", "70"],
      ["From", `${a.headerValues("To")[0]!};tag=${call.aTag}`],
      ["To", a.headerValues("From")[0]!],
      ["Call-ID", a.callId],
      ["CSeq", `${seq} ${method}`],
      ...extra,
    ],
    ...bodyOptions(body),
  })
  return [{ ...call, aLocalSeq: seq, sent: call.sent + 1 }, request]
}

/** CANCEL of the B-leg INVITE: same Request-URI, Call-ID, From, To and top Via branch (§9.1). */
export const cancelToB = (call: Call): SipRequest =>
  buildRequest({
    method: "CANCEL",
    uri: call.bInvite.uri,
    headers: [
      ["Via", call.bInvite.headerValues("Via")[0]!],
      ["Max-Forwards", "70"],
      ["From", call.bInvite.headerValues("From")[0]!],
      ["To", call.bInvite.headerValues("To")[0]!],
      ["Call-ID", call.bCallId],
      ["CSeq", `${call.bInvite.cseq.seq} CANCEL`],
    ],
  })

export const target = (call: Call): HostPort =>
  hostPortOf(call.bTarget ?? "") ?? { host: call.dest.host, port: call.dest.port }
