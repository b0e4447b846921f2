/**
 * Branded identifiers, so that a Call-ID cannot be passed where a tag is expected. Instance tokens are
 * also NATS subject tokens and parts of SIP tags and branches: lower-case letters and digits only.
 */
import { randomBytes } from "node:crypto"
import { hostname } from "node:os"
import { Brand } from "effect"

export type CallId = string & Brand.Brand<"CallId">
export type Tag = string & Brand.Brand<"Tag">
export type Branch = string & Brand.Brand<"Branch">
export type InstanceId = string & Brand.Brand<"InstanceId">
export type ConnectionId = string & Brand.Brand<"ConnectionId">
export type ListenerId = string & Brand.Brand<"ListenerId">

export const CallId = Brand.nominal<CallId>()
export const Tag = Brand.nominal<Tag>()
export const Branch = Brand.nominal<Branch>()
export const ConnectionId = Brand.nominal<ConnectionId>()
export const ListenerId = Brand.nominal<ListenerId>()

const INSTANCE = /^[a-z0-9]{1,16}$/

/** An instance token: 1–16 lower-case letters or digits (safe in subjects, tags and branches). */
export const InstanceId = Brand.make<InstanceId>((s) => INSTANCE.test(s))

export const isInstanceId = (s: string): s is InstanceId => INSTANCE.test(s)

/**
 * A process's instance token when its configuration names none: the service's letter, the end of the host
 * name (Kubernetes pod names end in their unique suffix), the process id and randomness — replicas whose
 * host names share a prefix and whose pid is 1 still differ. Fits the 16 characters of an instance token.
 */
export const defaultInstanceId = (letter: string): InstanceId => {
  const host = hostname()
    .replace(/[^a-z0-9]/gi, "")
    .toLowerCase()
    .slice(-5)
  const random = randomBytes(4).readUInt32BE(0).toString(36).padStart(6, "0").slice(0, 5)
  return InstanceId(`${letter}${host}${process.pid.toString(36).slice(-4)}${random}`.slice(0, 16))
}
