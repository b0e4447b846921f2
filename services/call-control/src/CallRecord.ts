/**
 * The stored form of a call (KV bucket `calls`), written by its owner when the call's dialogs change, so
 * that another instance can take the call over when the owner dies — established calls and calls still
 * being set up (the A-leg INVITE, the B-leg INVITE with its branch: B's responses carry it and a CANCEL
 * reuses it, RFC 3261 §9.1; the final response to A; RFC 3262 state: the reliable provisional awaiting
 * A's PRACK and the suite's own PRACK to B; each running timer's deadline; each leg's session timer).
 * Messages are kept as their wire bytes (base64 in JSON); a pending re-INVITE, BYE or late-offer ACK is not
 * kept (its transaction dies with the owner and the peer retransmits or gives up). Pure encode/decode.
 */
import {
  decodeSipEnvelopeMeta,
  EnvelopeError,
  initialMediaState,
  isInstanceId,
  MediaStateV1 as MediaStateSchema,
  type MediaStateV1,
  SdpNegotiationContractError,
  type SipEnvelopeMeta,
} from "@b2bua/contracts"
import { parseMessage, type SipRequest, type SipResponse, serializeMessage } from "@b2bua/sip"
import { Result, Schema } from "effect"
import type { BTarget, Call, CallPhase, PendingReliable } from "./Call.js"
import { decodeSessionTimers, defaultSessionTimerPolicy, encodeSessionTimers } from "./SessionTimer.js"
import { type Deadlines, isCallTimer } from "./Takeover.js"

export interface StoredCall {
  readonly owner: string
  readonly aMeta: SipEnvelopeMeta
  readonly call: Call
  /** The call's media state as the SDP negotiator left it (contracts SdpNegotiation). */
  readonly media: MediaStateV1
  /** When the call's timers fire (epoch ms): the new owner re-arms them (Takeover.ts). */
  readonly deadlines: Deadlines
}

const b64 = (m: SipRequest | SipResponse): string => serializeMessage(m).toString("base64")

export const encodeCall = (
  owner: string,
  aMeta: SipEnvelopeMeta,
  call: Call,
  media: MediaStateV1 = initialMediaState,
  deadlines: Deadlines = {},
): Uint8Array => {
  const {
    aInvite,
    aFinal,
    aProvisional,
    bInvite,
    reinvite: _reinvite,
    byes: _byes,
    relays: _relays,
    reliable,
    bOwnPrack,
    lateAck: _late,
    sessionTimer,
    ...rest
  } = call
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      owner,
      aMeta,
      media,
      deadlines,
      call: {
        ...rest,
        aInvite: b64(aInvite),
        bInvite: b64(bInvite),
        aFinal: aFinal === undefined ? null : b64(aFinal),
        sessionTimer: encodeSessionTimers(sessionTimer),
        aProvisional: aProvisional === undefined ? null : b64(aProvisional),
        bOwnPrack: bOwnPrack === undefined ? null : b64(bOwnPrack),
        reliable:
          reliable === undefined
            ? null
            : { ...reliable, sender: { ...reliable.sender, response: b64(reliable.sender.response) } },
      },
    }),
  )
}

const request = (text: unknown): SipRequest | undefined => {
  if (typeof text !== "string") return undefined
  const r = parseMessage(Buffer.from(text, "base64"))
  return r.ok && r.message.kind === "request" ? r.message : undefined
}

const response = (text: unknown): SipResponse | undefined => {
  if (typeof text !== "string") return undefined
  const r = parseMessage(Buffer.from(text, "base64"))
  return r.ok && r.message.kind === "response" ? r.message : undefined
}

const PHASES: ReadonlyArray<CallPhase> = ["Calling", "Early", "Answered", "Ending", "Ended"]

type Fields = ReadonlyMap<string, unknown>
const fields = (value: unknown): Fields | undefined =>
  typeof value === "object" && value !== null ? new Map(Object.entries(value)) : undefined
const str = (f: Fields, k: string): string | undefined => {
  const v = f.get(k)
  return typeof v === "string" ? v : undefined
}
const num = (f: Fields, k: string): number | undefined => {
  const v = f.get(k)
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}
const hostPort = (value: unknown): { host: string; port: number } | undefined => {
  const f = fields(value)
  const host = f && str(f, "host")
  const port = f && num(f, "port")
  return host === undefined || port === undefined ? undefined : { host, port }
}

const TRANSPORTS = ["udp", "tcp"] as const
const REDIRECT_POLICIES = ["refuse", "relay", "follow"] as const
const REFER_POLICIES = ["refuse", "relay"] as const

const numbers = (value: unknown): ReadonlyArray<number> | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === "number") ? value : undefined
const strings = (value: unknown): ReadonlyArray<string> | undefined =>
  Array.isArray(value) && value.every((v) => typeof v === "string") ? value : undefined

