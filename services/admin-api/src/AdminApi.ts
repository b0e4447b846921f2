/**
 * The admin API: opens the stores (KV buckets, streams, the relay directory), builds each gRPC service
 * over them and serves them until the scope closes. Stateless: any number of instances serve the same
 * data, since everything is read from JetStream or asked of the services over NATS.
 */
import { RouteServiceService, TrunkServiceService } from "@b2bua/admin-proto"
import type { Bus, BusError } from "@b2bua/bus"
import { decodeRoute, decodeTrunk } from "@b2bua/contracts"
import { Effect, type Scope } from "effect"
import { openConfigStore } from "./ConfigStore.js"
import { type GrpcBindError, type GrpcServerOptions, makeRun, startGrpcServer } from "./GrpcServer.js"
import { routeService } from "./RouteApi.js"
import { trunkService } from "./TrunkApi.js"

export const TRUNKS_BUCKET = "config-trunks"
export const ROUTES_BUCKET = "config-routes"

export interface RunningAdminApi {
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number
}

export const runAdminApi = (
  options: GrpcServerOptions,
): Effect.Effect<RunningAdminApi, BusError | GrpcBindError, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const trunks = yield* openConfigStore({ what: "trunk", bucket: TRUNKS_BUCKET, decode: decodeTrunk })
    const routes = yield* openConfigStore({ what: "route", bucket: ROUTES_BUCKET, decode: decodeRoute })
    const { run, streams } = yield* makeRun
    const server = yield* startGrpcServer(
      options,
      [
        {
          name: "b2bua.admin.v1.TrunkService",
          definition: TrunkServiceService,
          implementation: trunkService(run, trunks, routes),
        },
        {
          name: "b2bua.admin.v1.RouteService",
          definition: RouteServiceService,
          implementation: routeService(run, routes, trunks),
        },
      ],
      streams,
    )
    return { port: server.port }
  })
