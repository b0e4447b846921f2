/** @b2bua/testkit — real parts for tests: nats-server, SIPp, a UDP test user agent, golden files. Dev-only. */
export * from "./freePort.js"
export * from "./golden.js"
export * from "./NatsServer.js"
export * from "./processes.js"
export * from "./Service.js"
export * from "./Sipp.js"
export * from "./TestUserAgent.js"