const decodeTarget = (value: unknown): BTarget | undefined => {
  const f = fields(value)
  if (f === undefined) return undefined
  const trunk = str(f, "trunk")
  const host = str(f, "host")
  const port = num(f, "port")
  const transport = TRANSPORTS.find((t) => t === f.get("transport"))
  const called = str(f, "called")
  const caller = str(f, "caller")
  const failoverCodes = numbers(f.get("failoverCodes"))
  const noAnswerMs = num(f, "noAnswerMs")
  const drop = strings(f.get("drop"))
  if (
    trunk === undefined ||
    host === undefined ||
    port === undefined ||
    transport === undefined ||
    called === undefined ||
    caller === undefined ||
    failoverCodes === undefined ||
    noAnswerMs === undefined ||
    drop === undefined
  )
    return undefined
  const contactUri = str(f, "contactUri")
  const redirects = REDIRECT_POLICIES.find((p) => p === f.get("redirects"))
  const refer = REFER_POLICIES.find((p) => p === f.get("refer"))
  return {
    trunk,
    host,
    port,
    transport,
    called,
    caller,
    failoverCodes,
    noAnswerMs,
    drop,
    ...(contactUri === undefined ? {} : { contactUri }),
    ...(redirects === undefined ? {} : { redirects }),
    ...(refer === undefined ? {} : { refer }),
  }
}

const decodeMeta = (value: unknown): SipEnvelopeMeta | undefined => {
  const f = fields(value)
  if (f === undefined) return undefined
  const headers: Record<string, string> = {}
  const edge = str(f, "edge")
  const listener = str(f, "listener")
  const transport = str(f, "transport")
  const local = str(f, "local")
  const remote = str(f, "remote")
  if (
    edge === undefined ||
    listener === undefined ||
    transport === undefined ||
    local === undefined ||
    remote === undefined
  ) {
    return undefined
  }
  headers["B2b-Contract"] = "1"
  headers["B2b-Edge"] = edge
  headers["B2b-Listener"] = listener
  headers["B2b-Transport"] = transport
  headers["B2b-Local"] = local
  headers["B2b-Remote"] = remote
  const connection = str(f, "connection")
  if (connection !== undefined) headers["B2b-Conn"] = connection
  const decoded = decodeSipEnvelopeMeta({ get: (name) => headers[name] ?? "" })
  return decoded instanceof EnvelopeError ? undefined : decoded
}

