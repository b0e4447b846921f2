/** @b2bua/sdp — SDP (RFC 8866) and offer/answer (RFC 3264). Pure: no sockets, timers or services. */
export * from "./Attribute.js"
export * from "./parseSdp.js"
export * from "./SdpParseError.js"
export * from "./SessionDescription.js"
export * from "./serializeSdp.js"
