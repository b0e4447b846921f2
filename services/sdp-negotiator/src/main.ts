/** sdp-negotiator composition root: configuration, the bus, the relay client and directory, the service. */
import { busLayer } from "@b2bua/bus"
import { runScoped, runService } from "@b2bua/runtime"
import { Layer } from "effect"
import { loadConfig } from "./Config.js"
import { runNegotiator } from "./NegotiatorService.js"
import { relayClientLayer } from "./RelayClient.js"
import { relayDirectoryLayer } from "./RelayDirectory.js"

runService({
  service: "sdp-negotiator",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    runScoped(
      Layer.mergeAll(
        relayClientLayer({ timeoutMs: config.relayTimeoutMs }),
        relayDirectoryLayer({ staleMs: config.relayStaleMs }),
      ).pipe(
        Layer.provideMerge(
          busLayer({
            servers: config.natsUrl,
            name: `sdp-negotiator-${config.instance}`,
            jetStreamReplicas: config.jetStreamReplicas,
          }),
        ),
      ),
      runNegotiator(config),
    ),
})
