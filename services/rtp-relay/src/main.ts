/** rtp-relay composition root: configuration, the bus, the native forwarding plane, the control plane. */
import { busLayer } from "@b2bua/bus"
import { Drain, runScoped, runService } from "@b2bua/runtime"
import { Effect, Layer } from "effect"
import { loadConfig } from "./Config.js"
import { nativePlaneLayer } from "./ForwardingPlane.js"
import { runRelay } from "./RelayService.js"

runService({
  service: "rtp-relay",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.relayId,
  program: (config) =>
    Effect.gen(function* () {
      const drain = yield* Drain
      return yield* runScoped(
        Layer.mergeAll(
          busLayer({
            servers: config.natsUrl,
            name: `rtp-relay-${config.relayId}`,
            jetStreamReplicas: config.jetStreamReplicas,
          }),
          nativePlaneLayer({
            mode: config.io,
            maxLegs: config.maxSessions * 2,
            coalesceUs: config.coalesceUs,
          }),
        ),
        runRelay(config, drain.register),
      )
    }),
})
