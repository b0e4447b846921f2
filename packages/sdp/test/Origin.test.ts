/** RFC 3264 §8: o= version +1 only when the description changed. */
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { origin, parseSdpOrThrow, stampOrigin, withDirection } from "../src/index.js"

const identity = {
  username: "b2bua",
  sessionId: "777",
  netType: "IN",
  addrType: "IP4",
  address: "203.0.113.1",
}
const base = parseSdpOrThrow(
  "v=0\r\no=x 1 9 IN IP4 h\r\ns=-\r\nc=IN IP4 203.0.113.1\r\nt=0 0\r\nm=audio 30000 RTP/AVP 0\r\n",
)

describe("stampOrigin", () => {
  it("starts at 1, keeps the version for the same SDP, adds one for a changed SDP", () => {
    const first = stampOrigin(base, identity, undefined)
    expect(origin(first)).toEqual({ ...identity, sessionVersion: "1" })
    expect(origin(stampOrigin(base, identity, first)).sessionVersion).toBe("1")
    const held = { ...base, media: [withDirection(base.media[0]!, "sendonly")] }
    const second = stampOrigin(held, identity, first)
    expect(origin(second).sessionVersion).toBe("2")
    expect(origin(stampOrigin(base, identity, second)).sessionVersion).toBe("3")
  })

  it("counts past 2^53 without losing precision", () => {
    const prev = stampOrigin(base, identity, undefined)
    const big = {
      ...prev,
      session: prev.session.map((l) =>
        l.type === "o"
          ? { type: "o" as const, origin: { ...l.origin, sessionVersion: "18446744073709551615" } }
          : l,
      ),
    }
    const held = { ...base, media: [withDirection(base.media[0]!, "inactive")] }
    expect(origin(stampOrigin(held, identity, big)).sessionVersion).toBe("18446744073709551616")
  })

  it("is stable: stamping twice against the result changes nothing", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("sendrecv", "sendonly", "recvonly", "inactive"),
        fc.boolean(),
        (d, hasPrev) => {
          const sdp = { ...base, media: [withDirection(base.media[0]!, d)] }
          const once = stampOrigin(
            sdp,
            identity,
            hasPrev ? stampOrigin(base, identity, undefined) : undefined,
          )
          expect(stampOrigin(sdp, identity, once)).toEqual(once)
        },
      ),
    )
  })
})
