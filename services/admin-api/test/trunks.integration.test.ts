/** TrunkService and RouteService over a real nats-server, through a real gRPC client on 127.0.0.1. */
import {
  RedirectPolicy,
  ReferPolicy,
  RouteServiceClient,
  RouteServiceService,
  Transport,
  TrunkServiceClient,
  TrunkServiceService,
  unaryCall,
} from "@b2bua/admin-proto"
import { busLayer, openKv } from "@b2bua/bus"
import { type ServiceError, status } from "@grpc/grpc-js"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Harness, startHarness, TOKEN } from "./harness.js"

let h: Harness
let trunks: TrunkServiceClient
let routes: RouteServiceClient
beforeAll(async () => {
  h = await startHarness()
  trunks = h.client(TrunkServiceClient)
  routes = h.client(RouteServiceClient)
})
afterAll(async () => {
  await h.stop()
})

const auth = { token: TOKEN, timeoutMs: 5000 }
const failure = async (p: Promise<unknown>): Promise<ServiceError> => {
  try {
    await p
  } catch (e) {
    return e as ServiceError
  }
  throw new Error("expected the call to fail")
}

/** What call control will read: the raw JSON in KV, read with a plain NATS client. */
const kvValue = (bucket: string, key: string): Promise<unknown> =>
  Effect.runPromise(
    openKv(bucket).pipe(
      Effect.flatMap((kv) => kv.get(key)),
      Effect.map((e) => (e === undefined ? undefined : JSON.parse(new TextDecoder().decode(e.value)))),
      Effect.provide(busLayer({ servers: h.nats.url, name: "kv-reader" })),
    ),
  )

