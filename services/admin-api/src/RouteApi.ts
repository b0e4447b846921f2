/** RouteService: route CRUD over KV `config-routes`; every trunk a route names must exist. */
import type {
  CreateRouteRequest,
  DeleteRouteRequest,
  GetRouteRequest,
  ListRoutesRequest,
  RouteServiceServer,
  UpdateRouteRequest,
} from "@b2bua/admin-proto"
import type { Route, Trunk } from "@b2bua/contracts"
import { Effect } from "effect"
import { InvalidArgument } from "./AdminErrors.js"
import type { ConfigStore } from "./ConfigStore.js"
import { type Run, unary } from "./GrpcHandlers.js"
import { pageOf } from "./Paging.js"
import { routeFromProto, routeToProto } from "./RouteMapping.js"
import { checkName, fromResult, validated } from "./Validation.js"

/** Every trunk the route names exists (read now: a trunk deleted later is refused by DeleteTrunk). */
const checkTrunksExist = (route: Route, trunks: ConfigStore<Trunk>) =>
  Effect.gen(function* () {
    const known = new Set((yield* trunks.list()).map((s) => s.value.name))
    const missing = (list: ReadonlyArray<string>, field: string) =>
      list.flatMap((name, i) => (known.has(name) ? [] : [{ field: `route.${field}[${i}]`, name }]))
    const first = [...missing(route.trunks, "trunks"), ...missing(route.fromTrunks ?? [], "fromTrunks")][0]
    if (first !== undefined)
      return yield* new InvalidArgument({ field: first.field, reason: `unknown trunk "${first.name}"` })
  })

export const routeService = (
  run: Run,
  routes: ConfigStore<Route>,
  trunks: ConfigStore<Trunk>,
): RouteServiceServer => ({
  createRoute: unary(run, "RouteService/CreateRoute", (request: CreateRouteRequest) =>
    Effect.gen(function* () {
      const route = yield* validated(routeFromProto(request.route, "route"))
      yield* checkTrunksExist(route, trunks)
      const stored = yield* routes.create(route.name, route)
      return routeToProto(stored.value, stored.revision)
    }),
  ),
  getRoute: unary(run, "RouteService/GetRoute", (request: GetRouteRequest) =>
    Effect.gen(function* () {
      const stored = yield* routes.get(yield* checkName(request.name))
      return routeToProto(stored.value, stored.revision)
    }),
  ),
  updateRoute: unary(run, "RouteService/UpdateRoute", (request: UpdateRouteRequest) =>
    Effect.gen(function* () {
      const route = yield* validated(routeFromProto(request.route, "route"))
      yield* checkTrunksExist(route, trunks)
      const stored = yield* routes.update(route.name, route, request.expectedRevision)
      return routeToProto(stored.value, stored.revision)
    }),
  ),
  deleteRoute: unary(run, "RouteService/DeleteRoute", (request: DeleteRouteRequest) =>
    Effect.gen(function* () {
      yield* routes.remove(yield* checkName(request.name))
      return {}
    }),
  ),
  listRoutes: unary(run, "RouteService/ListRoutes", (request: ListRoutesRequest) =>
    Effect.gen(function* () {
      const page = yield* fromResult(pageOf(yield* routes.list(), (s) => s.value.name, request))
      return {
        routes: page.items.map((s) => routeToProto(s.value, s.revision)),
        nextPageToken: page.nextPageToken,
      }
    }),
  ),
})
