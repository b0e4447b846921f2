/**
 * A call as operators see it, read from the two places call control writes: the stored call in KV `calls`
 * (services/call-control CallRecord.ts: the owner, the phase and both legs' dialog identifiers, with the
 * INVITEs and the final response as base64 wire bytes) and the call's last event in CALL_EVENTS (times,
 * trunk, SIP codes, codecs, relay addresses, media stats, trace id). Pure: bytes in, views out; this
 * module reads the record and never writes it.
 */
import { Call, CallState, type Leg, type MediaStreamStats } from "@b2bua/admin-proto"
import type { CallEventV1, CallLegV1, CallStateV1 } from "@b2bua/contracts"
import { parseMessage, type SipRequest, type SipResponse } from "@b2bua/sip"

export interface LegView {
  readonly sipCallId: string
  readonly localTag: string
  readonly remoteTag: string
  readonly fromUri: string
  readonly toUri: string
  readonly remoteAddress: string
  readonly dialogState: "" | "early" | "confirmed" | "terminated"
  readonly sipCode: number
}

export interface StoredCallView {
  readonly id: string
  readonly owner: string
  readonly state: CallStateV1
  readonly a: LegView
  readonly b: LegView
  /** User parts of the caller (From) and callee (Request-URI) of the A-leg, for number filters. */
  readonly numbers: ReadonlyArray<string>
  /** The outbound trunk the B-leg goes through ("" when the record does not say). */
  readonly trunk: string
}

const STATES: ReadonlyArray<CallStateV1> = ["Calling", "Early", "Answered", "Ending", "Ended"]

type Fields = ReadonlyMap<string, unknown>
const fields = (value: unknown): Fields | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value)
    ? new Map(Object.entries(value))
    : undefined
const str = (f: Fields | undefined, k: string): string | undefined => {
  const v = f?.get(k)
  return typeof v === "string" ? v : undefined
}
const num = (f: Fields | undefined, k: string): number | undefined => {
  const v = f?.get(k)
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

const wire = (value: unknown): SipRequest | SipResponse | undefined => {
  if (typeof value !== "string") return undefined
  const r = parseMessage(Buffer.from(value, "base64"))
  return r.ok ? r.message : undefined
}

/** The user part of a SIP/SIPS/TEL URI ("" when none). */
export const userOf = (uri: string): string =>
  /^sips?:([^@;:?]+)@/i.exec(uri)?.[1] ?? /^tel:([^;?]+)/i.exec(uri)?.[1] ?? ""

/** RFC 3261 §12: a dialog is early until a 2xx, confirmed after it, gone when the call ended. */
const dialogStateOf = (state: CallStateV1, answered: boolean, hasDialog: boolean): LegView["dialogState"] => {
  if (state === "Ended") return "terminated"
  if (!hasDialog) return ""
  return answered ? "confirmed" : "early"
}

/** Decodes one `call.<id>` value of KV `calls`; a string says what is wrong. */
export const decodeStoredCall = (key: string, bytes: Uint8Array): StoredCallView | string => {
  const id = key.startsWith("call.") ? key.slice("call.".length) : key
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return `${key}: not JSON`
  }
  const top = fields(value)
  const owner = str(top, "owner")
  if (top?.get("v") !== 1 || owner === undefined) return `${key}: bad version or owner`
  const c = fields(top.get("call"))
  const state = STATES.find((s) => s === c?.get("phase"))
  const aInvite = wire(c?.get("aInvite"))
  const bInvite = wire(c?.get("bInvite"))
  const aFinalText = c?.get("aFinal")
  const aFinal = aFinalText === null || aFinalText === undefined ? undefined : wire(aFinalText)
  if (state === undefined) return `${key}: call.phase`
  if (aInvite?.kind !== "request" || bInvite?.kind !== "request") return `${key}: unreadable INVITEs`
  if (aFinal !== undefined && aFinal.kind !== "response") return `${key}: call.aFinal`
  // Where the current B-leg INVITE went: the chosen gateway of the outbound trunk (`call.dest`).
  const dest = fields(c?.get("dest"))
  const targetHost = str(dest, "host")
  const targetPort = num(dest, "port")
  const aCode = aFinal?.status ?? 0
  const answered = state === "Answered" || (aCode >= 200 && aCode < 300)
  const bRemoteTag = str(c, "bRemoteTag") ?? ""
  return {
    id,
    owner,
    state,
    a: {
      sipCallId: aInvite.callId,
      localTag: str(c, "aTag") ?? "",
      remoteTag: aInvite.fromTag ?? "",
      fromUri: aInvite.from.uri,
      toUri: aInvite.uri,
      remoteAddress: str(fields(top.get("aMeta")), "remote") ?? "",
      // The A-leg's early dialog exists once the suite sent a provisional with its tag (phase Early).
      dialogState: dialogStateOf(state, answered, state !== "Calling" || aCode >= 200),
      sipCode: aCode >= 200 ? aCode : 0,
    },
    b: {
      sipCallId: str(c, "bCallId") ?? bInvite.callId,
      localTag: str(c, "bFromTag") ?? bInvite.fromTag ?? "",
      remoteTag: bRemoteTag,
      fromUri: bInvite.from.uri,
      toUri: bInvite.uri,
      remoteAddress:
        targetHost === undefined || targetPort === undefined
          ? ""
          : targetHost.includes(":")
            ? `[${targetHost}]:${targetPort}`
            : `${targetHost}:${targetPort}`,
      dialogState: dialogStateOf(state, answered, bRemoteTag !== ""),
      sipCode: 0,
    },
    numbers: [
      userOf(aInvite.from.uri),
      userOf(aInvite.uri),
      str(dest, "caller") ?? "",
      str(dest, "called") ?? "",
    ].filter((n) => n !== ""),
    trunk: str(dest, "trunk") ?? "",
  }
}

