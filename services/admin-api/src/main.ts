/** admin-api composition root: configuration, the bus, the gRPC server over the stores. */
import { busLayer } from "@b2bua/bus"
import { runScoped, runService } from "@b2bua/runtime"
import { runAdminApi } from "./AdminApi.js"
import { loadConfig } from "./Config.js"

runService({
  service: "admin-api",
  loadConfig: () => loadConfig(process.env),
  instanceOf: (config) => config.instance,
  program: (config) =>
    runScoped(
      busLayer({
        servers: config.natsUrl,
        name: `admin-api-${config.instance}`,
        jetStreamReplicas: config.jetStreamReplicas,
      }),
      runAdminApi({
        host: config.listen.host,
        port: config.listen.port,
        token: config.token,
        tls: config.tls,
        shutdownGraceMs: config.shutdownGraceMs,
      }),
    ),
})
