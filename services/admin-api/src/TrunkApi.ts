/** TrunkService: trunk CRUD over KV `config-trunks` (ConfigStore); adapters only, the rules live in the store and the schema. */
import type {
  CreateTrunkRequest,
  DeleteTrunkRequest,
  GetTrunkRequest,
  ListTrunksRequest,
  TrunkServiceServer,
  UpdateTrunkRequest,
} from "@b2bua/admin-proto"
import type { Route, Trunk } from "@b2bua/contracts"
import { Effect } from "effect"
import { FailedPrecondition } from "./AdminErrors.js"
import type { ConfigStore } from "./ConfigStore.js"
import { type Run, unary } from "./GrpcHandlers.js"
import { pageOf } from "./Paging.js"
import { trunkFromProto, trunkToProto } from "./TrunkMapping.js"
import { checkName, fromResult, validated } from "./Validation.js"

export const trunkService = (
  run: Run,
  trunks: ConfigStore<Trunk>,
  routes: ConfigStore<Route>,
): TrunkServiceServer => ({
  createTrunk: unary(run, "TrunkService/CreateTrunk", (request: CreateTrunkRequest) =>
    Effect.gen(function* () {
      const trunk = yield* validated(trunkFromProto(request.trunk, "trunk"))
      const stored = yield* trunks.create(trunk.name, trunk)
      return trunkToProto(stored.value, stored.revision)
    }),
  ),
  getTrunk: unary(run, "TrunkService/GetTrunk", (request: GetTrunkRequest) =>
    Effect.gen(function* () {
      const stored = yield* trunks.get(yield* checkName(request.name))
      return trunkToProto(stored.value, stored.revision)
    }),
  ),
  updateTrunk: unary(run, "TrunkService/UpdateTrunk", (request: UpdateTrunkRequest) =>
    Effect.gen(function* () {
      const trunk = yield* validated(trunkFromProto(request.trunk, "trunk"))
      const stored = yield* trunks.update(trunk.name, trunk, request.expectedRevision)
      return trunkToProto(stored.value, stored.revision)
    }),
  ),
  deleteTrunk: unary(run, "TrunkService/DeleteTrunk", (request: DeleteTrunkRequest) =>
    Effect.gen(function* () {
      const name = yield* checkName(request.name)
      // A route naming a missing trunk would fail every call it matches: refuse while one does.
      const users = (yield* routes.list())
        .filter(({ value }) => value.trunks.includes(name) || (value.fromTrunks ?? []).includes(name))
        .map(({ value }) => value.name)
      if (users.length > 0)
        return yield* new FailedPrecondition({
          reason: `trunk "${name}" is used by route${users.length > 1 ? "s" : ""} ${users.map((u) => `"${u}"`).join(", ")}`,
        })
      yield* trunks.remove(name)
      return {}
    }),
  ),
  listTrunks: unary(run, "TrunkService/ListTrunks", (request: ListTrunksRequest) =>
    Effect.gen(function* () {
      const page = yield* fromResult(pageOf(yield* trunks.list(), (s) => s.value.name, request))
      return {
        trunks: page.items.map((s) => trunkToProto(s.value, s.revision)),
        nextPageToken: page.nextPageToken,
      }
    }),
  ),
})
