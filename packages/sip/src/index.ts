/**
 * @b2bua/sip — the SIP message core (RFC 3261) and the pure transaction and dialog machines.
 * No sockets, no timers, no NATS: bytes in, data out.
 */

export * from "./dialog/index.js"
export * from "./framing/peekRouting.js"
export * from "./framing/SipStreamFramer.js"
export * from "./grammar/Scanner.js"
export * from "./headers/index.js"
export * from "./message/build.js"
export * from "./message/CSeq.js"
export * from "./message/HeaderField.js"
export * from "./message/HeaderNames.js"
export * from "./message/HotHeaders.js"
export * from "./message/NameAddr.js"
export * from "./message/ParseLimits.js"
export * from "./message/parseMessage.js"
export * from "./message/reasonPhrases.js"
export * from "./message/SipMessage.js"
export * from "./message/SipParseError.js"
export * from "./message/serializeMessage.js"
export * from "./message/Via.js"
export * from "./transaction/index.js"
export * from "./uri/SipUri.js"
export * from "./validation/index.js"
