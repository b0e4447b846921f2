/**
 * How every service process runs: configuration read once (a bad value stops the process with exit code
 * 2 and a log line naming the key), telemetry installed from the environment (traces, metrics endpoint,
 * JSON logs with trace ids; see @b2bua/telemetry), structured JSON logs annotated with the service and
 * instance, the program run until SIGTERM/SIGINT, then interrupted so its scopes close (sockets, NATS
 * drain) and the telemetry layer last (buffered spans flushed, metrics endpoint closed), exit 0; any
 * other failure is logged and exits 1.
 */
import {
  jsonLoggerLayer,
  loadTelemetryConfig,
  type Telemetry,
  type TelemetryConfig,
  telemetryLayer,
} from "@b2bua/telemetry"
import { Cause, Effect, Fiber, type Layer, type Scope } from "effect"

export interface ServiceDefinition<C, E> {
  readonly service: string
  /** Reads and checks the configuration; throws a tagged error whose message names the key. */
  readonly loadConfig: () => C
  readonly instanceOf: (config: C) => string
  /** The service's own program (it runs until interrupted) and the layers it needs. */
  readonly program: (config: C) => Effect.Effect<never, E, Telemetry>
  /**
   * Telemetry settings; by default read from the process environment (B2BUA_OTEL_EXPORTER,
   * OTEL_EXPORTER_OTLP_ENDPOINT, B2BUA_METRICS_PORT, B2BUA_METRICS_HOST).
   */
  readonly telemetry?: (config: C) => TelemetryConfig
}

const logLine = (level: string, service: string, message: string, extra: Record<string, string> = {}) =>
  console.error(JSON.stringify({ time: new Date().toISOString(), level, message, service, ...extra }))

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e))

export const runService = <C, E>(definition: ServiceDefinition<C, E>): void => {
  let config: C
  let telemetry: TelemetryConfig
  try {
    config = definition.loadConfig()
    const identity = { service: definition.service, instance: definition.instanceOf(config) }
    telemetry =
      definition.telemetry === undefined
        ? loadTelemetryConfig(process.env, identity)
        : definition.telemetry(config)
  } catch (e) {
    logLine("ERROR", definition.service, errorText(e))
    process.exit(2)
  }
  const program = definition
    .program(config)
    .pipe(
      Effect.provide(telemetryLayer(telemetry)),
      Effect.provide(jsonLoggerLayer),
      Effect.annotateLogs({ service: definition.service, instance: telemetry.instance }),
    )
  const fiber = Effect.runFork(program)
  const stop = () => {
    void Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0))
  }
  process.once("SIGTERM", stop)
  process.once("SIGINT", stop)
  fiber.addObserver((exit) => {
    if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
      logLine("ERROR", definition.service, "stopped on failure", { cause: Cause.pretty(exit.cause) })
      process.exit(1)
    }
  })
}

/** Runs `use` inside a scope with `layer` provided, forever (until interrupted). */
export const runScoped = <A, E, R, E2>(
  layer: Layer.Layer<R, E2>,
  use: Effect.Effect<A, E, R | Scope.Scope>,
): Effect.Effect<never, E | E2> =>
  Effect.scoped(use.pipe(Effect.andThen(Effect.never))).pipe(Effect.provide(layer))
