/**
 * Routes between their gRPC form (b2bua.admin.v1.Route) and the stored form (the contracts schema, the
 * JSON call control reads from KV `config-routes`). Pure; problems name the request field (`route.trunks`).
 */
import { Route as ProtoRoute } from "@b2bua/admin-proto"
import { decodeRoute, type Route, type SchemaProblem } from "@b2bua/contracts"
import { Result } from "effect"

export const routeJson = (r: ProtoRoute): Record<string, unknown> => {
  const out: Record<string, unknown> = { name: r.name, prefix: r.prefix, trunks: r.trunks }
  if (r.fromTrunks.length > 0) out.fromTrunks = r.fromTrunks
  if (r.priority !== undefined) out.priority = r.priority
  return out
}

export const routeFromProto = (
  r: ProtoRoute | undefined,
  field: string,
): Result.Result<Route, ReadonlyArray<SchemaProblem>> => {
  if (r === undefined) return Result.fail([{ key: field, reason: "required" }])
  return Result.mapError(decodeRoute(routeJson(r)), (problems) =>
    problems.map((p) => ({ key: p.key === "(root)" ? field : `${field}.${p.key}`, reason: p.reason })),
  )
}

export const routeToProto = (r: Route, revision: number): ProtoRoute =>
  ProtoRoute.fromPartial({
    name: r.name,
    prefix: r.prefix,
    fromTrunks: [...(r.fromTrunks ?? [])],
    trunks: [...r.trunks],
    priority: r.priority,
    revision,
  })
