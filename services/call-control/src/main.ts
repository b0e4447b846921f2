/** call-control composition root: configuration, the bus, the service. */
import { busLayer } from "@b2bua/bus"
import { Drain, runScoped, runService } from "@b2bua/runtime"
import { Effect } from "effect"
import { runCallControl } from "./CallControl.js"
import { loadConfig } from "./Config.js"

runService({
  service: "call-control",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    Effect.gen(function* () {
      const drain = yield* Drain
      return yield* runScoped(
        busLayer({
          servers: config.natsUrl,
          name: `call-control-${config.instance}`,
          jetStreamReplicas: config.jetStreamReplicas,
        }),
        runCallControl(config, drain.register),
      )
    }),
})
