/**
 * Stateless nonces (RFC 7616 §3.3 suggests time-stamped nonces): base64url of a timestamp, random bytes
 * and an HMAC-SHA256 over both and the realm with a key every auth instance shares. Any instance can
 * check a nonce without state; an expired one with a correct response earns a new challenge with
 * stale=true (RFC 2617 §3.2.1). The clock is a value passed in.
 */
import { createHmac, timingSafeEqual } from "node:crypto"

const MAC_BYTES = 16

export const makeNonce = (key: Uint8Array, realm: string, nowMs: number, random: Uint8Array): string => {
  const stamp = Buffer.alloc(8)
  stamp.writeBigUInt64BE(BigInt(Math.floor(nowMs)))
  const body = Buffer.concat([stamp, Buffer.from(random)])
  const mac = createHmac("sha256", key).update(body).update(realm).digest().subarray(0, MAC_BYTES)
  return Buffer.concat([body, mac]).toString("base64url")
}

export type NonceCheck =
  | { readonly _tag: "Valid"; readonly issuedAt: number }
  | { readonly _tag: "Stale"; readonly issuedAt: number }
  | { readonly _tag: "Invalid" }

export const checkNonce = (
  key: Uint8Array,
  realm: string,
  nonce: string,
  nowMs: number,
  lifetimeMs: number,
): NonceCheck => {
  const raw = Buffer.from(nonce, "base64url")
  if (raw.length <= 8 + MAC_BYTES || raw.toString("base64url") !== nonce) return { _tag: "Invalid" }
  const body = raw.subarray(0, raw.length - MAC_BYTES)
  const mac = raw.subarray(raw.length - MAC_BYTES)
  const expected = createHmac("sha256", key).update(body).update(realm).digest().subarray(0, MAC_BYTES)
  if (!timingSafeEqual(mac, expected)) return { _tag: "Invalid" }
  const issuedAt = Number(body.readBigUInt64BE(0))
  if (issuedAt > nowMs + 5_000) return { _tag: "Invalid" } // from the future beyond clock skew
  return nowMs - issuedAt > lifetimeMs ? { _tag: "Stale", issuedAt } : { _tag: "Valid", issuedAt }
}
