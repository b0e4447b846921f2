/**
 * Reads what the registrar needs from a REGISTER (RFC 3261 §10.2, §10.3): Call-ID, CSeq, the Contact
 * list with each contact's expires and q parameters, `Contact: *`, the Expires header. Pure; a malformed
 * value gives a reason naming it (the 400's reason phrase).
 */
import { Expires, formatParams, getParam, readHeader, type SipRequest } from "@b2bua/sip"
import type { BindingSource, ContactInput, RegisterInput } from "./Bindings.js"

const DELTA = /^\d{1,10}$/
const QVALUE = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/

export const readRegister = (
  request: SipRequest,
  source: BindingSource,
  now: number,
): RegisterInput | { readonly reason: string } => {
  let expiresHeader: number | undefined
  try {
    expiresHeader = readHeader(request, Expires)
  } catch {
    return { reason: "Bad Expires header" }
  }
  const contacts: ContactInput[] = []
  for (const contact of request.contacts) {
    const expiresText = getParam(contact.params, "expires")
    // RFC 3261 §10.2.1.1: expires is delta-seconds; anything else cannot be honoured.
    if (expiresText !== undefined && (expiresText === null || !DELTA.test(expiresText)))
      return { reason: "Bad Contact expires parameter" }
    const qText = getParam(contact.params, "q")
    // RFC 3261 §20.10 / §25.1: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
    if (qText !== undefined && (qText === null || !QVALUE.test(qText)))
      return { reason: "Bad Contact q parameter" }
    const rest = contact.params.filter(([n]) => {
      const name = n.toLowerCase()
      return name !== "expires" && name !== "q"
    })
    contacts.push({
      uri: contact.uri,
      params: formatParams(rest),
      q: qText === undefined ? 1 : Number(qText),
      expires: expiresText === undefined ? undefined : Math.min(Number(expiresText), 2 ** 32 - 1),
    })
  }
  return {
    callId: request.callId,
    cseq: request.cseq.seq,
    star: request.contactStar,
    contacts,
    expiresHeader,
    source,
    now,
  }
}
