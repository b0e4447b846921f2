/** @b2bua/bus — NATS as an Effect service, with JetStream KV. */
export * from "./Bus.js"
export * from "./BusErrors.js"
export * from "./Kv.js"
export * from "./Streams.js"
export * from "./TraceContext.js"
