/** @b2bua/call-control — exported for tests and the composition root. */
export * from "./Call.js"
export * from "./CallControl.js"
export * from "./CallRecord.js"
export * from "./Config.js"
export * from "./SessionTimer.js"
