import { execFileSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import {
  CallState,
  descriptorSet,
  ListCallsRequest,
  Transport,
  Trunk,
  TrunkServiceService,
} from "../src/index.js"

const script = fileURLToPath(new URL("../scripts/codegen.mjs", import.meta.url))

describe("admin-proto codegen", () => {
  it("committed src/generated is what proto/ generates (protoc + pinned ts-proto)", () => {
    const out = execFileSync(process.execPath, [script, "--check"], { encoding: "utf8" })
    expect(out).toMatch(/up to date/)
  })

  it("messages round-trip through the wire encoding, optional fields keep their presence", () => {
    const trunk = Trunk.fromPartial({
      name: "carrier-a",
      gateways: [{ host: "192.0.2.10", port: 5060, transport: Transport.TRANSPORT_UDP }],
      limits: { maxCalls: 0 },
    })
    const back = Trunk.decode(Trunk.encode(trunk).finish())
    expect(back.gateways[0]).toEqual({
      host: "192.0.2.10",
      port: 5060,
      transport: Transport.TRANSPORT_UDP,
      priority: undefined,
      weight: undefined,
    })
    // proto3 `optional`: an explicit 0 is present, an absent field stays absent.
    expect(back.limits?.maxCalls).toBe(0)
    expect(back.limits?.maxCps).toBeUndefined()
    const req = ListCallsRequest.decode(
      ListCallsRequest.encode(
        ListCallsRequest.fromPartial({ state: CallState.CALL_STATE_ANSWERED }),
      ).finish(),
    )
    expect(req.state).toBe(CallState.CALL_STATE_ANSWERED)
  })

  it("the descriptor set names every service's package and the grpc-js paths match", () => {
    const text = descriptorSet().toString("latin1")
    for (const file of ["calls", "trunks", "routes", "registrations", "relays", "records"])
      expect(text).toContain(`b2bua/admin/v1/${file}.proto`)
    expect(TrunkServiceService.createTrunk.path).toBe("/b2bua.admin.v1.TrunkService/CreateTrunk")
  })
})
