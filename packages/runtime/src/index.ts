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
import { Cause, Context, Effect, Fiber, type Layer, type Scope } from "effect"

/**
 * Graceful drain (SIGTERM): a service registers what it does to stop taking new work and to finish what
 * it has (call control keeps its calls until they end); the runtime runs every registered drain, bounded
 * by the grace period `B2BUA_DRAIN_MS` (default 30 s, below Kubernetes' terminationGracePeriodSeconds),
 * then interrupts the program. A second signal stops at once.
 */
export class Drain extends Context.Service<
  Drain,
  { readonly register: (drain: Effect.Effect<void>) => Effect.Effect<void> }
>()("@b2bua/runtime/Drain") {}

const DEFAULT_DRAIN_MS = 30_000

export interface ServiceDefinition<C, E> {
  readonly service: string
  /** Reads and checks the configuration; throws a tagged error whose message names the key. */
  readonly loadConfig: () => C
  readonly instanceOf: (config: C) => string
  /** The service's own program (it runs until interrupted) and the layers it needs. */
  readonly program: (config: C) => Effect.Effect<never, E, Telemetry | Drain>
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
  const drains: Array<Effect.Effect<void>> = []
  const drainText = process.env.B2BUA_DRAIN_MS ?? String(DEFAULT_DRAIN_MS)
  if (!/^\d{1,7}$/.test(drainText)) {
    logLine(
      "ERROR",
      definition.service,
      `configuration B2BUA_DRAIN_MS: expected milliseconds, got "${drainText}"`,
    )
    process.exit(2)
  }
  const drainMs = Number(drainText)
  const program = definition
    .program(config)
    .pipe(
      Effect.provideService(Drain, { register: (drain) => Effect.sync(() => void drains.push(drain)) }),
      Effect.provide(telemetryLayer(telemetry)),
      Effect.provide(jsonLoggerLayer),
      Effect.annotateLogs({ service: definition.service, instance: telemetry.instance }),
    )
  const fiber = Effect.runFork(program)
  let stopping = false
  const stop = () => {
    if (stopping) return void Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0))
    stopping = true
    if (drains.length > 0) logLine("INFO", definition.service, "draining", { graceMs: String(drainMs) })
    const drain = Effect.all(drains, { concurrency: "unbounded", discard: true }).pipe(
      Effect.timeout(drainMs),
      Effect.ignore,
    )
    void Effect.runPromise(drain.pipe(Effect.andThen(Fiber.interrupt(fiber)))).then(() => process.exit(0))
  }
  process.on("SIGTERM", stop)
  process.on("SIGINT", stop)
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
