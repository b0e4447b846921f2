/**
 * Whether the SDP a message carries is an offer or an answer (RFC 3264 §4, RFC 3261 §13.2.1, RFC 3262
 * §5, RFC 3311 §5.1): the negotiator needs it for every SDP the suite relays. Pure.
 */
import type { SipRequest, SipResponse } from "@b2bua/sip"
import type { Call } from "../CallState.js"
import { isOwnRefresh } from "../SessionTimer.js"

export type SdpRole = "offer" | "answer"

/** Whether a message carries an SDP body. */
export const carriesSdp = (m: SipRequest | SipResponse): boolean =>
  m.body.length > 0 && (m.contentType ?? "").toLowerCase().startsWith("application/sdp")

/** The request a response sent on `toLeg` answers, as the call knows it. */
const answeredRequest = (call: Call, toLeg: "A" | "B", response: SipResponse): SipRequest | undefined => {
  if (toLeg === "A" && response.cseq.seq === call.aInvite.cseq.seq && response.cseq.method === "INVITE")
    return call.aInvite
  if (
    call.reinvite !== undefined &&
    call.reinvite.from === toLeg &&
    call.reinvite.received.cseq.seq === response.cseq.seq
  )
    return call.reinvite.received
  return undefined
}

/** The role of the SDP in `message`, about to be sent on `toLeg`; undefined when it carries no SDP. */
export const sdpRole = (
  call: Call,
  message: SipRequest | SipResponse,
  toLeg: "A" | "B",
): SdpRole | undefined => {
  // A session refresh (RFC 4028) re-offers the suite's SDP on that leg as the negotiator produced it.
  if (!carriesSdp(message) || isOwnRefresh(call, message)) return undefined
  if (message.kind === "request") {
    switch (message.method) {
      case "ACK":
        return "answer"
      // RFC 3262 §5: a PRACK answers an offer in a reliable 1xx (late offer); otherwise it offers anew.
      case "PRACK":
        return call.aInvite.body.length === 0 ? "answer" : "offer"
      default:
        return "offer"
    }
  }
  if (message.cseq.method !== "INVITE") return "answer"
  // The 2xx to a re-INVITE without SDP, relayed with the other leg's offer (LateOffer.ts).
  if (call.lateAck?.relayed === message) return "offer"
  const request = answeredRequest(call, toLeg, message)
  // An INVITE without SDP gets the offer in its 1xx/2xx (late offer, RFC 3261 §13.2.1).
  return request !== undefined && request.body.length === 0 ? "offer" : "answer"
}
