/** @b2bua/sip-edge — exported for tests and for the composition root. */
export * from "./Config.js"
export * from "./Edge.js"
export * from "./OwnerCache.js"
export * from "./ReceivedStamp.js"
export * from "./Router.js"
export * from "./StatelessResponses.js"
export * from "./Transports.js"
