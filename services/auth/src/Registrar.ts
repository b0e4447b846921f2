/**
 * The registrar (RFC 3261 §10.3) as the edge hands it REGISTER requests: scanner drop, request checks,
 * digest authentication (401), authorisation of the To AOR (403), the binding update in KV, and the
 * 200 listing every current contact with its remaining expiry. Responses go back through the edge.
 */
import { randomBytes } from "node:crypto"
import type { BusShape } from "@b2bua/bus"
import { type InstanceId, makeTag, type SipEnvelopeMeta } from "@b2bua/contracts"
import {
  createResponse,
  type HeaderList,
  type RequestPolicy,
  type SipRequest,
  serializeMessage,
  validateRequest,
} from "@b2bua/sip"
import { Clock, Effect } from "effect"
import { aorOfHeader, domainOfUri } from "./Aor.js"
import type { Authenticator } from "./Authenticator.js"
import { applyRegister, type BindingSource, contactValue, type RegisterOutcome } from "./Bindings.js"
import type { AuthServiceConfig, DomainSettings } from "./Config.js"
import { sendBytes } from "./EdgeSender.js"
import { readRegister } from "./RegisterRequest.js"
import { ResponseCache, transactionKey } from "./ResponseCache.js"
import { isScanner } from "./Scanners.js"
import type { BindingStore } from "./Stores.js"

const POLICY: RequestPolicy = {
  allowedMethods: ["REGISTER"],
  supportedExtensions: [],
  acceptedContentTypes: [],
  uriSchemes: ["sip", "sips"],
  forwards: false,
}

export interface RegistrarStats {
  registered: number
  challenged: number
  refused: number
  dropped: number
}

export interface Registrar {
  readonly handle: (meta: SipEnvelopeMeta, request: SipRequest) => Effect.Effect<void>
  readonly stats: RegistrarStats
}

export const findDomain = (
  config: AuthServiceConfig,
  host: string | undefined,
): DomainSettings | undefined =>
  host === undefined ? undefined : config.domains.find((d) => d.name === host.toLowerCase())

const sourceOf = (meta: SipEnvelopeMeta): BindingSource => {
  const colon = meta.remote.lastIndexOf(":")
  const host = meta.remote.slice(0, colon).replace(/^\[|\]$/g, "")
  return {
    host,
    port: Number(meta.remote.slice(colon + 1)),
    transport: meta.transport,
    edge: meta.edge,
    listener: meta.listener,
    connection: meta.connection,
  }
}

