import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Authorization, parseMessageOrThrow, readHeader } from "@b2bua/sip"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { checkNonce, computeHa1, computeResponse, makeNonce, verifyResponse } from "../src/index.js"

describe("digest (RFC 2617, RFC 7616)", () => {
  it("RFC 2617 §3.5: Mufasa's response", () => {
    const ha1 = computeHa1("MD5", "Mufasa", "testrealm@host.com", "Circle Of Life")
    const response = computeResponse({
      algorithm: "MD5",
      ha1,
      method: "GET",
      uri: "/dir/index.html",
      nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
      cnonce: "0a4f113b",
      nc: "00000001",
      qop: "auth",
    })
    expect(response).toBe("6629fae49393a05397450978507c4ef1")
  })

  it.each([
    ["MD5", "8ca523f5e9506fed4657c9700eebdbec"],
    ["SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"],
  ] as const)("RFC 7616 §3.9.1: the %s example", (algorithm, expected) => {
    const ha1 = computeHa1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life")
    expect(
      computeResponse({
        algorithm,
        ha1,
        method: "GET",
        uri: "/dir/index.html",
        nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
        nc: "00000001",
        qop: "auth",
      }),
    ).toBe(expected)
  })

  it("verifies the reference guide's REGISTER against the stored HA1 (password documented in the golden README)", () => {
    const register = parseMessageOrThrow(
      readFileSync(
        fileURLToPath(
          new URL("../../../packages/sip/test/golden/guide/03-register-auth.sip", import.meta.url),
        ),
      ),
    )
    const cred = readHeader(register, Authorization)!
    const ha1 = computeHa1("MD5", cred.username, cred.realm, "necsippass")
    const input = {
      algorithm: "MD5" as const,
      ha1,
      method: "REGISTER",
      uri: cred.uri,
      nonce: cred.nonce,
      cnonce: cred.cnonce,
      nc: cred.nc,
      qop: "auth" as const,
    }
    expect(verifyResponse(input, cred.response)).toBe(true)
    expect(
      verifyResponse({ ...input, ha1: computeHa1("MD5", cred.username, cred.realm, "wrong") }, cred.response),
    ).toBe(false)
  })

  it("any change of one character of the response fails verification", () => {
    const input = {
      algorithm: "SHA-256-sess" as const,
      ha1: computeHa1("SHA-256", "u", "r", "p"),
      method: "INVITE",
      uri: "sip:b@x",
      nonce: "n",
      cnonce: "c",
      nc: "00000001",
      qop: "auth-int" as const,
      body: Buffer.from("v=0\r\n"),
    }
    const good = computeResponse(input)
    expect(verifyResponse(input, good)).toBe(true)
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: good.length - 1 }),
        fc.constantFrom(..."0123456789abcdef"),
        (at, ch) => {
          fc.pre(good[at] !== ch)
          expect(verifyResponse(input, good.slice(0, at) + ch + good.slice(at + 1))).toBe(false)
        },
      ),
    )
  })
})

describe("stateless nonces", () => {
  const key = Buffer.alloc(32, 7)
  const random = Buffer.alloc(12, 1)
  it("are valid within their lifetime, stale after it, and invalid when tampered or for another realm", () => {
    const nonce = makeNonce(key, "example.com", 1_000_000, random)
    expect(checkNonce(key, "example.com", nonce, 1_010_000, 60_000)).toEqual({
      _tag: "Valid",
      issuedAt: 1_000_000,
    })
    expect(checkNonce(key, "example.com", nonce, 1_100_000, 60_000)._tag).toBe("Stale")
    expect(checkNonce(key, "other.com", nonce, 1_010_000, 60_000)._tag).toBe("Invalid")
    expect(checkNonce(Buffer.alloc(32, 8), "example.com", nonce, 1_010_000, 60_000)._tag).toBe("Invalid")
    const tampered = (nonce[0] === "A" ? "B" : "A") + nonce.slice(1)
    expect(checkNonce(key, "example.com", tampered, 1_010_000, 60_000)._tag).toBe("Invalid")
  })
  it("never throw on arbitrary text", () => {
    fc.assert(
      fc.property(fc.string(), (s) =>
        ["Valid", "Stale", "Invalid"].includes(checkNonce(key, "r", s, 0, 1)._tag),
      ),
    )
  })
})
