/**
 * Call control's answer when the edge hands it a new request on `Subjects.callControlNew()`:
 * either the instance that took it (the edge sends retransmissions and CANCEL there), or a refusal the
 * edge turns into 503 with Retry-After. JSON with a version field; decoding names what is wrong.
 */
import { type InstanceId, isInstanceId } from "./Ids.js"

export type NewRequestReply =
  | { readonly v: 1; readonly owner: InstanceId }
  | { readonly v: 1; readonly refuse: { readonly reason: string; readonly retryAfter: number } }

export const encodeNewRequestReply = (reply: NewRequestReply): Uint8Array =>
  new TextEncoder().encode(JSON.stringify(reply))

export const decodeNewRequestReply = (data: Uint8Array): NewRequestReply | string => {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder().decode(data))
  } catch {
    return "reply is not JSON"
  }
  if (typeof value !== "object" || value === null) return "reply is not an object"
  const r = new Map(Object.entries(value))
  if (r.get("v") !== 1) return "v: expected 1"
  const owner = r.get("owner")
  if (typeof owner === "string") return isInstanceId(owner) ? { v: 1, owner } : "owner: not an instance id"
  const refuse = r.get("refuse")
  if (typeof refuse === "object" && refuse !== null) {
    const f = new Map(Object.entries(refuse))
    const reason = f.get("reason")
    const retryAfter = f.get("retryAfter")
    if (typeof reason !== "string") return "refuse.reason: expected a string"
    if (typeof retryAfter !== "number" || !Number.isInteger(retryAfter) || retryAfter < 0) {
      return "refuse.retryAfter: expected a non-negative integer"
    }
    return { v: 1, refuse: { reason, retryAfter } }
  }
  return "expected owner or refuse"
}
