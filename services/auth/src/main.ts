/** auth composition root: configuration, the bus, the service. */
import { busLayer } from "@b2bua/bus"
import { runScoped, runService } from "@b2bua/runtime"
import { runAuth } from "./AuthService.js"
import { loadConfig } from "./Config.js"

runService({
  service: "auth",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    runScoped(
      busLayer({
        servers: config.natsUrl,
        name: `auth-${config.instance}`,
        jetStreamReplicas: config.jetStreamReplicas,
      }),
      runAuth(config),
    ),
})
