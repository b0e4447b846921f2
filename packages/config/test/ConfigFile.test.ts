import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { decodeRoutingConfig } from "@b2bua/contracts"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { decodeConfigText, loadConfigFile } from "../src/index.js"

const good = `
trunks:
  - name: carrier-in
    sources: [127.0.0.1/32]
  - name: carrier-out
    gateways:
      - { host: 127.0.0.1, port: 5080 }
routes:
  - { name: default, prefix: "", trunks: [carrier-out] }
`

describe("configuration files", () => {
  it("decodes YAML with the schema", () => {
    const decoded = decodeConfigText("routing.yaml", good, decodeRoutingConfig)
    expect(Result.isSuccess(decoded) && decoded.success.trunks.map((t) => t.name)).toEqual([
      "carrier-in",
      "carrier-out",
    ])
  })

  it("names the file and the key of a schema defect", () => {
    const decoded = decodeConfigText(
      "routing.yaml",
      good.replace("port: 5080", "port: 0"),
      decodeRoutingConfig,
    )
    expect(Result.isFailure(decoded) && decoded.failure.message).toBe(
      "configuration file routing.yaml: trunks[1].gateways[0].port: Expected a value between 1 and 65535",
    )
  })

  it("names the line of a syntax error and of a duplicate key", () => {
    const broken = decodeConfigText("r.yaml", "trunks: [\nroutes: x", decodeRoutingConfig)
    expect(Result.isFailure(broken) && broken.failure.message).toMatch(
      /^configuration file r\.yaml: line \d+: /,
    )
    const duplicate = decodeConfigText("r.yaml", "trunks: []\ntrunks: []\nroutes: []", decodeRoutingConfig)
    expect(Result.isFailure(duplicate) && duplicate.failure.message).toMatch(/line 2: .*unique/i)
  })

  it("says when the file cannot be read", () => {
    const dir = mkdtempSync(join(tmpdir(), "cfg-"))
    const missing = loadConfigFile(join(dir, "nope.yaml"), decodeRoutingConfig)
    expect(Result.isFailure(missing) && missing.failure.message).toMatch(
      /nope\.yaml: \(file\): cannot read: ENOENT/,
    )
    writeFileSync(join(dir, "ok.yaml"), good)
    expect(Result.isSuccess(loadConfigFile(join(dir, "ok.yaml"), decodeRoutingConfig))).toBe(true)
  })
})
