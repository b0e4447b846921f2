/**
 * The negotiator against a real nats-server: call control's requests on b2b.v1.sdp.negotiate (queue
 * group "sdp"), the relay reached through its control contract. The relay here is a test peer speaking
 * that contract over the same real NATS (relayPeer.ts): it records what it was asked; media forwarding is
 * the relay's own tests' business.
 */
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Bus, busLayer } from "@b2bua/bus"
import {
  decodeSdpNegotiateReply,
  encodeSdpNegotiateRequest,
  initialMediaState,
  type MediaStateV1,
  type NegotiationPolicyV1,
  type SdpNegotiateReplyV1,
  type SdpNegotiateRequestV1,
  sdpSubjects,
} from "@b2bua/contracts"
import { mediaAttributes, mediaConnection, mediaDirection, origin, parseSdpOrThrow } from "@b2bua/sdp"
import { type NatsServerHandle, startNatsServer } from "@b2bua/testkit"
import { Effect, Layer, Schedule, type Scope } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { loadConfig } from "../src/Config.js"
import { runNegotiator } from "../src/NegotiatorService.js"
import { relayClientLayer } from "../src/RelayClient.js"
import { RelayDirectory, relayDirectoryLayer } from "../src/RelayDirectory.js"
import { type RelayPeer, startRelayPeer } from "./relayPeer.js"

const guide = fileURLToPath(new URL("../../../packages/sip/test/golden/guide/", import.meta.url))
const body = (file: string): string => {
  const text = readFileSync(guide + file, "utf8")
  return text.slice(text.indexOf("\r\n\r\n") + 4)
}
const OFFER = body("09-invite.sip") // PCMU, G729, telephone-event/101 from 172.16.1.11:10006
const ANSWER = body("12-invite-200.sip") // PCMU, telephone-event/101 from 172.16.1.21:10008
const crlf = (s: string) => s.replace(/\r?\n/g, "\r\n")

let nats: NatsServerHandle
beforeAll(async () => {
  nats = await startNatsServer()
})
afterAll(async () => {
  await nats.stop()
})

interface Harness {
  readonly bus: typeof Bus.Service
  readonly peer: (id: string, firstPort: number) => Effect.Effect<RelayPeer, never, Scope.Scope>
  /** Announces and waits until the negotiator's directory lists `count` relays (bounded). */
  readonly announced: (peers: ReadonlyArray<readonly [RelayPeer, number]>) => Effect.Effect<void>
  readonly negotiate: (request: Partial<SdpNegotiateRequestV1>) => Effect.Effect<SdpNegotiateReplyV1>
}

const run = <A>(use: (h: Harness) => Effect.Effect<A, never, Scope.Scope>): Promise<A> => {
  const config = loadConfig({
    NATS_URL: nats.url,
    B2BUA_SDP_INSTANCE: "sdptest",
    B2BUA_SDP_RELAY_TIMEOUT_MS: "500",
  })
  const layers = Layer.mergeAll(
    relayClientLayer({ timeoutMs: config.relayTimeoutMs }),
    relayDirectoryLayer({ staleMs: config.relayStaleMs }),
  ).pipe(Layer.provideMerge(busLayer({ servers: nats.url, name: "sdp-negotiator-test" })))
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        yield* runNegotiator(config)
        const bus = yield* Bus
        const directory = yield* RelayDirectory
        const harness: Harness = {
          bus,
          peer: (id, firstPort) => startRelayPeer(bus, { id, address: "127.0.0.1", firstPort }),
          announced: (peers) =>
            Effect.forEach(peers, ([p, load]) => p.announce(load)).pipe(
              Effect.andThen(directory.candidates),
              Effect.repeat({
                until: (c) => c.length >= peers.length,
                schedule: Schedule.spaced("10 millis"),
              }),
              Effect.timeout("3 seconds"),
              Effect.orDie,
              Effect.asVoid,
            ),
          negotiate: (request) =>
            bus
              .request(
                sdpSubjects.negotiate(),
                encodeSdpNegotiateRequest({
                  v: 1,
                  callId: "bb-500690ed-0-21@172.16.1.10",
                  owner: "cc1",
                  leg: "a",
                  kind: "offer",
                  sdp: OFFER,
                  policy: {},
                  media: initialMediaState,
                  ...request,
                }),
                { timeoutMs: 5000 },
              )
              .pipe(
                Effect.map((m) => decodeSdpNegotiateReply(m.data)),
                Effect.flatMap((r) => ("v" in r ? Effect.succeed(r) : Effect.die(r))),
                Effect.orDie,
              ),
        }
        return yield* use(harness)
      }).pipe(Effect.provide(layers), Effect.orDie),
    ),
  )
}

