/**
 * The suite registering itself with a carrier (RFC 3261 §10.2 as a UAC): the REGISTER it sends, the
 * answer to the carrier's 401/407 (RFC 3261 §22.2, RFC 7616 §3.4), the interval the carrier granted,
 * when to refresh and how long to wait after a failure. Pure: values in, values out.
 */
import {
  buildRequest,
  type DigestChallenge,
  formatNameAddr,
  ProxyAuthenticate,
  type SipRequest,
  type SipResponse,
  WWWAuthenticate,
} from "@b2bua/sip"
import { aorOfUri } from "./Aor.js"
import { sameContactUri } from "./Bindings.js"
import type { OutboundRegistration } from "./Config.js"
import { computeHa1, computeResponse, type DigestAlgorithm, parseAlgorithm } from "./Digest.js"

export interface RegisterSpec {
  readonly registration: OutboundRegistration
  /** The suite's SIP address as the carrier sees it (Via sent-by and Contact). */
  readonly local: { readonly host: string; readonly port: number }
  readonly callId: string
  readonly fromTag: string
  readonly cseq: number
  readonly branch: string
  /** 0 to unregister. */
  readonly expires: number
  /** Authorization / Proxy-Authorization to include (header name and value). */
  readonly credentials?: readonly [string, string] | undefined
}

const hostPort = (h: { readonly host: string; readonly port: number }) =>
  h.host.includes(":") ? `[${h.host}]:${h.port}` : `${h.host}:${h.port}`

/** The Contact the suite registers: the AOR's user at the suite's own address. */
export const contactUri = (spec: Pick<RegisterSpec, "registration" | "local">): string => {
  const user = aorOfUri(spec.registration.aor)?.user ?? spec.registration.username
  const transport = spec.registration.transport === "tcp" ? ";transport=tcp" : ""
  return `sip:${user}@${hostPort(spec.local)}${transport}`
}

/** The Request-URI: the registrar's domain (RFC 3261 §10.2: no user part). */
export const registrarUri = (r: OutboundRegistration): string => {
  const domain = aorOfUri(r.aor)?.domain ?? r.registrar.host
  return `sip:${domain}`
}

export const buildRegister = (spec: RegisterSpec): SipRequest => {
  const r = spec.registration
  const transport = r.transport.toUpperCase()
  const headers: Array<readonly [string, string]> = [
    ["Via", `SIP/2.0/${transport} ${hostPort(spec.local)};branch=${spec.branch};rport`],
    ["Max-Forwards", "70"],
    [
      "From",
      `${formatNameAddr({ displayName: undefined, quoted: false, uri: r.aor, bracketed: true, params: [] })};tag=${spec.fromTag}`,
    ],
    ["To", `<${r.aor}>`],
    ["Call-ID", spec.callId],
    ["CSeq", `${spec.cseq} REGISTER`],
    ["Contact", `<${contactUri(spec)}>`],
    ["Expires", String(spec.expires)],
    ["User-Agent", "b2bua-auth"],
  ]
  if (spec.credentials !== undefined) headers.push(spec.credentials)
  return buildRequest({ method: "REGISTER", uri: registrarUri(r), headers })
}

/** The challenge to answer: SHA-256 before MD5 (RFC 8760 §2.4 / RFC 7616 §3.7), Digest only. */
export const pickChallenge = (
  response: SipResponse,
):
  | { readonly header: "Authorization" | "Proxy-Authorization"; readonly challenge: DigestChallenge }
  | undefined => {
  const proxy = response.status === 407
  let challenges: DigestChallenge[]
  try {
    // One challenge per header field: its parameters are comma-separated, so the field is not split.
    const codec = proxy ? ProxyAuthenticate : WWWAuthenticate
    challenges = response.headerValues(codec.name).map((v) => codec.parse(v))
  } catch {
    return undefined
  }
  const digest = challenges.filter(
    (c) => c.scheme.toLowerCase() === "digest" && parseAlgorithm(c.algorithm) !== undefined,
  )
  const preferred =
    digest.find((c) => parseAlgorithm(c.algorithm)?.startsWith("SHA-256") === true) ?? digest[0]
  return preferred === undefined
    ? undefined
    : { header: proxy ? "Proxy-Authorization" : "Authorization", challenge: preferred }
}

const q = (s: string): string => `"${s.replace(/["\\]/g, (m) => `\\${m}`)}"`

/** RFC 7616 §3.4: the credentials answering `challenge` for a REGISTER to `uri`. */
export const answerChallenge = (options: {
  readonly challenge: DigestChallenge
  readonly username: string
  readonly password: string
  readonly method: string
  readonly uri: string
  readonly nc: number
  readonly cnonce: string
}): string => {
  const c = options.challenge
  const algorithm: DigestAlgorithm = parseAlgorithm(c.algorithm) ?? "MD5"
  const qop = c.qop.includes("auth") ? ("auth" as const) : undefined
  const nc = options.nc.toString(16).padStart(8, "0")
  const response = computeResponse({
    algorithm,
    ha1: computeHa1(algorithm, options.username, c.realm, options.password),
    method: options.method,
    uri: options.uri,
    nonce: c.nonce,
    cnonce: qop === undefined ? undefined : options.cnonce,
    nc: qop === undefined ? undefined : nc,
    qop,
  })
  const parts = [
    `username=${q(options.username)}`,
    `realm=${q(c.realm)}`,
    `nonce=${q(c.nonce)}`,
    `uri=${q(options.uri)}`,
    `response=${q(response)}`,
    `algorithm=${c.algorithm}`,
  ]
  if (qop !== undefined) parts.push(`cnonce=${q(options.cnonce)}`, `qop=${qop}`, `nc=${nc}`)
  if (c.opaque !== undefined) parts.push(`opaque=${q(c.opaque)}`)
  return `Digest ${parts.join(", ")}`
}

/**
 * RFC 3261 §10.2.4: the interval granted is the expires parameter of our Contact in the 200, else the
 * Expires header, else what was asked.
 */
export const grantedExpires = (response: SipResponse, contact: string, requested: number): number => {
  for (const c of response.contacts) {
    if (!sameContactUri(c.uri, contact)) continue
    const e = c.params.find(([n]) => n.toLowerCase() === "expires")?.[1]
    if (e !== undefined && e !== null && /^\d{1,10}$/.test(e)) return Number(e)
  }
  const header = response.header("Expires")
  if (header !== undefined && /^\s*\d{1,10}\s*$/.test(header)) return Number(header.trim())
  return requested
}

/** Refresh well before the binding lapses: at 85% of long intervals, halfway through short ones. */
export const refreshDelayMs = (grantedSeconds: number): number =>
  Math.max(1000, grantedSeconds > 120 ? grantedSeconds * 850 : grantedSeconds * 500)

/** Exponential back-off after failures (attempt 1, 2, ...), capped. */
export const retryDelayMs = (attempt: number, baseMs: number, maxMs: number): number =>
  Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 20)))

/** RFC 3261 §21.4.17: 423 carries the shortest interval the carrier accepts. */
export const minExpiresOf = (response: SipResponse): number | undefined => {
  const v = response.header("Min-Expires")
  return v !== undefined && /^\s*\d{1,10}\s*$/.test(v) ? Number(v.trim()) : undefined
}
