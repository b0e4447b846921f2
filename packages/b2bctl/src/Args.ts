/**
 * b2bctl's command line, parsed into a typed command. Pure: argv and environment in, a command or a
 * usage error naming the offending argument out.
 */

export interface GlobalOptions {
  readonly server: string
  readonly token: string | undefined
  readonly tokenFile: string | undefined
  /** PEM CA file: TLS to the server, verified against it. */
  readonly caFile: string | undefined
  readonly json: boolean
  readonly timeoutMs: number
}

export type Command =
  | { readonly _tag: "Help" }
  | {
      readonly _tag: "CallsList"
      readonly state: string
      readonly trunk: string
      readonly number: string
      readonly minAgeMs: number
      readonly maxAgeMs: number
      readonly limit: number
    }
  | { readonly _tag: "CallsGet"; readonly id: string }
  | {
      readonly _tag: "CallsWatch"
      readonly after: number | undefined
      readonly states: ReadonlyArray<string>
      readonly callId: string
      readonly trunk: string
      readonly count: number | undefined
    }
  | { readonly _tag: "CallsHangup"; readonly id: string; readonly reason: string }
  | { readonly _tag: "ConfigList"; readonly kind: "trunks" | "routes"; readonly limit: number }
  | { readonly _tag: "ConfigGet"; readonly kind: "trunks" | "routes"; readonly name: string }
  | { readonly _tag: "ConfigDelete"; readonly kind: "trunks" | "routes"; readonly name: string }
  | {
      readonly _tag: "ConfigPut"
      readonly kind: "trunks" | "routes"
      readonly mode: "create" | "update"
      readonly file: string
    }
  | { readonly _tag: "RegistrationsList"; readonly aorPrefix: string; readonly limit: number }
  | { readonly _tag: "RegistrationsGet"; readonly aor: string }
  | { readonly _tag: "RegistrationsRemove"; readonly aor: string; readonly contact: string }
  | { readonly _tag: "RegistrationsOutbound" }
  | {
      readonly _tag: "Records"
      readonly fromMs: number
      readonly toMs: number
      readonly trunk: string
      readonly number: string
      readonly disposition: string
      readonly limit: number
    }
  | { readonly _tag: "Relays" }

export interface Parsed {
  readonly options: GlobalOptions
  readonly command: Command
}

export class UsageError extends Error {
  override readonly name = "UsageError"
}

export const USAGE = `usage: b2bctl [--server host:port] [--token T | --token-file F] [--ca-file F] [--json] [--timeout ms] <command>

commands:
  calls list [--state S] [--trunk T] [--number PREFIX] [--min-age-ms N] [--max-age-ms N] [--limit N]
  calls get <id>
  calls watch [--after CURSOR] [--state S]... [--call ID] [--trunk T] [--count N]
  calls hangup <id> [--reason TEXT]
  trunks [list | get <name> | create --file F | update --file F | delete <name>]
  routes [list | get <name> | create --file F | update --file F | delete <name>]
  registrations [list [--aor-prefix P] | get <aor> | remove <aor> <contact> | outbound]
  records [--from TIME] [--to TIME] [--trunk T] [--number PREFIX] [--disposition D] [--limit N]
  relays

states: calling, early, answered, ending, ended; dispositions: answered, busy, no-answer, cancelled, failed
TIME: milliseconds since the epoch or an ISO 8601 date. Files hold the proto JSON form (as --json prints).
environment: B2BCTL_SERVER, B2BCTL_TOKEN, B2BCTL_TOKEN_FILE`

type Env = Readonly<Record<string, string | undefined>>

/** Splits argv into positionals and `--name value` / `--flag` options (repeatable options keep every value). */
const split = (argv: ReadonlyArray<string>, flags: ReadonlySet<string>) => {
  const positionals: Array<string> = []
  const options = new Map<string, Array<string>>()
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith("--")) {
      positionals.push(arg)
      continue
    }
    const eq = arg.indexOf("=")
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    let value: string
    if (eq !== -1) value = arg.slice(eq + 1)
    else if (flags.has(name)) value = "true"
    else {
      const next = argv[i + 1]
      if (next === undefined) throw new UsageError(`--${name} needs a value`)
      value = next
      i++
    }
    options.set(name, [...(options.get(name) ?? []), value])
  }
  return { positionals, options }
}

const GLOBAL = ["server", "token", "token-file", "ca-file", "json", "timeout"]

const intOf = (name: string, text: string | undefined, fallback: number): number => {
  if (text === undefined) return fallback
  if (!/^\d{1,15}$/.test(text))
    throw new UsageError(`--${name}: expected a non-negative integer, got "${text}"`)
  return Number(text)
}

const timeOf = (name: string, text: string | undefined): number => {
  if (text === undefined) return 0
  if (/^\d{1,15}$/.test(text)) return Number(text)
  const ms = Date.parse(text)
  if (Number.isNaN(ms))
    throw new UsageError(`--${name}: expected milliseconds or an ISO 8601 date, got "${text}"`)
  return ms
}

