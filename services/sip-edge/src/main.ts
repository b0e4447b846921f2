/** sip-edge composition root: configuration, the bus, the edge. */
import { busLayer } from "@b2bua/bus"
import { runScoped, runService } from "@b2bua/runtime"
import { loadConfig } from "./Config.js"
import { runEdge } from "./Edge.js"

runService({
  service: "sip-edge",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    runScoped(busLayer({ servers: config.natsUrl, name: `sip-edge-${config.instance}` }), runEdge(config)),
})