export const makeRegistrar = (deps: {
  readonly config: AuthServiceConfig
  readonly bus: BusShape
  readonly bindings: BindingStore
  readonly authenticator: Authenticator
}): Registrar => {
  const { config, bus } = deps
  const owner = { kind: "auth" as const, instance: config.instance as InstanceId }
  const cache = new ResponseCache()
  const stats: RegistrarStats = { registered: 0, challenged: 0, refused: 0, dropped: 0 }

  const respond = (
    meta: SipEnvelopeMeta,
    request: SipRequest,
    status: number,
    headers: HeaderList = [],
    reason?: string,
  ) =>
    Effect.gen(function* () {
      const response = createResponse(request, status, {
        headers,
        ...(reason === undefined ? {} : { reason }),
        ...(request.toTag === undefined ? { toTag: makeTag(owner, randomBytes(5).toString("hex")) } : {}),
      })
      const bytes = serializeMessage(response)
      cache.put(transactionKey(request), bytes, yield* Clock.currentTimeMillis)
      yield* sendBytes(bus, meta, bytes).pipe(
        Effect.catch((e) =>
          Effect.logWarning("response not sent").pipe(Effect.annotateLogs({ error: e.message })),
        ),
      )
    })

  const outcomeResponse = (
    meta: SipEnvelopeMeta,
    request: SipRequest,
    outcome: RegisterOutcome,
    now: number,
  ) => {
    switch (outcome._tag) {
      case "Updated":
        stats.registered++
        // §10.3 step 8: every current binding with its remaining expiry, and a Date header.
        return respond(meta, request, 200, [
          ...outcome.bindings.map((b): readonly [string, string] => ["Contact", contactValue(b, now)]),
          ["Date", new Date(now).toUTCString()],
        ])
      case "IntervalTooBrief":
        stats.refused++
        return respond(meta, request, 423, [["Min-Expires", String(outcome.minExpires)]])
      case "OutOfOrder":
        stats.refused++
        return respond(meta, request, 500, [], "Out of order CSeq")
      case "BadRequest":
        stats.refused++
        return respond(meta, request, 400, [], outcome.reason)
      case "TooManyContacts":
        stats.refused++
        return respond(meta, request, 403, [], `More than ${outcome.max} contacts`)
    }
  }

  const handle = (meta: SipEnvelopeMeta, request: SipRequest): Effect.Effect<void> =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      const cached = cache.get(transactionKey(request), now)
      if (cached !== undefined) return yield* sendBytes(bus, meta, cached).pipe(Effect.ignore)
      if (isScanner(request.header("User-Agent"), config.scanners)) {
        stats.dropped++
        return yield* Effect.logInfo("scanner dropped").pipe(Effect.annotateLogs({ source: meta.remote }))
      }
      const invalid = validateRequest(request, POLICY)
      if (invalid !== undefined)
        return yield* respond(meta, request, invalid.status, invalid.headers, invalid.reason)
      // §10.3 step 1: only domains this registrar serves.
      const domain = findDomain(config, domainOfUri(request.uri))
      if (domain === undefined) return yield* respond(meta, request, 404, [], "Domain not served here")
      const source = sourceOf(meta)
      // §10.3 step 3 / §22.2: digest with 401 + WWW-Authenticate.
      const auth = yield* deps.authenticator.authenticate({
        method: "REGISTER",
        header: request.header("Authorization"),
        realm: domain.realm,
        algorithms: domain.algorithms,
        source: source.host,
        body: request.body,
        requestUri: request.uri,
      })
      switch (auth._tag) {
        case "Challenge":
          stats.challenged++
          return yield* respond(
            meta,
            request,
            401,
            auth.headers.map((h): readonly [string, string] => ["WWW-Authenticate", h]),
          )
        case "Blocked":
          stats.refused++
          return yield* respond(meta, request, 403, [], auth.reason)
        case "Malformed":
          stats.refused++
          return yield* respond(meta, request, 400, [], "Bad Authorization header")
        case "Authenticated":
          break
      }
      const credential = auth._tag === "Authenticated" ? auth.credential : undefined
      // §10.3 steps 4 and 5: the To names the AOR; the authenticated user may change only its own.
      const aor = aorOfHeader(request.header("To") ?? "")
      if (aor === undefined || findDomain(config, aor.domain) === undefined)
        return yield* respond(meta, request, 404, [], "Unknown address-of-record")
      if (credential === undefined || credential.aor !== aor.text)
        return yield* respond(meta, request, 403, [], "Not allowed to register this address-of-record")
      const input = readRegister(request, source, now)
      if ("reason" in input) return yield* respond(meta, request, 400, [], input.reason)
      const outcome = yield* deps.bindings.modify(aor.text, (current) => {
        const result = applyRegister(current, input, config.registrar)
        return result._tag === "Updated" && result.changed ? { write: result.bindings, result } : { result }
      })
      if (outcome._tag === "Updated" && outcome.changed)
        yield* Effect.logInfo("bindings updated").pipe(
          Effect.annotateLogs({ aor: aor.text, contacts: String(outcome.bindings.length) }),
        )
      return yield* outcomeResponse(meta, request, outcome, now)
    }).pipe(
      Effect.catch((e) =>
        Effect.logWarning("REGISTER not handled").pipe(
          Effect.annotateLogs({ error: e.message }),
          Effect.andThen(
            respond(meta, request, 500, [["Retry-After", "5"]], "Registrar storage unavailable"),
          ),
        ),
      ),
    )

  return { handle, stats }
}
