/**
 * The auth service's contract (version 1): subjects and JSON payloads between call control (or the
 * admin API) and the auth service. Pure: schemas, encoders and validating decoders that name the field;
 * no connection code. REGISTER itself travels as a SIP envelope on `Subjects.authRegister()`.
 *
 * Subjects (request/reply, queue group "auth"):
 *   b2b.v1.auth.identify        IdentifyRequest  → IdentifyReply     who sent this request (trunk/user)
 *   b2b.v1.auth.locate          LocateRequest    → LocateReply       the registered contacts of an AOR
 *   b2b.v1.auth.outbound.state  OutboundStateRequest → OutboundStateReply  registrations to carriers
 *   b2b.v1.auth.blocks          AuthBlock, published (no queue group): a cool-down every instance applies
 *
 * Unknown fields are ignored by the decoders, so v1 peers can add optional fields.
 */
import { Result, Schema, SchemaIssue } from "effect"

const PREFIX = "b2b.v1.auth"

export const authSubjects = {
  /** Call control asks which trunk or user a request comes from (or gets a challenge or refusal). */
  identify: (): string => `${PREFIX}.identify`,
  /** Call control asks where a registered address-of-record can be reached. */
  locate: (): string => `${PREFIX}.locate`,
  /** The admin API asks for the state of the suite's own registrations to carriers. */
  outboundState: (): string => `${PREFIX}.outbound.state`,
  /** Between auth instances: a source or user that passed the failure threshold, blocked everywhere. */
  blocks: (): string => `${PREFIX}.blocks`,
} as const

const HostPort = Schema.Struct({
  host: Schema.String,
  port: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 65535 })),
})

// ---------------------------------------------------------------------------------------------------
// identify

export const IdentifyRequest = Schema.Struct({
  v: Schema.Literal(1),
  /** Where the request came from (the envelope's B2b-Remote: the real source, NAT included). */
  source: HostPort,
  method: Schema.String,
  /** The From header value as received (name-addr with its tag). */
  from: Schema.String,
  requestUri: Schema.String,
  /** The Proxy-Authorization header value, when the request carries one. */
  authorization: Schema.optional(Schema.String),
  /** The User-Agent header value, when present: known scanners are dropped without an answer. */
  userAgent: Schema.optional(Schema.String),
})
export type IdentifyRequest = typeof IdentifyRequest.Type

/**
 * - `trunk`: the request comes from this trunk (by source address, and digest when the trunk asks for it).
 * - `user`: a user authenticated by digest; the value is its address-of-record (`sip:alice@example.com`).
 * - `challenge`: answer the request with `status` (407) and a `Proxy-Authenticate` header per entry of
 *   `headers` (most preferred algorithm first, RFC 8760 §2.4); `header` is the first of them.
 * - `refuse`: answer with `status` (403) and `reason` (a reason phrase).
 * - `drop`: send nothing at all (a scanner: an answer would only confirm that something listens).
 */
export const IdentifyReply = Schema.Union([
  Schema.Struct({ v: Schema.Literal(1), trunk: Schema.String }),
  Schema.Struct({ v: Schema.Literal(1), user: Schema.String }),
  Schema.Struct({
    v: Schema.Literal(1),
    challenge: Schema.Struct({
      status: Schema.Literal(407),
      header: Schema.String,
      headers: Schema.optional(Schema.Array(Schema.String)),
    }),
  }),
  Schema.Struct({
    v: Schema.Literal(1),
    refuse: Schema.Struct({ status: Schema.Literal(403), reason: Schema.String }),
  }),
  Schema.Struct({ v: Schema.Literal(1), drop: Schema.Struct({ reason: Schema.String }) }),
])
export type IdentifyReply = typeof IdentifyReply.Type

// ---------------------------------------------------------------------------------------------------
// locate

export const LocateRequest = Schema.Struct({
  v: Schema.Literal(1),
  /** `sip:user@domain` (compared with the user part as written and the domain in lower case). */
  aor: Schema.String,
})
export type LocateRequest = typeof LocateRequest.Type

export const LocatedContact = Schema.Struct({
  /** The Contact URI the user agent registered. */
  uri: Schema.String,
  /** Where the REGISTER really came from (received/rport, RFC 3581): send there when it differs from `uri`. */
  source: Schema.Struct({
    host: Schema.String,
    port: Schema.Int,
    transport: Schema.Literals(["udp", "tcp", "tls"]),
    /** The edge, listener and connection the REGISTER arrived on (connection-oriented transports reuse it). */
    edge: Schema.optional(Schema.String),
    listener: Schema.optional(Schema.String),
    connection: Schema.optional(Schema.String),
  }),
  /** ms since the epoch. */
  expiresAt: Schema.Number,
  /** RFC 3261 §20.10 q-value, 0..1 (1 when not given). Contacts are sorted by q, highest first. */
  q: Schema.Number,
})
export type LocatedContact = typeof LocatedContact.Type

