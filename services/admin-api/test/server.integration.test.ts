/**
 * What every gRPC server of the suite offers, checked with real clients: grpc.health.v1 without a token,
 * server reflection (what grpcurl uses) with one, relays from their announcements, bindings from KV
 * `registrations` in the auth service's format.
 */
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import {
  RegistrationServiceClient,
  RegistrationServiceService,
  RelayServiceClient,
  RelayServiceService,
  unaryCall,
} from "@b2bua/admin-proto"
import { Bus, openKv } from "@b2bua/bus"
import { encodeRelayPayload, relaySubjects } from "@b2bua/contracts"
import {
  Client,
  type ClientDuplexStream,
  type credentials,
  loadPackageDefinition,
  Metadata,
  type ServiceError,
  status,
} from "@grpc/grpc-js"
import { loadSync } from "@grpc/proto-loader"
import { Effect } from "effect"
import { service as healthService } from "grpc-health-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { aorKey } from "../src/index.js"
import { type Harness, startHarness, TOKEN, withBus } from "./harness.js"

let h: Harness
beforeAll(async () => {
  h = await startHarness()
})
afterAll(async () => {
  await h.stop()
})
const auth = { token: TOKEN, timeoutMs: 5000 }

describe("gRPC server", () => {
  it("answers grpc.health.v1 Check with SERVING, without a token", async () => {
    const client = h.client(Client)
    const check = healthService.Check
    if (check === undefined) throw new Error("no Check in the health service definition")
    const answer = (service: string) =>
      new Promise<unknown>((resolve, reject) =>
        client.makeUnaryRequest(
          check.path,
          check.requestSerialize,
          check.responseDeserialize,
          { service },
          new Metadata(),
          { deadline: Date.now() + 5000 },
          (e: ServiceError | null, r?: unknown) => (e === null ? resolve(r) : reject(e)),
        ),
      )
    expect(await answer("")).toEqual({ status: "SERVING" })
    expect(await answer("b2bua.admin.v1.CallService")).toEqual({ status: "SERVING" })
    const unknown = await answer("no.such.Service").catch((e: ServiceError) => e.code)
    expect(unknown).toBe(status.NOT_FOUND)
  })

  it("serves reflection: the admin services are listed (with the token)", async () => {
    const protoDir = join(
      dirname(createRequire(import.meta.url).resolve("@grpc/reflection/package.json")),
      "build",
      "proto",
    )
    const definition = loadSync(join(protoDir, "grpc/reflection/v1/reflection.proto"), {
      keepCase: true,
      includeDirs: [protoDir],
    })
    const grpcNs = loadPackageDefinition(definition).grpc as Record<
      string,
      Record<string, Record<string, unknown>>
    >
    const Reflection = grpcNs.reflection?.v1?.ServerReflection as new (
      address: string,
      creds: ReturnType<typeof credentials.createInsecure>,
    ) => Client & {
      ServerReflectionInfo: (metadata: Metadata) => ClientDuplexStream<{ list_services: string }, unknown>
    }
    const client = h.client(Reflection)
    const metadata = new Metadata()
    metadata.set("authorization", `Bearer ${TOKEN}`)
    const call = client.ServerReflectionInfo(metadata)
    const services = await new Promise<Array<string>>((resolve, reject) => {
      call.on("data", (r: { list_services_response?: { service: Array<{ name: string }> } }) =>
        resolve((r.list_services_response?.service ?? []).map((s) => s.name)),
      )
      call.on("error", reject)
      call.write({ list_services: "" })
    })
    call.end()
    expect(services).toEqual(
      expect.arrayContaining([
        "b2bua.admin.v1.CallService",
        "b2bua.admin.v1.TrunkService",
        "b2bua.admin.v1.RouteService",
        "b2bua.admin.v1.RegistrationService",
        "b2bua.admin.v1.RelayService",
        "b2bua.admin.v1.CallRecordService",
      ]),
    )
  })

  it("lists relays from their announcements, with the totals", async () => {
    const client = h.client(RelayServiceClient)
    const announce = {
      v: 1 as const,
      relayId: "relay1" as never,
      address: "192.0.2.50",
      sessions: 3,
      capacity: 100,
      load: 0.03,
    }
    // Announce until this instance has heard it (announcements are fire-and-forget, once a second in production).
    const listed = await withBus(
      h,
      Effect.gen(function* () {
        const bus = yield* Bus
        for (let i = 0; i < 100; i++) {
          yield* bus.publish(relaySubjects.announce(), encodeRelayPayload(announce))
          yield* Effect.promise(() => bus.connection.flush())
          const r = yield* Effect.promise(() => unaryCall(client, RelayServiceService.listRelays, {}, auth))
          if (r.relays.length > 0) return r
        }
        return yield* Effect.die(new Error("relay never listed"))
      }).pipe(Effect.orDie),
    )
    expect(listed.relays).toMatchObject([{ id: "relay1", address: "192.0.2.50", sessions: 3, capacity: 100 }])
    expect([listed.totalSessions, listed.totalCapacity]).toEqual([3, 100])
  })

  it("lists, reads and removes registration bindings stored by the auth service", async () => {
    const aor = "sip:alice@example.com"
    const binding = (uri: string, expiresAt: number) => ({
      uri,
      params: "",
      q: 1,
      expiresAt,
      callId: "reg-1@host",
      cseq: 3,
      source: { host: "203.0.113.5", port: 40000, transport: "udp" },
    })
    await withBus(
      h,
      Effect.gen(function* () {
        const kv = yield* openKv("registrations")
        const value = {
          aor,
          bindings: [
            binding("sip:alice@203.0.113.5:40000", Date.now() + 600_000),
            binding("sip:alice@old", 1),
          ],
        }
        yield* kv.put(aorKey(aor), new TextEncoder().encode(JSON.stringify(value)))
      }).pipe(Effect.orDie),
    )
    const client = h.client(RegistrationServiceClient)
    const listed = await unaryCall(
      client,
      RegistrationServiceService.listBindings,
      { aorPrefix: "", pageSize: 0, pageToken: "" },
      auth,
    )
    // The expired binding is not shown.
    expect(listed.bindings).toMatchObject([
      { aor, contact: "sip:alice@203.0.113.5:40000", source: "203.0.113.5:40000", transport: "udp", cseq: 3 },
    ])
    const got = await unaryCall(client, RegistrationServiceService.getBindings, { aor }, auth)
    expect(got.bindings).toHaveLength(1)
    await unaryCall(
      client,
      RegistrationServiceService.removeBinding,
      { aor, contact: "sip:alice@203.0.113.5:40000" },
      auth,
    )
    const gone = await unaryCall(client, RegistrationServiceService.getBindings, { aor }, auth).catch(
      (e: ServiceError) => e,
    )
    expect("code" in gone && gone.code).toBe(status.NOT_FOUND)
    const bad = await unaryCall(client, RegistrationServiceService.getBindings, { aor: "alice" }, auth).catch(
      (e: ServiceError) => e,
    )
    expect("details" in bad && bad.details).toMatch(/^aor: /)
    const noAuth = await unaryCall(
      client,
      RegistrationServiceService.listOutboundRegistrations,
      {},
      auth,
    ).catch((e: ServiceError) => e)
    expect("code" in noAuth && noAuth.code).toBe(status.UNAVAILABLE)
  })
})
