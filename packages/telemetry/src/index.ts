/** @b2bua/telemetry — traces bridged to Effect spans, typed metrics on a Prometheus endpoint, JSON logs. */
export * from "./JsonLogger.js"
export * from "./Metrics.js"
export * from "./OtlpReceiver.js"
export * from "./RecordingMetrics.js"
export * from "./Telemetry.js"
export * from "./TelemetryConfig.js"
export { effectTracerFor } from "./Tracing.js"
