/** @b2bua/sdp-negotiator — the modules of the service (main.ts is its composition root). */
export * from "./Config.js"
export * from "./MediaPlan.js"
export * from "./Negotiator.js"
export * from "./NegotiatorService.js"
export * from "./RelayClient.js"
export * from "./RelayDirectory.js"
