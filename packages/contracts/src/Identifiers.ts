/**
 * Identifiers the suite generates carry the instance that generated them, so the stateless edge can route
 * what comes back (responses by the top Via branch, in-dialog requests by the To-tag, which is always the
 * suite's own tag on requests it receives in a dialog) without a lookup.
 *
 *   branch  = "z9hG4bK" "b2b" kind instance "." random      (RFC 3261 §8.1.1.7 magic cookie first)
 *   tag     = "b2b" kind instance "." random
 *   kind    = "c" (call control) / "a" (auth)
 *
 * `random` comes from the caller (a cryptographic source in services, fixed values in tests).
 */
import { type InstanceId, isInstanceId } from "./Ids.js"

export type OwnerKind = "callControl" | "auth"

export interface Owner {
  readonly kind: OwnerKind
  readonly instance: InstanceId
}

const KIND_CHAR: Readonly<Record<OwnerKind, string>> = { callControl: "c", auth: "a" }
const RANDOM = /^[A-Za-z0-9]{6,32}$/

const encode = (owner: Owner, random: string): string => {
  if (!RANDOM.test(random)) throw new Error("identifier randomness must be 6-32 letters or digits")
  return `b2b${KIND_CHAR[owner.kind]}${owner.instance}.${random}`
}

const decode = (text: string): Owner | undefined => {
  if (!text.startsWith("b2b") || text.length < 7) return undefined
  const kind = text[3] === "c" ? "callControl" : text[3] === "a" ? "auth" : undefined
  const dot = text.indexOf(".", 4)
  if (kind === undefined || dot < 5) return undefined
  const instance = text.slice(4, dot)
  return isInstanceId(instance) ? { kind, instance } : undefined
}

export const makeBranch = (owner: Owner, random: string): string => `z9hG4bK${encode(owner, random)}`
export const makeTag = (owner: Owner, random: string): string => encode(owner, random)

/** The owner named by a branch the suite generated; undefined for anyone else's branch. */
export const ownerOfBranch = (branch: string | undefined): Owner | undefined =>
  branch?.startsWith("z9hG4bK") === true ? decode(branch.slice(7)) : undefined

/** The owner named by a tag the suite generated; undefined for anyone else's tag. */
export const ownerOfTag = (tag: string | undefined): Owner | undefined =>
  tag === undefined ? undefined : decode(tag)
