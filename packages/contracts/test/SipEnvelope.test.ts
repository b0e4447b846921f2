import fc from "fast-check"
import { describe, expect, it } from "vitest"
import {
  ConnectionId,
  decodeSipEnvelopeMeta,
  EnvelopeError,
  encodeSipEnvelopeHeaders,
  InstanceId,
  isInstanceId,
  ListenerId,
  parseHostPort,
  type SipEnvelopeMeta,
  Subjects,
} from "../src/index.js"

const reader = (h: Readonly<Record<string, string>>) => ({ get: (name: string) => h[name] ?? "" })

const meta: SipEnvelopeMeta = {
  edge: InstanceId("edge1"),
  listener: ListenerId("udp:0.0.0.0:5060"),
  transport: "tcp",
  local: "127.0.0.1:5060",
  remote: "[2001:db8::7]:40112",
  connection: ConnectionId("c42"),
  receivedAt: 1_764_000_000_000,
  takeover: false,
}

describe("SIP envelope headers", () => {
  it("round-trips the transport metadata", () => {
    expect(decodeSipEnvelopeMeta(reader(encodeSipEnvelopeHeaders(meta)))).toEqual(meta)
  })

  it("carries when the sender stops waiting for the reply (B2b-Answer-By), and names a bad one", () => {
    const withDeadline = { ...meta, answerBy: 1_764_000_002_000 }
    expect(decodeSipEnvelopeMeta(reader(encodeSipEnvelopeHeaders(withDeadline)))).toEqual(withDeadline)
    const bad = decodeSipEnvelopeMeta(reader({ ...encodeSipEnvelopeHeaders(meta), "B2b-Answer-By": "soon" }))
    expect(bad instanceof EnvelopeError && bad.message).toBe(
      "SIP envelope header B2b-Answer-By: not a time in ms",
    )
  })

  it("names the missing or invalid header", () => {
    const h = encodeSipEnvelopeHeaders(meta)
    const without = (name: string) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== name))
    expect(decodeSipEnvelopeMeta(reader(without("B2b-Remote")))).toEqual(
      new EnvelopeError({ header: "B2b-Remote", reason: "missing" }),
    )
    const bad = decodeSipEnvelopeMeta(reader({ ...h, "B2b-Transport": "sctp" }))
    expect(bad instanceof EnvelopeError && bad.message).toBe(
      "SIP envelope header B2b-Transport: unknown transport sctp",
    )
    const future = decodeSipEnvelopeMeta(reader({ ...h, "B2b-Contract": "2" }))
    expect(future instanceof EnvelopeError && future.reason).toBe("unsupported version 2")
  })

  it("parses host:port with IPv6 references", () => {
    expect(parseHostPort("[::1]:5060")).toEqual({ host: "::1", port: 5060 })
    expect(parseHostPort("10.0.0.1:70000")).toBeUndefined()
    expect(parseHostPort("nohostport")).toBeUndefined()
  })

  it("never throws on arbitrary header values", () => {
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom(...Object.keys(encodeSipEnvelopeHeaders(meta))), fc.string()),
        (h) => {
          const r = decodeSipEnvelopeMeta(reader(h))
          expect(r instanceof EnvelopeError || typeof r.edge === "string").toBe(true)
        },
      ),
    )
  })
})

describe("subjects and instance ids", () => {
  it("builds versioned subjects from instance tokens", () => {
    expect(Subjects.callControlInstance(InstanceId("cc7"))).toBe("b2b.v1.cc.inst.cc7")
    expect(Subjects.edgeSend(InstanceId("e1"))).toBe("b2b.v1.edge.e1.send")
  })

  it("accepts only tokens that are safe in subjects, tags and branches", () => {
    expect(isInstanceId("cc7")).toBe(true)
    expect(isInstanceId("cc.7")).toBe(false)
    expect(isInstanceId("")).toBe(false)
    expect(() => InstanceId("a>b")).toThrow()
  })
})

describe("identifiers that name their owner", () => {
  it("round-trips the owner through branches and tags", async () => {
    const { makeBranch, makeTag, ownerOfBranch, ownerOfTag } = await import("../src/index.js")
    const owner = { kind: "callControl" as const, instance: InstanceId("cc7") }
    const branch = makeBranch(owner, "x8Kq2mZ1")
    expect(branch).toBe("z9hG4bKb2bccc7.x8Kq2mZ1")
    expect(ownerOfBranch(branch)).toEqual(owner)
    expect(ownerOfTag(makeTag({ kind: "auth", instance: InstanceId("a1") }, "abcdef12"))).toEqual({
      kind: "auth",
      instance: "a1",
    })
    expect(ownerOfBranch("z9hG4bK-e14500690ed2-21")).toBeUndefined()
    expect(ownerOfTag("18eb500690ed1-21")).toBeUndefined()
    expect(ownerOfTag("b2bx1.abc")).toBeUndefined()
    expect(() => makeTag(owner, "short")).toThrow()
  })
})
