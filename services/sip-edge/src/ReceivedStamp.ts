/**
 * RFC 3261 §18.2.1 and RFC 3581 §4: the server notes where a request really came from in its top Via —
 * `received` when the source address differs from the sent-by host, and the source port in an empty
 * `rport` — so responses find their way back through NATs. Pure.
 */
import { getParam, hasParam, setParam, type Via } from "@b2bua/sip"

const bare = (host: string): string => (host.startsWith("[") ? host.slice(1, -1) : host).toLowerCase()

export const stampReceived = (via: Via, sourceAddress: string, sourcePort: number): Via | undefined => {
  let params = via.params
  let changed = false
  if (bare(via.host) !== bare(sourceAddress)) {
    params = setParam(params, "received", sourceAddress)
    changed = true
  }
  if (hasParam(params, "rport") && getParam(params, "rport") === null) {
    params = setParam(params, "rport", String(sourcePort))
    changed = true
  }
  return changed ? { ...via, params } : undefined
}

/** Where a response to this Via goes (RFC 3261 §18.2.2, RFC 3581 §4): received/rport, else sent-by. */
export const responseDestination = (via: Via): { readonly host: string; readonly port: number } => {
  const received = getParam(via.params, "received")
  const rport = getParam(via.params, "rport")
  const host = received ?? bare(via.host)
  const port =
    rport !== undefined && rport !== null
      ? Number(rport)
      : (via.port ?? (via.transport === "TLS" ? 5061 : 5060))
  return { host, port }
}
