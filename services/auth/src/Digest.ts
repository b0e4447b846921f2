/**
 * SIP digest computations (RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760): HA1 for MD5 / SHA-256 and their
 * -sess forms, HA2 for qop=auth and auth-int, the response with and without qop (RFC 2069
 * compatibility), and a constant-time verification against a stored HA1. Pure apart from hashing.
 */
import { createHash, timingSafeEqual } from "node:crypto"

export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess"

const hashName = (algorithm: DigestAlgorithm): "md5" | "sha256" =>
  algorithm.startsWith("MD5") ? "md5" : "sha256"

export const digestHash = (algorithm: DigestAlgorithm, text: string | Uint8Array): string =>
  createHash(hashName(algorithm)).update(text).digest("hex")

export const parseAlgorithm = (text: string | undefined): DigestAlgorithm | undefined => {
  switch ((text ?? "MD5").toUpperCase()) {
    case "MD5":
      return "MD5"
    case "MD5-SESS":
      return "MD5-sess"
    case "SHA-256":
      return "SHA-256"
    case "SHA-256-SESS":
      return "SHA-256-sess"
    default:
      return undefined
  }
}

/** RFC 2617 §3.2.2.2 / RFC 7616 §3.4.2: H(username:realm:password) — what the store keeps, never the password. */
export const computeHa1 = (
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string => digestHash(algorithm, `${username}:${realm}:${password}`)

export interface DigestInput {
  readonly algorithm: DigestAlgorithm
  /** The stored H(username:realm:password). */
  readonly ha1: string
  readonly method: string
  readonly uri: string
  readonly nonce: string
  readonly cnonce?: string | undefined
  readonly nc?: string | undefined
  readonly qop?: "auth" | "auth-int" | undefined
  /** The request body, for qop=auth-int. */
  readonly body?: Uint8Array | undefined
}

/** The expected `response` value (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1). */
export const computeResponse = (d: DigestInput): string => {
  // -sess: HA1 = H(H(username:realm:password):nonce:cnonce) (RFC 7616 §3.4.2).
  const ha1 = d.algorithm.endsWith("-sess")
    ? digestHash(d.algorithm, `${d.ha1}:${d.nonce}:${d.cnonce ?? ""}`)
    : d.ha1
  const ha2 =
    d.qop === "auth-int"
      ? digestHash(d.algorithm, `${d.method}:${d.uri}:${digestHash(d.algorithm, d.body ?? new Uint8Array())}`)
      : digestHash(d.algorithm, `${d.method}:${d.uri}`)
  if (d.qop === undefined) return digestHash(d.algorithm, `${ha1}:${d.nonce}:${ha2}`) // RFC 2069
  return digestHash(d.algorithm, `${ha1}:${d.nonce}:${d.nc ?? ""}:${d.cnonce ?? ""}:${d.qop}:${ha2}`)
}

/** Constant-time comparison of the client's response with the expected one. */
export const verifyResponse = (d: DigestInput, response: string): boolean => {
  const expected = Buffer.from(computeResponse(d), "latin1")
  const given = Buffer.from(response.toLowerCase(), "latin1")
  return expected.length === given.length && timingSafeEqual(expected, given)
}