/** Decodes a stored call; a string names what is wrong. */
export const decodeCall = (bytes: Uint8Array): StoredCall | string => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return "stored call is not JSON"
  }
  const top = fields(value)
  if (top === undefined) return "stored call is not an object"
  const owner = str(top, "owner")
  if (top.get("v") !== 1 || owner === undefined || !isInstanceId(owner))
    return "stored call: bad version or owner"
  const aMeta = decodeMeta(top.get("aMeta"))
  if (aMeta === undefined) return "stored call: aMeta"
  const c = fields(top.get("call"))
  if (c === undefined) return "stored call: call"
  const aInvite = request(c.get("aInvite"))
  const bInvite = request(c.get("bInvite"))
  const aFinalText = c.get("aFinal")
  const aFinal = aFinalText === null ? undefined : response(aFinalText)
  const provisionalText = c.get("aProvisional") ?? null
  const aProvisional = provisionalText === null ? undefined : response(provisionalText)
  const prackText = c.get("bOwnPrack") ?? null
  const bOwnPrack = prackText === null ? undefined : request(prackText)
  const reliableValue = c.get("reliable") ?? null
  const reliable = reliableValue === null ? undefined : decodeReliable(reliableValue)
  if (
    aInvite === undefined ||
    bInvite === undefined ||
    (aFinalText !== null && aFinal === undefined) ||
    (prackText !== null && bOwnPrack === undefined) ||
    (provisionalText !== null && aProvisional === undefined) ||
    (reliableValue !== null && reliable === undefined)
  ) {
    return "stored call: unreadable messages"
  }
  const deadlines = decodeDeadlines(top.get("deadlines"))
  if (deadlines === undefined) return "stored call: deadlines"
  const phase = PHASES.find((p) => p === c.get("phase"))
  const id = fields(c.get("id"))
  const idOwner = id && fields(id.get("owner"))
  const instance = idOwner && str(idOwner, "instance")
  const random = id && str(id, "random")
  const local = id && hostPort(id.get("local"))
  const dest = decodeTarget(c.get("dest"))
  const nextTargets = Array.isArray(c.get("nextTargets"))
    ? (c.get("nextTargets") as ReadonlyArray<unknown>).map(decodeTarget)
    : undefined
  const aTag = str(c, "aTag")
  const aTarget = str(c, "aTarget")
  const bCallId = str(c, "bCallId")
  const bFromTag = str(c, "bFromTag")
  const aLocalSeq = num(c, "aLocalSeq")
  const bLocalSeq = num(c, "bLocalSeq")
  const bTimerA = num(c, "bTimerA")
  const sent = num(c, "sent")
  if (
    phase === undefined ||
    instance === undefined ||
    !isInstanceId(instance) ||
    random === undefined ||
    local === undefined ||
    dest === undefined ||
    nextTargets === undefined ||
    nextTargets.some((t) => t === undefined) ||
    aTag === undefined ||
    aTarget === undefined ||
    bCallId === undefined ||
    bFromTag === undefined ||
    aLocalSeq === undefined ||
    bLocalSeq === undefined ||
    bTimerA === undefined ||
    sent === undefined
  ) {
    return "stored call: missing fields"
  }
  // Session timers (RFC 4028): a record from before them starts without leg timers.
  const sessionTimer = decodeSessionTimers(c.get("sessionTimer"), defaultSessionTimerPolicy)
  if (typeof sessionTimer === "string") return `stored call: ${sessionTimer}`
  const media = decodeMediaState(top.get("media"))
  if (media instanceof SdpNegotiationContractError) return `stored call: ${media.message}`
  return {
    owner,
    aMeta,
    media,
    deadlines,
    call: {
      phase,
      id: { owner: { kind: "callControl", instance }, random, local },
      aInvite,
      aTag,
      aTarget,
      aLocalSeq,
      aFinal,
      aProvisional,
      aAcked: c.get("aAcked") === true,
      aRetransmit: num(c, "aRetransmit") ?? 0,
      bCallId,
      bFromTag,
      bInvite,
      dest,
      nextTargets: nextTargets.filter((t): t is BTarget => t !== undefined),
      earlyMedia: c.get("earlyMedia") === true,
      bRemoteTag: str(c, "bRemoteTag"),
      bTarget: str(c, "bTarget"),
      bLocalSeq,
      bHeard: c.get("bHeard") === true,
      bTimerA,
      reinvite: undefined,
      relays: [],
      aRSeq: num(c, "aRSeq") ?? 1,
      reliable,
      bRSeq: num(c, "bRSeq"),
      bOwnPrack,
      lateAck: undefined,
      byes: [],
      sessionTimer,
      sent,
      redirected: num(c, "redirected"),
      aRefer: REFER_POLICIES.find((p) => p === c.get("aRefer")),
    },
  }
}

/** The stored media state, checked with the contract's schema; absent (older records) means none yet. */
const decodeMediaState = (value: unknown): MediaStateV1 | SdpNegotiationContractError => {
  if (value === undefined) return initialMediaState
  const decoded = Schema.decodeUnknownResult(MediaStateSchema)(value)
  return Result.isSuccess(decoded)
    ? decoded.success
    : new SdpNegotiationContractError({ field: "media", reason: "not a media state" })
}

/** The reliable provisional awaiting A's PRACK: its response and the sender's numbers (RFC 3262 §3). */
const decodeReliable = (value: unknown): PendingReliable | undefined => {
  const f = fields(value)
  const sender = f && fields(f.get("sender"))
  const rack = sender && fields(sender.get("rack"))
  if (f === undefined || sender === undefined || rack === undefined) return undefined
  const bRSeq = num(f, "bRSeq")
  const message = response(sender.get("response"))
  const state = (["Sending", "Acknowledged", "Failed"] as const).find((s) => s === sender.get("state"))
  const interval = num(sender, "interval")
  const elapsed = num(sender, "elapsed")
  const t1 = num(sender, "T1")
  const rseq = num(rack, "rseq")
  const cseq = num(rack, "cseq")
  const method = str(rack, "method")
  if (
    bRSeq === undefined ||
    message === undefined ||
    state === undefined ||
    interval === undefined ||
    elapsed === undefined ||
    t1 === undefined ||
    rseq === undefined ||
    cseq === undefined ||
    method === undefined
  )
    return undefined
  return {
    bRSeq,
    sender: { state, response: message, rack: { rseq, cseq, method }, interval, elapsed, T1: t1 },
  }
}

/** Timer deadlines by name; absent (older records) means none. */
const decodeDeadlines = (value: unknown): Deadlines | undefined => {
  if (value === undefined) return {}
  const f = fields(value)
  if (f === undefined) return undefined
  const out: Partial<Record<string, number>> = {}
  for (const [name, at] of f) {
    if (!isCallTimer(name) || typeof at !== "number" || !Number.isFinite(at)) return undefined
    out[name] = at
  }
  return out
}
