/**
 * The admin API: opens the stores (KV buckets, streams, the relay directory), builds each gRPC service
 * over them and serves them until the scope closes. Stateless: any number of instances serve the same
 * data, since everything is read from JetStream or asked of the services over NATS.
 */
import {
  CallRecordServiceService,
  CallServiceService,
  RegistrationServiceService,
  RelayServiceService,
  RouteServiceService,
  TrunkServiceService,
} from "@b2bua/admin-proto"
import { Bus, type BusError, openKv } from "@b2bua/bus"
import { adminStreams, decodeRoute, decodeTrunk } from "@b2bua/contracts"
import { Effect, type Scope } from "effect"
import type { Unavailable } from "./AdminErrors.js"
import { callService } from "./CallApi.js"
import { callRecordService } from "./CallRecordApi.js"
import { openConfigStore } from "./ConfigStore.js"
import { makeEventStreams } from "./EventStreams.js"
import { type GrpcBindError, type GrpcServerOptions, makeRun, startGrpcServer } from "./GrpcServer.js"
import { registrationService } from "./RegistrationApi.js"
import { relayService } from "./RelayApi.js"
import { openRelayDirectory } from "./RelayDirectory.js"
import { routeService } from "./RouteApi.js"
import { trunkService } from "./TrunkApi.js"

export const BUCKETS = {
  trunks: "config-trunks",
  routes: "config-routes",
  calls: "calls",
  registrations: "registrations",
} as const

export interface RunningAdminApi {
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number
}

export const runAdminApi = (
  options: GrpcServerOptions,
): Effect.Effect<RunningAdminApi, BusError | Unavailable | GrpcBindError, Bus | Scope.Scope> =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const trunks = yield* openConfigStore({ what: "trunk", bucket: BUCKETS.trunks, decode: decodeTrunk })
    const routes = yield* openConfigStore({ what: "route", bucket: BUCKETS.routes, decode: decodeRoute })
    const calls = yield* openKv(BUCKETS.calls)
    const registrations = yield* openKv(BUCKETS.registrations)
    const streams = yield* makeEventStreams
    // Created when absent, so events and records published before call control's first call are kept.
    yield* streams.ensure(adminStreams.callEvents)
    yield* streams.ensure(adminStreams.callRecords)
    const relays = yield* openRelayDirectory
    const { run, streams: running } = yield* makeRun
    const server = yield* startGrpcServer(
      options,
      [
        {
          name: "b2bua.admin.v1.CallService",
          definition: CallServiceService,
          implementation: callService(run, calls, streams, bus),
        },
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
        {
          name: "b2bua.admin.v1.RegistrationService",
          definition: RegistrationServiceService,
          implementation: registrationService(run, registrations, bus),
        },
        {
          name: "b2bua.admin.v1.RelayService",
          definition: RelayServiceService,
          implementation: relayService(run, relays),
        },
        {
          name: "b2bua.admin.v1.CallRecordService",
          definition: CallRecordServiceService,
          implementation: callRecordService(run, streams),
        },
      ],
      running,
    )
    return { port: server.port }
  })
