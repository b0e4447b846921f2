/** @b2bua/admin-api — the operators' gRPC endpoint; `main.ts` runs it as a process. */
export * from "./AdminApi.js"
export * from "./AdminErrors.js"
export * from "./BearerAuth.js"
export * from "./Config.js"
export * from "./GrpcServer.js"
export * from "./Paging.js"
export * from "./RouteMapping.js"
export * from "./TrunkMapping.js"
