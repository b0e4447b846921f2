/**
 * Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3), as pure functions producing string keys
 * for a map. Branches with the magic cookie match by branch, sent-by and method (ACK matches its INVITE;
 * CANCEL has its own transaction). Older (RFC 2543) branches fall back to the request's identifying
 * fields.
 */
import { MAGIC_COOKIE } from "../message/Via.js"

/** The facts of a request that identify its server transaction. */
export interface ServerKeyFacts {
  readonly method: string
  readonly branch: string | undefined
  /** Top Via sent-by, host lower-cased with the default port filled in ("host:port"). */
  readonly sentBy: string
  readonly requestUri: string
  readonly callId: string
  readonly cseq: number
  readonly fromTag: string | undefined
  readonly toTag: string | undefined
  /** The top Via as text, for the RFC 2543 fallback. */
  readonly topViaText: string
}

/** §17.2.3: ACK for a non-2xx and the INVITE share a transaction; the key uses INVITE for both. */
const matchMethod = (method: string): string => (method === "ACK" ? "INVITE" : method)

export const isRfc3261Branch = (branch: string | undefined): branch is string =>
  branch !== undefined && branch.length > MAGIC_COOKIE.length && branch.startsWith(MAGIC_COOKIE)

/**
 * The server transaction key. For RFC 2543 requests (§17.2.3 last paragraph) INVITE and ACK leave the
 * To-tag out: the ACK carries the tag of the response while the initial INVITE had none, and an in-dialog
 * INVITE's tag equals its ACK's, so the remaining fields identify the transaction on their own.
 */
export const serverTransactionKey = (f: ServerKeyFacts): string => {
  if (isRfc3261Branch(f.branch)) return `${f.branch}|${f.sentBy}|${matchMethod(f.method)}`
  const toTag = f.method === "ACK" || f.method === "INVITE" ? "" : (f.toTag ?? "")
  return `2543|${f.requestUri}|${toTag}|${f.fromTag ?? ""}|${f.callId}|${f.cseq}|${f.topViaText}|${matchMethod(f.method)}`
}

/** §17.1.3: a response matches the client transaction with the same top-Via branch and CSeq method. */
export const clientTransactionKey = (branch: string, cseqMethod: string): string => `${branch}|${cseqMethod}`
