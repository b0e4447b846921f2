/** sip-edge composition root: configuration, the bus, the edge. */
import { busLayer } from "@b2bua/bus"
import { Drain, runScoped, runService } from "@b2bua/runtime"
import { Effect } from "effect"
import { loadConfig } from "./Config.js"
import { runEdge } from "./Edge.js"

runService({
  service: "sip-edge",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    Effect.gen(function* () {
      const drain = yield* Drain
      return yield* runScoped(
        busLayer({
          servers: config.natsUrl,
          name: `sip-edge-${config.instance}`,
          jetStreamReplicas: config.jetStreamReplicas,
        }),
        runEdge(config, drain.register),
      )
    }),
})
