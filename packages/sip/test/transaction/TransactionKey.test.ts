import { describe, expect, it } from "vitest"
import {
  clientTransactionKey,
  isRfc3261Branch,
  type ServerKeyFacts,
  serverTransactionKey,
} from "../../src/index.js"

const invite: ServerKeyFacts = {
  method: "INVITE",
  branch: "z9hG4bK776asdhds",
  sentBy: "pc33.atlanta.com:5060",
  requestUri: "sip:bob@biloxi.com",
  callId: "a84b4c76e66710",
  cseq: 314159,
  fromTag: "1928301774",
  toTag: undefined,
  topViaText: "SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds",
}

describe("transaction matching (RFC 3261 §17.1.3, §17.2.3)", () => {
  it("§17.2.3 matches an INVITE retransmission and its non-2xx ACK by branch and sent-by", () => {
    expect(serverTransactionKey({ ...invite, method: "ACK", toTag: "a6c85cf" })).toBe(
      serverTransactionKey(invite),
    )
  })

  it("§17.2.3 keeps CANCEL in its own transaction although it shares the branch", () => {
    expect(serverTransactionKey({ ...invite, method: "CANCEL" })).not.toBe(serverTransactionKey(invite))
  })

  it("§17.2.3 distinguishes the same branch from another sent-by", () => {
    expect(serverTransactionKey({ ...invite, sentBy: "pc34.atlanta.com:5060" })).not.toBe(
      serverTransactionKey(invite),
    )
  })

  it("§17.2.3 falls back to RFC 2543 matching when the branch lacks the magic cookie", () => {
    const old = { ...invite, branch: "776asdhds" }
    expect(isRfc3261Branch(old.branch)).toBe(false)
    expect(isRfc3261Branch("z9hG4bK")).toBe(false) // RFC 4475 §3.2.1: cookie alone
    expect(serverTransactionKey({ ...old, method: "ACK", toTag: "x" })).toBe(serverTransactionKey(old))
    expect(serverTransactionKey({ ...old, cseq: 314160 })).not.toBe(serverTransactionKey(old))
    expect(serverTransactionKey({ ...old, method: "BYE", toTag: "x" })).not.toBe(
      serverTransactionKey({ ...old, method: "BYE", toTag: "y" }),
    )
  })

  it("§17.1.3 a response matches by branch and CSeq method", () => {
    expect(clientTransactionKey("z9hG4bK1", "INVITE")).not.toBe(clientTransactionKey("z9hG4bK1", "CANCEL"))
  })
})
