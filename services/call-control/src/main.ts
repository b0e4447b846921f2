/** call-control composition root: configuration, logging, the bus, the service. Runs until SIGTERM/SIGINT. */
import { busLayer } from "@b2bua/bus"
import { Cause, Effect, Fiber, Layer, Logger } from "effect"
import { runCallControl } from "./CallControl.js"
import { CallControlConfigError, loadConfig } from "./Config.js"

const config = (() => {
  try {
    return loadConfig(process.env)
  } catch (e) {
    if (e instanceof CallControlConfigError) {
      console.error(JSON.stringify({ level: "ERROR", service: "call-control", message: e.message }))
      process.exit(2)
    }
    throw e
  }
})()

const program = Effect.scoped(
  Effect.gen(function* () {
    yield* runCallControl(config)
    return yield* Effect.never
  }),
).pipe(
  Effect.provide(
    Layer.mergeAll(
      busLayer({ servers: config.natsUrl, name: `call-control-${config.instance}` }),
      Logger.layer([Logger.consoleJson]),
    ),
  ),
  Effect.annotateLogs({ service: "call-control", instance: config.instance }),
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
        service: "call-control",
        message: "stopped on failure",
        cause: String(exit.cause),
      }),
    )
    process.exit(1)
  }
})
