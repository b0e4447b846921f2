import { describe, expect, it } from "vitest"
import { parseArgs, UsageError } from "../src/Args.js"
import { table } from "../src/Table.js"

describe("b2bctl arguments", () => {
  it("parses commands with global options anywhere, environment as defaults", () => {
    const p = parseArgs(["calls", "list", "--state", "answered", "--json", "--server=10.0.0.1:50051"], {
      B2BCTL_TOKEN: "t",
    })
    expect(p.options).toMatchObject({ server: "10.0.0.1:50051", token: "t", json: true, timeoutMs: 5000 })
    expect(p.command).toMatchObject({ _tag: "CallsList", state: "answered", limit: 1000 })
    expect(
      parseArgs(["calls", "watch", "--state", "ended", "--state", "answered", "--after", "7"], {}).command,
    ).toEqual({
      _tag: "CallsWatch",
      after: 7,
      states: ["ended", "answered"],
      callId: "",
      trunk: "",
      count: undefined,
    })
    expect(parseArgs(["trunks"], {}).command).toEqual({ _tag: "ConfigList", kind: "trunks", limit: 1000 })
    expect(parseArgs(["records", "--from", "1970-01-01T00:00:01Z"], {}).command).toMatchObject({
      fromMs: 1000,
    })
    expect(parseArgs([], {}).command).toEqual({ _tag: "Help" })
  })

  it("names the offending argument", () => {
    const usage = (argv: ReadonlyArray<string>) => {
      try {
        parseArgs(argv, {})
      } catch (e) {
        return e instanceof UsageError ? e.message : "not a usage error"
      }
      return "no error"
    }
    expect(usage(["calls", "get"])).toBe("calls get: missing <id>")
    expect(usage(["calls", "list", "--limit", "x"])).toBe('--limit: expected a non-negative integer, got "x"')
    expect(usage(["calls", "list", "--bogus", "1"])).toBe('unknown option --bogus for "calls list"')
    expect(usage(["trunks", "create"])).toBe("trunks create: --file is required")
    expect(usage(["frobnicate"])).toBe('unknown command "frobnicate"')
    expect(usage(["records", "--to", "yesterday"])).toMatch(/^--to: /)
  })

  it("tables pad every column but the last", () => {
    expect(
      table(
        ["A", "BB"],
        [
          ["xyz", "1"],
          ["", "22"],
        ],
      ),
    ).toBe("A    BB\nxyz  1\n     22")
  })
})
