/**
 * The stored form of a bridged subscription (KV bucket `calls`, key `sub.<hash>`, with `subtag.<tag>`
 * pointers from the suite's two tags), written by its owner when its dialogs change so that another
 * instance can take it over when the owner dies. Messages are kept as their wire bytes (base64), the
 * A-leg envelope as its NATS headers. Transactions in flight are not kept: they die with the owner and
 * the peers retransmit (their copy then starts a new transaction on the new owner). Pure encode/decode.
 */
import {
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeSipEnvelopeHeaders,
  InstanceId,
  isInstanceId,
  type SipEnvelopeMeta,
} from "@b2bua/contracts"
import { parseMessage, type SipRequest, type SipResponse, serializeMessage } from "@b2bua/sip"
import { Result, Schema } from "effect"
import type { Subscription } from "./SubscriptionState.js"

export interface StoredSubscription {
  readonly owner: InstanceId
  readonly aMeta: SipEnvelopeMeta
  readonly subscription: Subscription
}

const Target = Schema.Struct({
  trunk: Schema.String,
  host: Schema.String,
  port: Schema.Int,
  transport: Schema.Literals(["udp", "tcp"]),
  called: Schema.String,
  caller: Schema.String,
  failoverCodes: Schema.Array(Schema.Int),
  noAnswerMs: Schema.Number,
  drop: Schema.Array(Schema.String),
  contactUri: Schema.optional(Schema.String),
})

const Record = Schema.Struct({
  v: Schema.Literal(1),
  owner: Schema.String,
  aMeta: Schema.Record(Schema.String, Schema.String),
  sub: Schema.Struct({
    phase: Schema.Literals(["Subscribing", "Active", "Terminating"]),
    instance: Schema.String,
    random: Schema.String,
    local: Schema.Struct({ host: Schema.String, port: Schema.Int }),
    aSubscribe: Schema.String,
    aTag: Schema.String,
    aTarget: Schema.String,
    aReliable: Schema.Boolean,
    aRemoteSeq: Schema.Int,
    aLocalSeq: Schema.Int,
    aFinal: Schema.optional(Schema.String),
    bCallId: Schema.String,
    bFromTag: Schema.String,
    bSubscribe: Schema.String,
    dest: Target,
    bRemoteTag: Schema.optional(Schema.String),
    bTarget: Schema.optional(Schema.String),
    bRemoteSeq: Schema.optional(Schema.Int),
    bLocalSeq: Schema.Int,
    expiresAt: Schema.optional(Schema.Number),
    txCount: Schema.Int,
    sent: Schema.Int,
  }),
})

const b64 = (m: SipRequest | SipResponse): string => serializeMessage(m).toString("base64")

export const encodeSubscription = (
  owner: InstanceId,
  aMeta: SipEnvelopeMeta,
  s: Subscription,
): Uint8Array => {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      owner,
      aMeta: encodeSipEnvelopeHeaders({ ...aMeta, takeover: false }),
      sub: {
        phase: s.phase,
        instance: s.id.owner.instance,
        random: s.id.random,
        local: s.id.local,
        aSubscribe: b64(s.aSubscribe),
        aTag: s.aTag,
        aTarget: s.aTarget,
        aReliable: s.aReliable,
        aRemoteSeq: s.aRemoteSeq,
        aLocalSeq: s.aLocalSeq,
        aFinal: s.aFinal === undefined ? undefined : b64(s.aFinal),
        bCallId: s.bCallId,
        bFromTag: s.bFromTag,
        bSubscribe: b64(s.bSubscribe),
        dest: s.dest,
        bRemoteTag: s.bRemoteTag,
        bTarget: s.bTarget,
        bRemoteSeq: s.bRemoteSeq,
        bLocalSeq: s.bLocalSeq,
        expiresAt: s.expiresAt,
        txCount: s.txCount,
        sent: s.sent,
      },
    }),
  )
}

const message = (text: string) => {
  const parsed = parseMessage(Buffer.from(text, "base64"))
  return parsed.ok ? parsed.message : undefined
}

/** Decodes a stored subscription; a string names what is wrong. */
export const decodeSubscription = (bytes: Uint8Array): StoredSubscription | string => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    return "stored subscription is not JSON"
  }
  const decoded = Schema.decodeUnknownResult(Record)(value)
  if (Result.isFailure(decoded)) return "stored subscription: unexpected shape"
  const { owner, aMeta: headers, sub } = decoded.success
  if (!isInstanceId(owner) || !isInstanceId(sub.instance)) return "stored subscription: bad owner"
  const aMeta = decodeSipEnvelopeMeta({ get: (name) => headers[name] ?? "" })
  if (aMeta instanceof EnvelopeError) return `stored subscription: aMeta ${aMeta.header}`
  const aSubscribe = message(sub.aSubscribe)
  const bSubscribe = message(sub.bSubscribe)
  const aFinal = sub.aFinal === undefined ? undefined : message(sub.aFinal)
  if (
    aSubscribe?.kind !== "request" ||
    bSubscribe?.kind !== "request" ||
    (sub.aFinal !== undefined && aFinal?.kind !== "response")
  )
    return "stored subscription: unreadable messages"
  const { contactUri, ...target } = sub.dest
  return {
    owner: InstanceId(owner),
    aMeta,
    subscription: {
      phase: sub.phase,
      id: {
        owner: { kind: "callControl", instance: InstanceId(sub.instance) },
        random: sub.random,
        local: sub.local,
      },
      aSubscribe,
      aTag: sub.aTag,
      aTarget: sub.aTarget,
      aReliable: sub.aReliable,
      aRemoteSeq: sub.aRemoteSeq,
      aLocalSeq: sub.aLocalSeq,
      aFinal: aFinal?.kind === "response" ? aFinal : undefined,
      bCallId: sub.bCallId,
      bFromTag: sub.bFromTag,
      bSubscribe,
      dest: contactUri === undefined ? target : { ...target, contactUri },
      nextTargets: [],
      bRemoteTag: sub.bRemoteTag,
      bTarget: sub.bTarget,
      bRemoteSeq: sub.bRemoteSeq,
      bLocalSeq: sub.bLocalSeq,
      expiresAt: sub.expiresAt,
      clients: [],
      servers: [],
      txCount: sub.txCount,
      sent: sub.sent,
    },
  }
}
