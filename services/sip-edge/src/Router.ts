/**
 * Where a message goes, decided from the identifiers the suite put in it (see @b2bua/contracts
 * Identifiers) and the edge's short memory of who took each new request. Pure.
 */
import { type InstanceId, type Owner, ownerOfBranch, ownerOfTag, Subjects } from "@b2bua/contracts"
import type { SipMessage } from "@b2bua/sip"

export type Route =
  /** Publish to the instance that owns the dialog or transaction. */
  | { readonly _tag: "Owner"; readonly subject: string; readonly fallback: string }
  /** Ask call control (queue group) to take a new request; the reply names the owner. */
  | { readonly _tag: "New"; readonly subject: string }
  /** Ask the registrar (queue group) to handle a REGISTER. */
  | { readonly _tag: "Registrar"; readonly subject: string }
  | { readonly _tag: "Drop"; readonly reason: string }

/** The key under which the edge remembers who took an initial request: retransmissions and its CANCEL
 * share Call-ID, From-tag and branch (RFC 3261 §9.1, §17.2.3). */
export const initialRequestKey = (m: SipMessage): string =>
  `${m.callId}|${m.fromTag ?? ""}|${m.topVia.params.find(([n]) => n.toLowerCase() === "branch")?.[1] ?? ""}`

const toOwner = (owner: Owner): Route =>
  owner.kind === "callControl"
    ? {
        _tag: "Owner",
        subject: Subjects.callControlInstance(owner.instance),
        fallback: Subjects.callControlTakeover(),
      }
    : { _tag: "Owner", subject: Subjects.authInstance(owner.instance), fallback: Subjects.authRegister() }

export const route = (m: SipMessage, knownOwner: (key: string) => InstanceId | undefined): Route => {
  if (m.kind === "response") {
    const owner = ownerOfBranch(m.topVia.params.find(([n]) => n.toLowerCase() === "branch")?.[1] ?? undefined)
    if (owner === undefined) return { _tag: "Drop", reason: "response to a request the suite did not send" }
    return toOwner(owner)
  }
  const toTag = m.toTag
  if (toTag !== undefined) {
    const owner = ownerOfTag(toTag)
    if (owner !== undefined) {
      return toOwner(owner)
    }
    // An ACK for a response the edge itself sent statelessly (400, 503): nothing to do (RFC 3261 §17.2.1
    // absorbs it; the edge keeps no transaction).
    if (m.method === "ACK") return { _tag: "Drop", reason: "ACK for a stateless response" }
    if (m.method === "REGISTER") return { _tag: "Registrar", subject: Subjects.authRegister() }
    // A tag the suite did not make: call control answers (481 for an unknown dialog).
    return { _tag: "New", subject: Subjects.callControlNew() }
  }
  const known = knownOwner(initialRequestKey(m))
  // A retransmitted REGISTER goes to the auth instance that took the first copy: it holds the response
  // (RFC 3261 §17.2.2); a new REGISTER goes to the registrar's queue group.
  if (m.method === "REGISTER")
    return known !== undefined
      ? toOwner({ kind: "auth", instance: known })
      : { _tag: "Registrar", subject: Subjects.authRegister() }
  if (known !== undefined) return toOwner({ kind: "callControl", instance: known })
  if (m.method === "ACK") return { _tag: "Drop", reason: "ACK outside any transaction" }
  return { _tag: "New", subject: Subjects.callControlNew() }
}