const ok = (r: SdpNegotiateReplyV1) => {
  if ("refuse" in r) throw new Error(`refused: ${JSON.stringify(r.refuse)}`)
  return r.ok
}

describe("sdp-negotiator over NATS", () => {
  it("anchors a call: each side sees only the relay; the relay learns both remotes and the event types", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r1", 30000)
        yield* h.announced([[relay, 0.2]])
        const toB = ok(yield* h.negotiate({ leg: "a", kind: "offer", sdp: OFFER }))
        const session = [...relay.sessions.values()][0]!
        expect(session.create.legs.a).toMatchObject({
          remote: { host: "172.16.1.11", port: 10006 },
          telephoneEventPt: 101,
          direction: "sendrecv",
        })
        expect(session.create.owner).toBe("cc1")
        const offerB = parseSdpOrThrow(toB.sdp)
        expect(toB.sdp).not.toContain("172.16.1.11")
        expect(toB.sdp).toContain("c=IN IP4 127.0.0.1\r\n")
        expect(offerB.media[0]!.port).toBe(session.legs.b.rtpPort)
        expect(origin(offerB)).toMatchObject({ username: "-", sessionVersion: "1", address: "127.0.0.1" })

        const toA = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: toB.media }))
        expect(session.updates.at(-1)?.legs?.b).toMatchObject({
          remote: { host: "172.16.1.21", port: 10008 },
        })
        expect(toA.sdp).not.toContain("172.16.1.21")
        const answerA = parseSdpOrThrow(toA.sdp)
        expect(answerA.media[0]!.port).toBe(session.legs.a.rtpPort)
        expect(answerA.media[0]!.formats).toEqual(["0", "101"])
        expect(toA.media.legs.a.local).toBe(toA.sdp)
        expect(toA.media.relay?.streams).toHaveLength(1)

        const released = ok(yield* h.negotiate({ kind: "release", sdp: "", media: toA.media }))
        expect(relay.deleted).toEqual([session.create.sessionId])
        expect(released.media.relay).toBeUndefined()
      }),
    ))

  it("hold and resume update the relay; o= moves only when the SDP changes; telephone-event 101 ↔ 96", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r2", 31000)
        yield* h.announced([[relay, 0.1]])
        const bAnswer96 = crlf(ANSWER.replace(/101/g, "96"))
        let state: MediaStateV1 = ok(yield* h.negotiate({ sdp: OFFER })).media
        const answered = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: bAnswer96, media: state }))
        state = answered.media
        const session = [...relay.sessions.values()][0]!
        expect(session.updates.at(-1)?.ptMap).toEqual([{ a: 101, b: 96 }])
        expect(parseSdpOrThrow(answered.sdp).media[0]!.formats).toEqual(["0", "101"])

        // A puts B on hold (re-INVITE with sendonly): the relay hears it, B's o= version moves to 2.
        const hold = ok(
          yield* h.negotiate({ sdp: crlf(OFFER.replace("a=sendrecv", "a=sendonly")), media: state }),
        )
        expect(session.updates.at(-1)?.legs?.a?.direction).toBe("sendonly")
        const holdB = parseSdpOrThrow(hold.sdp)
        expect(mediaDirection(holdB, holdB.media[0]!)).toBe("sendonly")
        expect(origin(holdB).sessionVersion).toBe("2")
        // B's earlier answer bound telephone-event to 96 on its leg: the re-offer keeps 96 there.
        expect(holdB.media[0]!.formats).toEqual(["0", "18", "96"])
        const holdAnswer = crlf(`${bAnswer96}a=recvonly\n`)
        const held = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: holdAnswer, media: hold.media }))
        const heldA = parseSdpOrThrow(held.sdp)
        expect(mediaDirection(heldA, heldA.media[0]!)).toBe("recvonly")
        expect(origin(heldA).sessionVersion).toBe("2")

        // Resume, then the same offer again (a session refresh): B's version 3, then still 3.
        const resume = ok(yield* h.negotiate({ sdp: OFFER, media: held.media }))
        expect(origin(parseSdpOrThrow(resume.sdp)).sessionVersion).toBe("3")
        const resumed = ok(
          yield* h.negotiate({ leg: "b", kind: "answer", sdp: bAnswer96, media: resume.media }),
        )
        const again = ok(yield* h.negotiate({ sdp: OFFER, media: resumed.media }))
        expect(origin(parseSdpOrThrow(again.sdp)).sessionVersion).toBe("3")
        expect(relay.sessions.size).toBe(1)
      }),
    ))

  it("late offer: the offer comes in B's 200, the answer in A's ACK", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r3", 32000)
        yield* h.announced([[relay, 0.1]])
        const toA = ok(yield* h.negotiate({ leg: "b", kind: "offer", sdp: OFFER }))
        const session = [...relay.sessions.values()][0]!
        expect(session.create.legs.b.remote).toEqual({ host: "172.16.1.11", port: 10006 })
        expect(parseSdpOrThrow(toA.sdp).media[0]!.port).toBe(session.legs.a.rtpPort)
        const toB = ok(yield* h.negotiate({ leg: "a", kind: "answer", sdp: ANSWER, media: toA.media }))
        expect(session.updates.at(-1)?.legs?.a?.remote).toEqual({ host: "172.16.1.21", port: 10008 })
        expect(parseSdpOrThrow(toB.sdp).media[0]!.port).toBe(session.legs.b.rtpPort)
      }),
    ))

  it("late offer in a re-INVITE (either leg): the offer in the 200 updates the call's session, the answer in the ACK too; the relay hides both moves", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r9", 39000)
        yield* h.announced([[relay, 0.1]])
        const toB = ok(yield* h.negotiate({ sdp: OFFER }))
        const toA = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: toB.media }))
        const session = [...relay.sessions.values()][0]!
        const portA = parseSdpOrThrow(toA.sdp).media[0]!.port
        // A's re-INVITE without SDP reached B without SDP; B's 200 offers from a new address.
        const moved = crlf(ANSWER.replace("10008", "10010").replace(/o=(\S+) (\d+) (\d+)/, "o=$1 $2 9"))
        const offerToA = ok(yield* h.negotiate({ leg: "b", kind: "offer", sdp: moved, media: toA.media }))
        expect(relay.sessions.size).toBe(1)
        expect(session.updates.at(-1)?.legs?.b?.remote).toEqual({ host: "172.16.1.21", port: 10010 })
        const offered = parseSdpOrThrow(offerToA.sdp)
        expect(offered.media[0]!.port).toBe(portA) // A keeps talking to the same relay port
        expect(mediaConnection(offered, offered.media[0]!)?.address).toBe("127.0.0.1")
        // The relay hides B's move: A gets the same session description, so the same o= version (§8).
        expect(offerToA.sdp).toBe(toA.sdp)
        // A's ACK answers it from a new port too: the relay learns A's remote, B gets the anchored answer.
        const aAnswer = crlf(OFFER.replace("10006", "10020").replace(/o=(\S+) (\d+) (\d+)/, "o=$1 $2 1"))
        const answerToB = ok(
          yield* h.negotiate({ leg: "a", kind: "answer", sdp: aAnswer, media: offerToA.media }),
        )
        expect(session.updates.at(-1)?.legs?.a?.remote).toEqual({ host: "172.16.1.11", port: 10020 })
        const answered = parseSdpOrThrow(answerToB.sdp)
        expect(answered.media[0]!.port).toBe(parseSdpOrThrow(toB.sdp).media[0]!.port)
        // B's offer had no G.729, so the answer B gets differs from the first offer: its version moves.
        expect(answered.media[0]!.formats).toEqual(["0", "101"])
        expect(Number(origin(answered).sessionVersion)).toBe(
          Number(origin(parseSdpOrThrow(toB.sdp)).sessionVersion) + 1,
        )
        expect(relay.sessions.size).toBe(1)
        // The same late offer from the other leg: B's re-INVITE without SDP, A's 200 offers, B's ACK answers.
        const offerToB = ok(
          yield* h.negotiate({ leg: "a", kind: "offer", sdp: aAnswer, media: answerToB.media }),
        )
        const back = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: moved, media: offerToB.media }))
        expect(parseSdpOrThrow(back.sdp).media[0]!.port).toBe(portA)
        expect(relay.sessions.size).toBe(1)
      }),
    ))

  it("a T.38 re-offer switches the stream's relay session to UDPTL", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r4", 33000)
        yield* h.announced([[relay, 0.1]])
        const first = ok(yield* h.negotiate({ sdp: OFFER }))
        const up = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: first.media }))
        const t38 = crlf(
          "v=0\no=IPS 5927 1 IN IP4 172.16.1.21\ns=IPS\nc=IN IP4 172.16.1.21\nt=0 0\nm=image 10010 udptl t38\na=T38FaxVersion:0\na=T38FaxRateManagement:transferredTCF\n",
        )
        const toA = ok(yield* h.negotiate({ leg: "b", kind: "offer", sdp: t38, media: up.media }))
        const session = [...relay.sessions.values()][0]!
        expect(session.updates.at(-1)).toMatchObject({
          media: "udptl",
          legs: { b: { remote: { port: 10010 } } },
        })
        const offerA = parseSdpOrThrow(toA.sdp)
        expect([offerA.media[0]!.media, offerA.media[0]!.port]).toEqual(["image", session.legs.a.rtpPort])
        expect(mediaAttributes(offerA.media[0]!).map((a) => (a.kind === "other" ? a.name : a.kind))).toEqual([
          "T38FaxVersion",
          "T38FaxRateManagement",
        ])
      }),
    ))

  it("a T.38 re-offer that disables audio and adds an image stream: one session deleted, one created", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r9", 38000)
        yield* h.announced([[relay, 0.1]])
        const first = ok(yield* h.negotiate({ sdp: OFFER }))
        const up = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: first.media }))
        const audioSession = up.media.relay!.streams[0]!.sessionId
        const t38 = crlf(
          "v=0\no=IPS 24669 1 IN IP4 172.16.1.11\ns=IPS\nc=IN IP4 172.16.1.11\nt=0 0\nm=audio 0 RTP/AVP 0\nm=image 10012 udptl t38\na=T38FaxVersion:0\n",
        )
        const toB = ok(yield* h.negotiate({ sdp: t38, media: up.media }))
        expect(relay.deleted).toEqual([audioSession])
        const image = [...relay.sessions.values()][0]!
        expect(image.create).toMatchObject({ media: "udptl", legs: { a: { remote: { port: 10012 } } } })
        const offerB = parseSdpOrThrow(toB.sdp)
        expect(offerB.media.map((m) => [m.media, m.port])).toEqual([
          ["audio", 0],
          ["image", image.legs.b.rtpPort],
        ])
        const t38Answer = crlf(
          "v=0\no=IPS 5927 1 IN IP4 172.16.1.21\ns=IPS\nc=IN IP4 172.16.1.21\nt=0 0\nm=audio 0 RTP/AVP 0\nm=image 10014 udptl t38\na=T38FaxVersion:0\n",
        )
        const toA = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: t38Answer, media: toB.media }))
        expect(image.updates.at(-1)?.legs?.b?.remote).toEqual({ host: "172.16.1.21", port: 10014 })
        expect(parseSdpOrThrow(toA.sdp).media.map((m) => m.port)).toEqual([0, image.legs.a.rtpPort])
        expect(toA.media.relay?.streams.map((s) => [s.index, s.media])).toEqual([[1, "udptl"]])
      }),
    ))

  it("refuses 488 with warning 305 when no codec is common, and asks nothing of the relay", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r5", 34000)
        yield* h.announced([[relay, 0.1]])
        const policy: NegotiationPolicyV1 = { allow: ["PCMA", "telephone-event"] }
        const r = yield* h.negotiate({ sdp: OFFER, policy })
        expect(r).toEqual({
          v: 1,
          refuse: {
            status: 488,
            reason: "no offered codec is allowed on this trunk",
            warning: { code: 305, text: "Incompatible media format" },
          },
        })
        expect(relay.sessions.size).toBe(0)
        const bad = yield* h.negotiate({ sdp: "v=0\r\nhello\r\n" })
        expect("refuse" in bad && bad.refuse).toMatchObject({
          status: 488,
          reason: "SDP line 2: expected <type>=<value>",
        })
      }),
    ))

  it("refuses 503 when no relay has announced itself or none answers; a refusing relay is skipped", () =>
    run((h) =>
      Effect.gen(function* () {
        const none = yield* h.negotiate({ sdp: OFFER })
        expect("refuse" in none && none.refuse).toEqual({
          status: 503,
          reason: "no RTP relay has announced itself",
        })
        const full = yield* h.peer("r6", 35000)
        const spare = yield* h.peer("r7", 36000)
        full.refuseWith = "capacity"
        yield* h.announced([
          [full, 0.1],
          [spare, 0.9],
        ])
        const r = ok(yield* h.negotiate({ sdp: OFFER }))
        expect(r.media.relay?.relayId).toBe("r7")
        expect(spare.sessions.size).toBe(1)
        spare.refuseWith = "no-ports"
        const refused = yield* h.negotiate({ sdp: OFFER })
        expect("refuse" in refused && refused.refuse.status).toBe(503)
      }),
    ))

  it("a re-offer re-creates a session the relay lost, with the other leg's remote", () =>
    run((h) =>
      Effect.gen(function* () {
        const relay = yield* h.peer("r8", 37000)
        yield* h.announced([[relay, 0.1]])
        const first = ok(yield* h.negotiate({ sdp: OFFER }))
        const up = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: first.media }))
        relay.sessions.clear()
        const again = ok(yield* h.negotiate({ sdp: OFFER, media: up.media }))
        const session = [...relay.sessions.values()][0]!
        expect(session.create.legs).toMatchObject({
          a: { remote: { host: "172.16.1.11", port: 10006 } },
          b: { remote: { host: "172.16.1.21", port: 10008 } },
        })
        expect(parseSdpOrThrow(again.sdp).media[0]!.port).toBe(session.legs.b.rtpPort)
        expect(again.media.relay?.streams[0]?.b.rtpPort).toBe(session.legs.b.rtpPort)
      }),
    ))

  it("passes SDP end to end when the trunk bypasses the relay", () =>
    run((h) =>
      Effect.gen(function* () {
        const r = ok(yield* h.negotiate({ sdp: OFFER, policy: { bypass: true } }))
        expect(r.media.bypass).toBe(true)
        expect(r.media.relay).toBeUndefined()
        expect(r.sdp).toContain("c=IN IP4 172.16.1.11\r\n")
        expect(r.sdp).toContain("m=audio 10006 RTP/AVP 0 18 101\r\n")
        const back = ok(yield* h.negotiate({ leg: "b", kind: "answer", sdp: ANSWER, media: r.media }))
        expect(back.sdp).toContain("m=audio 10008 RTP/AVP 0 101\r\n")
      }),
    ))
})
