/** @b2bua/contracts — what services say to each other over NATS: subjects, the SIP envelope, ids. */
export * from "./Ids.js"
export * from "./SipEnvelope.js"
export * from "./Subjects.js"
