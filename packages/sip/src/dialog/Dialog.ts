/**
 * The dialog (RFC 3261 §12): identified by Call-ID, local tag and remote tag; created early by a 1xx with
 * a To-tag and confirmed by a 2xx; holds the route set, the remote target and both CSeq spaces. Pure
 * functions over an immutable value; URIs are strings.
 */
export type DialogRole = "Uac" | "Uas"
export type DialogState = "Early" | "Confirmed" | "Terminated"

export interface DialogId {
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
}

export interface Dialog {
  readonly id: DialogId
  readonly role: DialogRole
  readonly state: DialogState
  /** The local sequence number: the last CSeq sent in this dialog (§12.1.1: UAC starts from its request). */
  readonly localSeq: number
  /** The last CSeq received from the peer; undefined until the first request from it (§12.1.2). */
  readonly remoteSeq: number | undefined
  readonly localUri: string
  readonly remoteUri: string
  /** The Contact URI of the peer (§12.1.1, §12.1.2); refreshed by target-refresh requests (§12.2). */
  readonly remoteTarget: string
  /** Route set: Record-Route values, reversed for the UAC (§12.1.2), in order for the UAS (§12.1.1). */
  readonly routeSet: ReadonlyArray<string>
  readonly secure: boolean
}

export const dialogKey = (id: DialogId): string => `${id.callId}|${id.localTag}|${id.remoteTag}`

/** What the UAC knows when a response with a To-tag creates the dialog (§12.1.2). */
export interface UacDialogFacts {
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
  readonly localUri: string
  readonly remoteUri: string
  readonly cseq: number
  readonly status: number
  /** The Contact URI of the response; absent in a 1xx is allowed (the target is then the request URI). */
  readonly contact: string | undefined
  readonly requestUri: string
  /** Record-Route values of the response, in the order received (URIs with their < >). */
  readonly recordRoute: ReadonlyArray<string>
  readonly secure: boolean
}

/** §12.1.2: the UAC creates the dialog from a 1xx (early) or 2xx (confirmed) with a To-tag. */
export const createUacDialog = (f: UacDialogFacts): Dialog => ({
  id: { callId: f.callId, localTag: f.localTag, remoteTag: f.remoteTag },
  role: "Uac",
  state: f.status >= 200 ? "Confirmed" : "Early",
  localSeq: f.cseq,
  remoteSeq: undefined,
  localUri: f.localUri,
  remoteUri: f.remoteUri,
  remoteTarget: f.contact ?? f.requestUri,
  routeSet: [...f.recordRoute].reverse(),
  secure: f.secure,
})

export interface UasDialogFacts {
  readonly callId: string
  readonly localTag: string
  readonly remoteTag: string
  readonly localUri: string
  readonly remoteUri: string
  readonly cseq: number
  readonly contact: string
  readonly recordRoute: ReadonlyArray<string>
  readonly secure: boolean
  /** Status of the response that creates the dialog: 101-199 early, 2xx confirmed. */
  readonly status: number
}

/** §12.1.1: the UAS creates the dialog when it sends a 1xx with a To-tag or a 2xx. */
export const createUasDialog = (f: UasDialogFacts): Dialog => ({
  id: { callId: f.callId, localTag: f.localTag, remoteTag: f.remoteTag },
  role: "Uas",
  state: f.status >= 200 ? "Confirmed" : "Early",
  // §12.1.1: "The local sequence number MUST be empty" — the UAS picks its own when it first sends; zero
  // stands for empty and `nextLocalSeq` starts above it.
  localSeq: 0,
  remoteSeq: f.cseq,
  localUri: f.localUri,
  remoteUri: f.remoteUri,
  remoteTarget: f.contact,
  routeSet: [...f.recordRoute],
  secure: f.secure,
})

/**
 * A response to the dialog-creating request arrives or is sent on an early dialog (§12.3, §13.2.2.4):
 * a 2xx confirms it (and may refresh the target), a non-2xx final terminates it.
 */