export const callStateToProto = (state: CallStateV1): CallState => {
  switch (state) {
    case "Calling":
      return CallState.CALL_STATE_CALLING
    case "Early":
      return CallState.CALL_STATE_EARLY
    case "Answered":
      return CallState.CALL_STATE_ANSWERED
    case "Ending":
      return CallState.CALL_STATE_ENDING
    case "Ended":
      return CallState.CALL_STATE_ENDED
  }
}

const mediaOf = (leg: CallLegV1 | undefined): MediaStreamStats | undefined =>
  leg?.media === undefined ? undefined : { ...leg.media }

const legOf = (stored: LegView | undefined, event: CallLegV1 | undefined): Leg => ({
  sipCallId: stored?.sipCallId ?? event?.sipCallId ?? "",
  localTag: stored?.localTag || event?.localTag || "",
  remoteTag: stored?.remoteTag || event?.remoteTag || "",
  fromUri: stored?.fromUri ?? event?.from ?? "",
  toUri: stored?.toUri ?? event?.to ?? "",
  remoteAddress: stored?.remoteAddress || event?.remote || "",
  dialogState: event?.dialogState ?? stored?.dialogState ?? "",
  sipCode: event?.sipCode ?? stored?.sipCode ?? 0,
  codec: event?.codec ?? "",
  relayAddress: event?.relay ?? "",
  media: mediaOf(event),
})

/**
 * The gRPC view: the stored call is authoritative for what it holds (it is what a takeover restores);
 * the event adds what the record does not keep. Either may be absent (an event of a call already
 * removed from KV; a call whose owner has not published an event yet).
 */
export const toProtoCall = (stored: StoredCallView | undefined, event: CallEventV1 | undefined): Call =>
  Call.fromPartial({
    id: stored?.id ?? event?.callId ?? "",
    owner: stored?.owner ?? event?.owner ?? "",
    state: callStateToProto(stored?.state ?? event?.state ?? "Calling"),
    aLeg: legOf(stored?.a, event?.legs.a),
    bLeg: legOf(stored?.b, event?.legs.b),
    trunk: event?.trunk || stored?.trunk || "",
    setupAtMs: event?.setupAt ?? 0,
    ringingAtMs: event?.ringingAt ?? 0,
    answeredAtMs: event?.answeredAt ?? 0,
    endedAtMs: event?.endedAt ?? 0,
    updatedAtMs: event?.at ?? 0,
    traceId: event?.traceId ?? "",
  })