export const LocateReply = Schema.Struct({
  v: Schema.Literal(1),
  contacts: Schema.Array(LocatedContact),
})
export type LocateReply = typeof LocateReply.Type

// ---------------------------------------------------------------------------------------------------
// outbound registration state

export const OutboundStateRequest = Schema.Struct({
  v: Schema.Literal(1),
  /** One trunk, or every trunk when absent. */
  trunk: Schema.optional(Schema.String),
})
export type OutboundStateRequest = typeof OutboundStateRequest.Type

export const OutboundRegistrationState = Schema.Struct({
  trunk: Schema.String,
  /** Unregistered: not (yet) registered or given up; Registering: a REGISTER is in flight; Registered:
   *  the carrier answered 2xx; Failed: the last attempt failed, a retry is scheduled (`nextAttemptAt`). */
  state: Schema.Literals(["Unregistered", "Registering", "Registered", "Failed"]),
  /** The auth instance holding the trunk's lease (the one registering it). */
  owner: Schema.optional(Schema.String),
  /** When the carrier's registration lapses unless refreshed (ms since the epoch). */
  expiresAt: Schema.optional(Schema.Number),
  /** The last final status from the carrier. */
  lastStatus: Schema.optional(Schema.Int),
  lastError: Schema.optional(Schema.String),
  /** When the next REGISTER goes out (refresh or retry), ms since the epoch. */
  nextAttemptAt: Schema.optional(Schema.Number),
  updatedAt: Schema.Number,
})
export type OutboundRegistrationState = typeof OutboundRegistrationState.Type

export const OutboundStateReply = Schema.Struct({
  v: Schema.Literal(1),
  registrations: Schema.Array(OutboundRegistrationState),
})
export type OutboundStateReply = typeof OutboundStateReply.Type

// ---------------------------------------------------------------------------------------------------
// brute-force blocks shared by auth instances

export const AuthBlock = Schema.Struct({
  v: Schema.Literal(1),
  /** `s:<address>` for a source, `u:<realm>:<username>` for a user. */
  key: Schema.String,
  /** End of the cool-down, ms since the epoch. */
  until: Schema.Number,
})
export type AuthBlock = typeof AuthBlock.Type

// ---------------------------------------------------------------------------------------------------
// Encoding and decoding

const encoder = new TextEncoder()
const decoder = new TextDecoder("utf-8", { fatal: true })

/** JSON of any auth payload (undefined fields vanish, as JSON does). */
export const encodeAuthPayload = (
  payload:
    | IdentifyRequest
    | IdentifyReply
    | LocateRequest
    | LocateReply
    | OutboundStateRequest
    | OutboundStateReply
    | AuthBlock,
): Uint8Array => encoder.encode(JSON.stringify(payload))

const formatter = SchemaIssue.makeFormatterStandardSchemaV1()

const pathText = (path: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>): string =>
  path.map((s) => String(typeof s === "object" ? s.key : s)).join(".")

/** Decodes JSON bytes with a schema; a failure is a string naming the field ("source.port: ..."). */
const decodeWith =
  <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) =>
  (data: Uint8Array): S["Type"] | string => {
    let value: unknown
    try {
      value = JSON.parse(decoder.decode(data))
    } catch {
      return "payload is not UTF-8 JSON"
    }
    const decoded = Schema.decodeUnknownResult(schema)(value)
    if (Result.isSuccess(decoded)) return decoded.success
    const issue = formatter(decoded.failure.issue).issues[0]
    if (issue === undefined) return "payload does not match the schema"
    const path = pathText(issue.path ?? [])
    return path === "" ? issue.message : `${path}: ${issue.message}`
  }

export const decodeIdentifyRequest = decodeWith(IdentifyRequest)
export const decodeIdentifyReply = decodeWith(IdentifyReply)
export const decodeLocateRequest = decodeWith(LocateRequest)
export const decodeLocateReply = decodeWith(LocateReply)
export const decodeOutboundStateRequest = decodeWith(OutboundStateRequest)
export const decodeOutboundStateReply = decodeWith(OutboundStateReply)
export const decodeAuthBlock = decodeWith(AuthBlock)
