/**
 * sip-edge composition root: configuration, logging, the bus, the edge. Runs until SIGTERM/SIGINT, then
 * closes its sockets and drains its NATS connection.
 */
import { busLayer } from "@b2bua/bus"
import { Cause, Effect, Fiber, Layer, Logger } from "effect"
import { ConfigError, loadConfig } from "./Config.js"
import { runEdge } from "./Edge.js"

const config = (() => {
  try {
    return loadConfig(process.env)
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(JSON.stringify({ level: "ERROR", service: "sip-edge", message: e.message }))
      process.exit(2)
    }
    throw e
  }
})()

const program = Effect.scoped(
  Effect.gen(function* () {
    yield* runEdge(config)
    return yield* Effect.never
  }),
).pipe(
  Effect.provide(
    Layer.mergeAll(
      busLayer({ servers: config.natsUrl, name: `sip-edge-${config.instance}` }),
      Logger.layer([Logger.consoleJson]),
    ),
  ),
  Effect.annotateLogs({ service: "sip-edge", instance: config.instance }),
)

const fiber = Effect.runFork(program)
const stop = () => {
  void Effect.runPromise(Fiber.interrupt(fiber)).then(() => process.exit(0))
}
process.once("SIGTERM", stop)
process.once("SIGINT", stop)
fiber.addObserver((exit) => {
  if (exit._tag === "Failure" && !Cause.hasInterruptsOnly(exit.cause)) {
    console.error(
      JSON.stringify({
        level: "ERROR",
        service: "sip-edge",
        message: "stopped on failure",
        cause: String(exit.cause),
      }),
    )
    process.exit(1)
  }
})