export const onFinalResponse = (d: Dialog, status: number, contact?: string): Dialog => {
  if (d.state !== "Early") return d
  if (status >= 200 && status < 300)
    return { ...d, state: "Confirmed", remoteTarget: contact ?? d.remoteTarget }
  if (status >= 300) return { ...d, state: "Terminated" }
  return d
}

export type RemoteRequestVerdict =
  | { readonly _tag: "Accept"; readonly dialog: Dialog }
  /** §12.2.2: "If the remote sequence number was not empty, but the sequence number of the request is
   * lower than the remote sequence number, the request is out of order and MUST be rejected with a 500". */
  | { readonly _tag: "Reject"; readonly status: 500; readonly reason: string }

/** Methods whose requests refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.1, RFC 6665 §4.1.2.1). */
const TARGET_REFRESH = new Set(["INVITE", "UPDATE", "SUBSCRIBE", "NOTIFY", "REFER"])

/** A request within the dialog from the peer (§12.2.2). ACK and CANCEL do not advance the CSeq space. */
export const onRemoteRequest = (
  d: Dialog,
  request: { readonly method: string; readonly cseq: number; readonly contact?: string | undefined },
): RemoteRequestVerdict => {
  if (request.method === "ACK" || request.method === "CANCEL") return { _tag: "Accept", dialog: d }
  if (d.remoteSeq !== undefined && request.cseq < d.remoteSeq) {
    return { _tag: "Reject", status: 500, reason: "CSeq out of order" }
  }
  // A retransmission carries the same CSeq and is handled by its transaction; equal is accepted here.
  const remoteTarget =
    TARGET_REFRESH.has(request.method) && request.contact !== undefined ? request.contact : d.remoteTarget
  return { _tag: "Accept", dialog: { ...d, remoteSeq: request.cseq, remoteTarget } }
}

/**
 * The 2xx to a target-refresh request we sent updates the remote target (§12.2.1.2, RFC 3311 §5.1).
 */
export const onTargetRefreshResponse = (
  d: Dialog,
  method: string,
  status: number,
  contact?: string,
): Dialog =>
  TARGET_REFRESH.has(method) && status >= 200 && status < 300 && contact !== undefined
    ? { ...d, remoteTarget: contact }
    : d

/** §12.2.1.1: the CSeq of each new request is one higher than the last (ACK and CANCEL excepted). */
export const nextLocalSeq = (d: Dialog): readonly [Dialog, number] => {
  const seq = d.localSeq === 0 ? 1 : d.localSeq + 1
  return [{ ...d, localSeq: seq }, seq]
}

export const terminateDialog = (d: Dialog): Dialog => ({ ...d, state: "Terminated" })

/** Where an in-dialog request goes: its Request-URI and Route header values (§12.2.1.1). */
export interface RequestTarget {
  readonly requestUri: string
  readonly routes: ReadonlyArray<string>
}

const stripBrackets = (route: string): string => {
  const lt = route.indexOf("<")
  const gt = route.indexOf(">", lt + 1)
  return lt >= 0 && gt > lt ? route.slice(lt + 1, gt) : route
}

/**
 * §12.2.1.1: with an empty route set, the Request-URI is the remote target. If the first route has the
 * `lr` parameter (loose routing), the Request-URI is the remote target and the routes are the route set;
 * otherwise (strict routing) the Request-URI is the first route (without header parameters) and the
 * remote target is appended as the last Route.
 */
export const requestTarget = (d: Dialog): RequestTarget => {
  const first = d.routeSet[0]
  if (first === undefined) return { requestUri: d.remoteTarget, routes: [] }
  const firstUri = stripBrackets(first)
  if (/;lr(?:[;=>?]|$)/i.test(firstUri)) return { requestUri: d.remoteTarget, routes: d.routeSet }
  return { requestUri: firstUri, routes: [...d.routeSet.slice(1), `<${d.remoteTarget}>`] }
}
