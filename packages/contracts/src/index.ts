/** @b2bua/contracts — what services say to each other over NATS: subjects, the SIP envelope, ids. */

export * from "./Admin.js"
export * from "./Auth.js"
export * from "./Identifiers.js"
export * from "./Ids.js"
export * from "./NewRequestReply.js"
export * from "./Relay.js"
export * from "./Routing.js"
export * from "./SdpNegotiation.js"
export * from "./SipEnvelope.js"
export * from "./Subjects.js"
export * from "./TrunkLoad.js"
