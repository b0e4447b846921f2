import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { AuthConfigError, decodeAuthFile, readAuthFile } from "../src/AuthConfig.js"
import { AuthServiceConfigError, loadConfig } from "../src/Config.js"
import { computeHa1 } from "../src/Digest.js"

const demo = fileURLToPath(new URL("../../../deploy/local/auth-demo.yaml", import.meta.url))
const dir = mkdtempSync(join(tmpdir(), "auth-config-"))
const write = (name: string, text: string): string => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}

describe("auth configuration file", () => {
  it("reads the demo file and stores HA1 hashes, never the password", () => {
    const config = loadConfig({ B2BUA_AUTH_CONFIG: demo, B2BUA_NONCE_KEY: "a-demo-nonce-key-of-some-length" })
    expect(config.domains).toEqual([
      { name: "127.0.0.1", realm: "b2bua-demo", algorithms: ["SHA-256", "MD5"] },
    ])
    expect(config.credentials).toEqual([
      {
        username: "alice",
        realm: "b2bua-demo",
        aor: "sip:alice@127.0.0.1",
        ha1: {
          MD5: computeHa1("MD5", "alice", "b2bua-demo", "alice-demo"),
          "SHA-256": computeHa1("SHA-256", "alice", "b2bua-demo", "alice-demo"),
        },
      },
    ])
    expect(JSON.stringify(config.credentials)).not.toContain("alice-demo")
    expect(config.nonceKeyShared).toBe(true)
  })

  it("names the key and the file of each defect", () => {
    const file = write(
      "bad.yaml",
      [
        "domains: [{ name: example.com }]",
        "users:",
        "  - { user: bob, domain: elsewhere.org, password: x }",
        "trunks:",
        '  - { name: t1, sources: ["300.1.1.1/24"] }',
        "  - { name: t2, digest: { realm: example.com, user: nobody } }",
        "registrar: { minExpires: 0 }",
        "colour: blue",
      ].join("\n"),
    )
    const result = readAuthFile(file)
    expect(result).toBeInstanceOf(AuthConfigError)
    const message = (result as AuthConfigError).message
    expect(message).toContain(file)
    expect(message).toContain("registrar.minExpires")
    expect(message).toContain("colour")
    const cross = decodeAuthFile(
      {
        domains: [{ name: "example.com" }],
        users: [{ user: "bob", domain: "elsewhere.org", password: "x" }],
        trunks: [
          { name: "t1", sources: ["300.1.1.1/24"] },
          { name: "t2", digest: { realm: "example.com", user: "nobody" } },
        ],
      },
      "f.yaml",
    )
    expect((cross as AuthConfigError).problems.map((p) => p.key)).toEqual([
      "users[0].domain",
      "trunks[0].sources[0]",
      "trunks[1].digest",
    ])
  })

  it("reports YAML syntax errors and missing files", () => {
    expect((readAuthFile(write("syntax.yaml", "users: [")) as AuthConfigError).problems[0]?.key).toBe(
      "(yaml)",
    )
    expect((readAuthFile(join(dir, "absent.yaml")) as AuthConfigError).problems[0]?.key).toBe("(file)")
  })

  it("resolves outbound secrets from the environment and names a missing one", () => {
    const file = write(
      "outbound.yaml",
      [
        "outbound:",
        "  - trunk: carrier",
        '    registrar: "127.0.0.1:5090"',
        "    aor: sip:suite@carrier.example",
        "    secret: { env: CARRIER_PASSWORD }",
      ].join("\n"),
    )
    const config = loadConfig({ B2BUA_AUTH_CONFIG: file, CARRIER_PASSWORD: "pw" })
    expect(config.outbound).toEqual([
      {
        trunk: "carrier",
        registrar: { host: "127.0.0.1", port: 5090 },
        transport: "udp",
        aor: "sip:suite@carrier.example",
        username: "suite",
        password: "pw",
        expires: 3600,
      },
    ])
    expect(() => loadConfig({ B2BUA_AUTH_CONFIG: file })).toThrow(/CARRIER_PASSWORD: not set/)
    expect(() => loadConfig({ B2BUA_NONCE_KEY: "short" })).toThrow(AuthServiceConfigError)
  })
})
