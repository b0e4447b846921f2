/** @b2bua/rtp-relay — media anchoring: native forwarding plane, session control over NATS. */
export * from "./Config.js"
export * from "./ForwardingPlane.js"
export * from "./PortAllocator.js"
export * from "./RelayService.js"
export * from "./Session.js"
export * from "./SessionManager.js"