describe("TrunkService and RouteService", () => {
  it("create, read, update, list, delete a trunk; the store holds the schema's JSON", async () => {
    const created = await unaryCall(
      trunks,
      TrunkServiceService.createTrunk,
      {
        trunk: {
          name: "carrier-a",
          sources: ["192.0.2.0/24"],
          gateways: [{ host: "192.0.2.10", port: 5060, transport: Transport.TRANSPORT_UDP }],
          limits: { maxCalls: 50 },
          media: 0,
          redirects: RedirectPolicy.REDIRECT_POLICY_FOLLOW,
          refer: ReferPolicy.REFER_POLICY_UNSPECIFIED,
          revision: 0,
        },
      },
      auth,
    )
    expect(created.name).toBe("carrier-a")
    expect(created.revision).toBeGreaterThan(0)
    expect(await kvValue("config-trunks", "carrier-a")).toEqual({
      name: "carrier-a",
      sources: ["192.0.2.0/24"],
      gateways: [{ host: "192.0.2.10", port: 5060, transport: "udp" }],
      limits: { maxCalls: 50 },
      redirects: "follow",
    })
    const again = await failure(
      unaryCall(trunks, TrunkServiceService.createTrunk, { trunk: { ...created, revision: 0 } }, auth),
    )
    expect(again.code).toBe(status.ALREADY_EXISTS)

    const read = await unaryCall(trunks, TrunkServiceService.getTrunk, { name: "carrier-a" }, auth)
    expect(read.gateways[0]?.port).toBe(5060)

    const updated = await unaryCall(
      trunks,
      TrunkServiceService.updateTrunk,
      { trunk: { ...read, gateways: [{ host: "gw.example.net", transport: Transport.TRANSPORT_TCP }] } },
      auth,
    )
    expect(updated.revision).toBeGreaterThan(read.revision)
    expect(await kvValue("config-trunks", "carrier-a")).toMatchObject({
      gateways: [{ host: "gw.example.net", transport: "tcp" }],
    })
    const stale = await failure(
      unaryCall(
        trunks,
        TrunkServiceService.updateTrunk,
        { trunk: read, expectedRevision: read.revision },
        auth,
      ),
    )
    expect(stale.code).toBe(status.ABORTED)

    await unaryCall(trunks, TrunkServiceService.createTrunk, { trunk: { ...read, name: "carrier-b" } }, auth)
    const page1 = await unaryCall(
      trunks,
      TrunkServiceService.listTrunks,
      { pageSize: 1, pageToken: "" },
      auth,
    )
    expect(page1.trunks.map((t) => t.name)).toEqual(["carrier-a"])
    const page2 = await unaryCall(
      trunks,
      TrunkServiceService.listTrunks,
      { pageSize: 1, pageToken: page1.nextPageToken },
      auth,
    )
    expect(page2.trunks.map((t) => t.name)).toEqual(["carrier-b"])
    expect(page2.nextPageToken).toBe("")

    await unaryCall(trunks, TrunkServiceService.deleteTrunk, { name: "carrier-b" }, auth)
    expect(await kvValue("config-trunks", "carrier-b")).toBeUndefined()
    const gone = await failure(unaryCall(trunks, TrunkServiceService.getTrunk, { name: "carrier-b" }, auth))
    expect(gone.code).toBe(status.NOT_FOUND)
  })

  it("INVALID_ARGUMENT names the field", async () => {
    const badPort = await failure(
      unaryCall(
        trunks,
        TrunkServiceService.createTrunk,
        {
          trunk: {
            name: "bad",
            sources: [],
            gateways: [{ host: "192.0.2.1", port: 70000, transport: 0 }],
            media: 0,
            redirects: 0,
            refer: 0,
            revision: 0,
          },
        },
        auth,
      ),
    )
    expect(badPort.code).toBe(status.INVALID_ARGUMENT)
    expect(badPort.details).toMatch(/^trunk\.gateways\[0\]\.port: /)
    const badName = await failure(
      unaryCall(
        trunks,
        TrunkServiceService.createTrunk,
        {
          trunk: {
            name: "Bad Name",
            sources: [],
            gateways: [],
            media: 0,
            redirects: 0,
            refer: 0,
            revision: 0,
          },
        },
        auth,
      ),
    )
    expect(badName.details).toMatch(/^trunk\.name: /)
    const missing = await failure(
      unaryCall(trunks, TrunkServiceService.createTrunk, { trunk: undefined }, auth),
    )
    expect(missing.details).toBe("trunk: required")
    const badGet = await failure(unaryCall(trunks, TrunkServiceService.getTrunk, { name: "" }, auth))
    expect(badGet.code).toBe(status.INVALID_ARGUMENT)
    expect(badGet.details).toBe("name: required")
    const unknownTrunk = await failure(
      unaryCall(
        routes,
        RouteServiceService.createRoute,
        { route: { name: "r1", prefix: "+44", fromTrunks: [], trunks: ["nowhere"], revision: 0 } },
        auth,
      ),
    )
    expect(unknownTrunk.code).toBe(status.INVALID_ARGUMENT)
    expect(unknownTrunk.details).toBe('route.trunks[0]: unknown trunk "nowhere"')
    const noTrunks = await failure(
      unaryCall(
        routes,
        RouteServiceService.createRoute,
        { route: { name: "r1", prefix: "1", fromTrunks: [], trunks: [], revision: 0 } },
        auth,
      ),
    )
    expect(noTrunks.details).toMatch(/^route\.trunks: /)
  })

  it("routes persist in KV and keep the trunks they name from being deleted", async () => {
    const route = await unaryCall(
      routes,
      RouteServiceService.createRoute,
      {
        route: { name: "uk", prefix: "+44", fromTrunks: [], trunks: ["carrier-a"], priority: 5, revision: 0 },
      },
      auth,
    )
    expect(route.revision).toBeGreaterThan(0)
    expect(await kvValue("config-routes", "uk")).toEqual({
      name: "uk",
      prefix: "+44",
      trunks: ["carrier-a"],
      priority: 5,
    })
    const busy = await failure(
      unaryCall(trunks, TrunkServiceService.deleteTrunk, { name: "carrier-a" }, auth),
    )
    expect(busy.code).toBe(status.FAILED_PRECONDITION)
    expect(busy.details).toContain('"uk"')
    const listed = await unaryCall(
      routes,
      RouteServiceService.listRoutes,
      { pageSize: 0, pageToken: "" },
      auth,
    )
    expect(listed.routes.map((r) => r.name)).toEqual(["uk"])
    await unaryCall(routes, RouteServiceService.deleteRoute, { name: "uk" }, auth)
    await unaryCall(trunks, TrunkServiceService.deleteTrunk, { name: "carrier-a" }, auth)
    expect(await kvValue("config-trunks", "carrier-a")).toBeUndefined()
  })

  it("UNAUTHENTICATED without a token or with a wrong one", async () => {
    const none = await failure(
      unaryCall(trunks, TrunkServiceService.listTrunks, { pageSize: 0, pageToken: "" }, { timeoutMs: 5000 }),
    )
    expect(none.code).toBe(status.UNAUTHENTICATED)
    expect(none.details).toMatch(/missing bearer token/)
    const wrong = await failure(
      unaryCall(
        trunks,
        TrunkServiceService.listTrunks,
        { pageSize: 0, pageToken: "" },
        { token: "not-the-token-at-all", timeoutMs: 5000 },
      ),
    )
    expect(wrong.code).toBe(status.UNAUTHENTICATED)
    expect(wrong.details).toBe("invalid bearer token")
  })
})
