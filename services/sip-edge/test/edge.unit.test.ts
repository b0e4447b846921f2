import { InstanceId } from "@b2bua/contracts"
import { parseMessageOrThrow, type Via } from "@b2bua/sip"
import { describe, expect, it } from "vitest"
import {
  ConfigError,
  initialRequestKey,
  loadConfig,
  OwnerCache,
  responseDestination,
  route,
  stampReceived,
} from "../src/index.js"

const msg = (first: string, extra = "", toTag = "", branch = "z9hG4bK-1") =>
  parseMessageOrThrow(
    Buffer.from(
      `${first}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=${branch};rport\r\nFrom: <sip:a@x>;tag=f1\r\nTo: <sip:b@y>${toTag}\r\nCall-ID: c1\r\nCSeq: 1 ${first.startsWith("SIP/") ? "INVITE" : first.split(" ")[0]}\r\n${extra}\r\n`,
    ),
  )

describe("route", () => {
  const none = () => undefined
  it("sends new requests to the call-control queue and REGISTER to the registrar", () => {
    expect(route(msg("INVITE sip:b@y SIP/2.0"), none)).toEqual({ _tag: "New", subject: "b2b.v1.cc.new" })
    expect(route(msg("REGISTER sip:y SIP/2.0"), none)).toEqual({
      _tag: "Registrar",
      subject: "b2b.v1.auth.register",
    })
  })
  it("sends in-dialog requests to the owner named by the To-tag, with the takeover queue as fallback", () => {
    expect(route(msg("BYE sip:b@y SIP/2.0", "", ";tag=b2bccc3.abcdef12"), none)).toEqual({
      _tag: "Owner",
      subject: "b2b.v1.cc.inst.cc3",
      fallback: "b2b.v1.cc.takeover",
    })
  })
  it("routes SUBSCRIBE/NOTIFY like INVITE/BYE: a new SUBSCRIBE to the queue, in-dialog ones by To-tag (RFC 6665)", () => {
    expect(route(msg("SUBSCRIBE sip:b@y SIP/2.0"), none)).toEqual({ _tag: "New", subject: "b2b.v1.cc.new" })
    for (const method of ["NOTIFY", "SUBSCRIBE"])
      expect(route(msg(`${method} sip:b2bua@y SIP/2.0`, "", ";tag=b2bccc3.abcdef12"), none)).toEqual({
        _tag: "Owner",
        subject: "b2b.v1.cc.inst.cc3",
        fallback: "b2b.v1.cc.takeover",
      })
  })
  it("sends responses by the Via branch and drops those for others", () => {
    expect(route(msg("SIP/2.0 200 OK", "", ";tag=x", "z9hG4bKb2baau1.abcdef12"), none)).toMatchObject({
      subject: "b2b.v1.auth.inst.au1",
    })
    expect(route(msg("SIP/2.0 200 OK", "", ";tag=x"), none)._tag).toBe("Drop")
  })
  it("remembers who took an initial request: retransmissions and CANCEL go there", () => {
    const cache = new OwnerCache(10, 1000)
    const invite = msg("INVITE sip:b@y SIP/2.0")
    cache.remember(initialRequestKey(invite), InstanceId("cc5"), 0)
    const cancel = msg("CANCEL sip:b@y SIP/2.0")
    expect(route(cancel, (k) => cache.lookup(k, 10))).toMatchObject({ subject: "b2b.v1.cc.inst.cc5" })
    expect(route(cancel, (k) => cache.lookup(k, 2000))._tag).toBe("New")
  })
  it("sends a retransmitted REGISTER to the auth instance that took it, a new one to the queue", () => {
    const cache = new OwnerCache(10, 1000)
    const register = msg("REGISTER sip:y SIP/2.0")
    cache.remember(initialRequestKey(register), InstanceId("au7"), 0)
    expect(route(register, (k) => cache.lookup(k, 10))).toEqual({
      _tag: "Owner",
      subject: "b2b.v1.auth.inst.au7",
      fallback: "b2b.v1.auth.register",
    })
    const refresh = msg("REGISTER sip:y SIP/2.0", "", "", "z9hG4bK-2")
    expect(route(refresh, (k) => cache.lookup(k, 10))).toEqual({
      _tag: "Registrar",
      subject: "b2b.v1.auth.register",
    })
  })
  it("drops ACKs that belong to no transaction the suite keeps", () => {
    expect(route(msg("ACK sip:b@y SIP/2.0", "", ";tag=e123"), none)._tag).toBe("Drop")
  })
})

describe("received and rport (RFC 3261 §18.2.1, RFC 3581 §4)", () => {
  const via: Via = {
    protocol: "SIP/2.0",
    transport: "UDP",
    host: "10.0.0.1",
    port: 5060,
    params: [
      ["branch", "z9hG4bK1"],
      ["rport", null],
    ],
  }
  it("adds received when the source differs and fills an empty rport", () => {
    const stamped = stampReceived(via, "192.0.2.7", 40000)
    expect(stamped?.params).toEqual([
      ["branch", "z9hG4bK1"],
      ["rport", "40000"],
      ["received", "192.0.2.7"],
    ])
    expect(responseDestination(stamped!)).toEqual({ host: "192.0.2.7", port: 40000 })
  })
  it("changes nothing when the source is the sent-by and there is no rport", () => {
    expect(stampReceived({ ...via, params: [["branch", "z9hG4bK1"]] }, "10.0.0.1", 5060)).toBeUndefined()
  })
})

describe("OwnerCache", () => {
  it("is bounded: the oldest entry goes first", () => {
    const cache = new OwnerCache(2, 1000)
    cache.remember("a", InstanceId("i1"), 0)
    cache.remember("b", InstanceId("i2"), 0)
    cache.remember("c", InstanceId("i3"), 0)
    expect(cache.size).toBe(2)
    expect(cache.lookup("a", 1)).toBeUndefined()
    cache.sweep(5000)
    expect(cache.size).toBe(0)
  })
})

describe("loadConfig", () => {
  it("names the key of a bad value", () => {
    expect(() => loadConfig({ B2BUA_SIP_PORT: "70000" })).toThrow(
      new ConfigError({ key: "B2BUA_SIP_PORT", reason: 'expected an integer from 1 to 65535, got "70000"' }),
    )
    expect(() => loadConfig({ B2BUA_SIP_LISTEN: "sctp:0.0.0.0:5060" })).toThrow(/B2BUA_SIP_LISTEN/)
  })
  it("listens on UDP and TCP at B2BUA_SIP_PORT by default", () => {
    expect(loadConfig({ B2BUA_SIP_PORT: "5070" }).listen).toEqual([
      { transport: "udp", host: "0.0.0.0", port: 5070 },
      { transport: "tcp", host: "0.0.0.0", port: 5070 },
    ])
  })
})