export const parseArgs = (argv: ReadonlyArray<string>, env: Env): Parsed => {
  const { positionals, options } = split(argv, new Set(["json", "help"]))
  const one = (name: string): string | undefined => options.get(name)?.at(-1)
  const all = (name: string): ReadonlyArray<string> => options.get(name) ?? []
  const allowed = (extra: ReadonlyArray<string>) => {
    for (const name of options.keys())
      if (!GLOBAL.includes(name) && !extra.includes(name) && name !== "help")
        throw new UsageError(`unknown option --${name} for "${positionals.slice(0, 2).join(" ")}"`)
  }
  const globals: GlobalOptions = {
    server: one("server") ?? env.B2BCTL_SERVER ?? "127.0.0.1:50051",
    token: one("token") ?? env.B2BCTL_TOKEN,
    tokenFile: one("token-file") ?? env.B2BCTL_TOKEN_FILE,
    caFile: one("ca-file"),
    json: one("json") === "true",
    timeoutMs: intOf("timeout", one("timeout"), 5000),
  }
  const [group, verb, ...rest] = positionals
  const arg = (index: number, what: string): string => {
    const v = rest[index]
    if (v === undefined) throw new UsageError(`${group} ${verb}: missing <${what}>`)
    return v
  }
  const limit = () => intOf("limit", one("limit"), 1000)
  const command = ((): Command => {
    if (group === undefined || options.has("help") || group === "help") return { _tag: "Help" }
    switch (group) {
      case "calls":
        switch (verb) {
          case "list":
          case undefined:
            allowed(["state", "trunk", "number", "min-age-ms", "max-age-ms", "limit"])
            return {
              _tag: "CallsList",
              state: one("state") ?? "",
              trunk: one("trunk") ?? "",
              number: one("number") ?? "",
              minAgeMs: intOf("min-age-ms", one("min-age-ms"), 0),
              maxAgeMs: intOf("max-age-ms", one("max-age-ms"), 0),
              limit: limit(),
            }
          case "get":
            allowed([])
            return { _tag: "CallsGet", id: arg(0, "id") }
          case "watch": {
            allowed(["after", "state", "call", "trunk", "count"])
            const after = one("after")
            const count = one("count")
            return {
              _tag: "CallsWatch",
              after: after === undefined ? undefined : intOf("after", after, 0),
              states: all("state"),
              callId: one("call") ?? "",
              trunk: one("trunk") ?? "",
              count: count === undefined ? undefined : intOf("count", count, 0),
            }
          }
          case "hangup":
            allowed(["reason"])
            return { _tag: "CallsHangup", id: arg(0, "id"), reason: one("reason") ?? "" }
          default:
            throw new UsageError(`calls: unknown command "${verb}" (list, get, watch, hangup)`)
        }
      case "trunks":
      case "routes":
        switch (verb) {
          case "list":
          case undefined:
            allowed(["limit"])
            return { _tag: "ConfigList", kind: group, limit: limit() }
          case "get":
            allowed([])
            return { _tag: "ConfigGet", kind: group, name: arg(0, "name") }
          case "delete":
            allowed([])
            return { _tag: "ConfigDelete", kind: group, name: arg(0, "name") }
          case "create":
          case "update": {
            allowed(["file"])
            const file = one("file")
            if (file === undefined) throw new UsageError(`${group} ${verb}: --file is required`)
            return { _tag: "ConfigPut", kind: group, mode: verb, file }
          }
          default:
            throw new UsageError(`${group}: unknown command "${verb}" (list, get, create, update, delete)`)
        }
      case "registrations":
        switch (verb) {
          case "list":
          case undefined:
            allowed(["aor-prefix", "limit"])
            return { _tag: "RegistrationsList", aorPrefix: one("aor-prefix") ?? "", limit: limit() }
          case "get":
            allowed([])
            return { _tag: "RegistrationsGet", aor: arg(0, "aor") }
          case "remove":
            allowed([])
            return { _tag: "RegistrationsRemove", aor: arg(0, "aor"), contact: arg(1, "contact") }
          case "outbound":
            allowed([])
            return { _tag: "RegistrationsOutbound" }
          default:
            throw new UsageError(`registrations: unknown command "${verb}" (list, get, remove, outbound)`)
        }
      case "records":
        if (verb !== undefined && verb !== "list") throw new UsageError(`records: unknown command "${verb}"`)
        allowed(["from", "to", "trunk", "number", "disposition", "limit"])
        return {
          _tag: "Records",
          fromMs: timeOf("from", one("from")),
          toMs: timeOf("to", one("to")),
          trunk: one("trunk") ?? "",
          number: one("number") ?? "",
          disposition: one("disposition") ?? "",
          limit: limit(),
        }
      case "relays":
        allowed([])
        return { _tag: "Relays" }
      default:
        throw new UsageError(`unknown command "${group}"`)
    }
  })()
  return { options: globals, command }
}
