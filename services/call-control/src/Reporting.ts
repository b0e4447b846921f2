/**
 * What operators see of calls (contracts Admin): a CallEventV1 on stream CALL_EVENTS at every state change
 * of a call, and one CallDetailRecordV1 on stream CDRS when it ends, published durably with the call key
 * as message id so a failover never writes a record twice. Pure builders here; the shell publishes.
 */
import type {
  CallDetailRecordV1,
  CallEventV1,
  CallLegV1,
  DispositionV1,
  HangupByV1,
  MediaStateV1,
} from "@b2bua/contracts"
import type { Call } from "./CallState.js"
import { userPartOf } from "./LegMessages.js"

/** When a call reached each stage, who ended it, and how many events it has published. */
export interface CallTimeline {
  readonly setupAt: number
  ringingAt?: number
  answeredAt?: number
  endedAt?: number
  hangupBy?: HangupByV1
  reason?: string
  /** The last final response of the B-leg INVITE (its attempt's SIP code). */
  bStatus?: number
  seq: number
}

const dialogState = (call: Call, leg: "a" | "b"): CallLegV1["dialogState"] => {
  if (call.phase === "Ended") return "terminated"
  if (call.phase === "Answered" || call.phase === "Ending") return "confirmed"
  const tagged =
    leg === "a" ? call.aFinal !== undefined || call.phase === "Early" : call.bRemoteTag !== undefined
  return tagged ? "early" : undefined
}

const relayOf = (media: MediaStateV1, leg: "a" | "b"): string | undefined => {
  const stream = media.relay?.streams[0]
  return stream === undefined ? undefined : `${stream[leg].host}:${stream[leg].rtpPort}`
}

const legs = (call: Call, aRemote: string, media: MediaStateV1, finalB: number | undefined) => {
  const a: CallLegV1 = {
    sipCallId: call.aInvite.callId,
    localTag: call.aTag,
    ...(call.aInvite.fromTag === undefined ? {} : { remoteTag: call.aInvite.fromTag }),
    from: call.aInvite.from.uri,
    to: call.aInvite.uri,
    remote: aRemote,
    ...optional("dialogState", dialogState(call, "a")),
    ...optional("sipCode", call.aFinal?.status),
    ...optional("relay", relayOf(media, "a")),
  }
  const b: CallLegV1 = {
    sipCallId: call.bCallId,
    localTag: call.bFromTag,
    ...optional("remoteTag", call.bRemoteTag),
    to: call.bInvite.uri,
    remote: `${call.dest.host}:${call.dest.port}`,
    ...optional("dialogState", dialogState(call, "b")),
    ...optional("sipCode", finalB),
    ...optional("relay", relayOf(media, "b")),
  }
  return { a, b }
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

export interface CallView {
  readonly callKey: string
  readonly owner: string
  readonly call: Call
  readonly aRemote: string
  readonly media: MediaStateV1
  readonly inboundTrunk: string | undefined
  readonly outboundTrunk: string | undefined
  readonly timeline: CallTimeline
  readonly traceId?: string | undefined
}

export const callEvent = (view: CallView, at: number): CallEventV1 => {
  const t = view.timeline
  return {
    v: 1,
    seq: t.seq,
    callId: view.callKey,
    owner: view.owner,
    state: view.call.phase,
    at,
    ...optional("trunk", view.inboundTrunk),
    setupAt: t.setupAt,
    ...optional("ringingAt", t.ringingAt),
    ...optional("answeredAt", t.answeredAt),
    ...optional("endedAt", t.endedAt),
    ...optional("reason", t.reason),
    ...optional("traceId", view.traceId),
    legs: legs(view.call, view.aRemote, view.media, view.timeline.bStatus),
  }
}

/** RFC 3261 §21 classes as operators count them. */
export const dispositionOf = (answered: boolean, status: number | undefined): DispositionV1 => {
  if (answered) return "answered"
  if (status === 486 || status === 600) return "busy"
  if (status === 487) return "cancelled"
  if (status === 408 || status === 480) return "no-answer"
  return "failed"
}

export const callDetailRecord = (view: CallView, endedAt: number): CallDetailRecordV1 => {
  const t = view.timeline
  const answeredAt = t.answeredAt
  const status = answeredAt !== undefined ? 200 : (view.call.aFinal?.status ?? 500)
  return {
    v: 1,
    callId: view.callKey,
    owner: view.owner,
    ...optional("trunkIn", view.inboundTrunk),
    ...optional("trunkOut", view.outboundTrunk),
    from: userPartOf(view.call.aInvite.from.uri),
    to: userPartOf(view.call.aInvite.uri),
    setupAt: t.setupAt,
    ...optional("answeredAt", answeredAt),
    endedAt,
    durationMs: answeredAt === undefined ? 0 : Math.max(0, endedAt - answeredAt),
    disposition: dispositionOf(answeredAt !== undefined, view.call.aFinal?.status),
    sipCode: status,
    hangupBy: t.hangupBy ?? (answeredAt === undefined ? "callee" : "system"),
    ...optional("reason", t.reason),
    ...optional("traceId", view.traceId),
    legs: legs(view.call, view.aRemote, view.media, view.timeline.bStatus ?? view.call.aFinal?.status),
  }
}
