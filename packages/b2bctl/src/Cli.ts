/**
 * b2bctl: runs one parsed command against the admin API and prints the result, as a table for people or
 * as JSON (the proto JSON form) with --json. Errors become one line on stderr and an exit code:
 * 2 usage, 3 server unreachable, 4 token refused, 1 any other error the API returned.
 */
import { readFileSync } from "node:fs"
import {
  Binding,
  Call,
  CallEvent,
  CallRecord,
  CallRecordServiceClient,
  CallRecordServiceService,
  CallServiceClient,
  CallServiceService,
  type CallSettings,
  CallState,
  callStateFromJSON,
  callStateToJSON,
  Disposition,
  dispositionFromJSON,
  dispositionToJSON,
  OutboundRegistration,
  RegistrationServiceClient,
  RegistrationServiceService,
  Relay,
  RelayServiceClient,
  RelayServiceService,
  Route,
  RouteServiceClient,
  RouteServiceService,
  serverStreamCall,
  Transport,
  Trunk,
  TrunkServiceClient,
  TrunkServiceService,
  transportToJSON,
  unaryCall,
} from "@b2bua/admin-proto"
import { type ChannelCredentials, credentials, type ServiceError, status } from "@grpc/grpc-js"
import { type Command, type GlobalOptions, parseArgs, USAGE, UsageError } from "./Args.js"
import { seconds, table, time } from "./Table.js"

export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  /** Resolves when the user interrupts a watch (Ctrl-C). */
  readonly interrupted?: Promise<void>
}

type Env = Readonly<Record<string, string | undefined>>

class CliFailure extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message)
  }
}

const isServiceError = (e: unknown): e is ServiceError =>
  e instanceof Error && typeof (e as Partial<ServiceError>).code === "number"

/** The one place a gRPC failure becomes what the operator reads. */
const explain = (e: unknown, server: string): CliFailure => {
  if (e instanceof CliFailure) return e
  if (e instanceof UsageError) return new CliFailure(`${e.message}\n${USAGE}`, 2)
  if (!isServiceError(e)) return new CliFailure(e instanceof Error ? e.message : String(e), 1)
  switch (e.code) {
    case status.UNAVAILABLE:
      return /No connection established|ECONNREFUSED|connect|Name resolution|DNS/i.test(e.details)
        ? new CliFailure(`cannot reach the admin API at ${server}: ${e.details}`, 3)
        : new CliFailure(`unavailable: ${e.details}`, 1)
    case status.UNAUTHENTICATED:
      return new CliFailure(
        `the admin API at ${server} refused the token (${e.details}); set --token, --token-file or B2BCTL_TOKEN`,
        4,
      )
    case status.DEADLINE_EXCEEDED:
      return new CliFailure(`no answer from ${server} in time (${e.details}); try --timeout`, 1)
    default:
      return new CliFailure(`${status[e.code] ?? e.code}: ${e.details}`, 1)
  }
}

const credentialsOf = (options: GlobalOptions): ChannelCredentials => {
  if (options.caFile === undefined) return credentials.createInsecure()
  return credentials.createSsl(readFileSync(options.caFile))
}

const tokenOf = (options: GlobalOptions): string | undefined => {
  if (options.tokenFile === undefined) return options.token
  try {
    return readFileSync(options.tokenFile, "utf8").trim()
  } catch (e) {
    throw new CliFailure(`--token-file ${options.tokenFile}: ${e instanceof Error ? e.message : e}`, 2)
  }
}

const stateOf = (text: string): CallState => {
  if (text === "") return CallState.CALL_STATE_UNSPECIFIED
  const s = callStateFromJSON(`CALL_STATE_${text.toUpperCase()}`)
  if (s === CallState.UNRECOGNIZED) throw new UsageError(`--state: unknown state "${text}"`)
  return s
}

const dispositionOf = (text: string): Disposition => {
  if (text === "") return Disposition.DISPOSITION_UNSPECIFIED
  const d = dispositionFromJSON(`DISPOSITION_${text.toUpperCase().replace(/-/g, "_")}`)
  if (d === Disposition.UNRECOGNIZED) throw new UsageError(`--disposition: unknown disposition "${text}"`)
  return d
}

const short = (e: string, prefix: string) => e.replace(prefix, "").toLowerCase().replace(/_/g, "-")
const stateText = (s: CallState) => short(callStateToJSON(s), "CALL_STATE_")

const readJson = (file: string): unknown => {
  try {
    return JSON.parse(readFileSync(file, "utf8"))
  } catch (e) {
    throw new CliFailure(`--file ${file}: ${e instanceof Error ? e.message : e}`, 2)
  }
}

const callRows = (calls: ReadonlyArray<Call>) =>
  table(
    ["ID", "STATE", "OWNER", "TRUNK", "FROM", "TO", "SETUP"],
    calls.map((c) => [
      c.id,
      stateText(c.state),
      c.owner,
      c.trunk,
      c.aLeg?.fromUri ?? "",
      c.aLeg?.toUri ?? "",
      time(c.setupAtMs),
    ]),
  )

const callDetail = (c: Call): string => {
  const leg = (name: string, l: Call["aLeg"]) =>
    l === undefined
      ? []
      : [
          [`${name} call-id`, l.sipCallId],
          [`${name} tags`, `local=${l.localTag} remote=${l.remoteTag || "-"}`],
          [`${name} dialog`, l.dialogState || "-"],
          [`${name} peer`, l.remoteAddress],
          [`${name} from/to`, `${l.fromUri} -> ${l.toUri}`],
          [`${name} sip code`, l.sipCode === 0 ? "-" : String(l.sipCode)],
          [`${name} codec`, l.codec || "-"],
          [`${name} relay`, l.relayAddress || "-"],
          ...(l.media === undefined
            ? []
            : [
                [
                  `${name} media`,
                  `packets=${l.media.packets} lost=${l.media.lost} jitter=${l.media.jitterMs}ms mos=${l.media.mos}`,
                ],
              ]),
        ]
  const rows = [
    ["id", c.id],
    ["state", stateText(c.state)],
    ["owner", c.owner],
    ["trunk", c.trunk || "-"],
    ["setup", time(c.setupAtMs)],
    ["ringing", time(c.ringingAtMs)],
    ["answered", time(c.answeredAtMs)],
    ["ended", time(c.endedAtMs)],
    ["trace", c.traceId || "-"],
    ...leg("A", c.aLeg),
    ...leg("B", c.bLeg),
  ]
  return table(["FIELD", "VALUE"], rows)
}

const trunkRows = (trunks: ReadonlyArray<Trunk>) =>
  table(
    ["NAME", "GATEWAYS", "SOURCES", "MAX CALLS", "REV"],
    trunks.map((t) => [
      t.name,
      t.gateways
        .map(
          (g) =>
            `${g.host}${g.port === undefined ? "" : `:${g.port}`}${g.transport === Transport.TRANSPORT_UNSPECIFIED ? "" : `/${short(transportToJSON(g.transport), "TRANSPORT_")}`}`,
        )
        .join(","),
      t.sources.join(","),
      t.limits?.maxCalls === undefined ? "-" : String(t.limits.maxCalls),
      String(t.revision),
    ]),
  )

const routeRows = (routes: ReadonlyArray<Route>) =>
  table(
    ["NAME", "PREFIX", "TRUNKS", "FROM", "PRIORITY", "REV"],
    routes.map((r) => [
      r.name,
      r.prefix || "(any)",
      r.trunks.join(","),
      r.fromTrunks.join(",") || "(any)",
      r.priority === undefined ? "-" : String(r.priority),
      String(r.revision),
    ]),
  )

const bindingRows = (bindings: ReadonlyArray<Binding>) =>
  table(
    ["AOR", "CONTACT", "SOURCE", "EXPIRES"],
    bindings.map((b) => [b.aor, b.contact, `${b.source}/${b.transport}`, time(b.expiresAtMs)]),
  )

const recordRows = (records: ReadonlyArray<CallRecord>) =>
  table(
    ["ENDED", "CALL", "FROM", "TO", "TRUNKS", "DISPOSITION", "CODE", "DURATION", "BY"],
    records.map((r) => [
      time(r.endedAtMs),
      r.callId.slice(0, 12),
      r.fromNumber,
      r.toNumber,
      `${r.trunkIn || "-"}>${r.trunkOut || "-"}`,
      short(dispositionToJSON(r.disposition), "DISPOSITION_"),
      String(r.sipCode),
      seconds(r.durationMs),
      r.hangupBy,
    ]),
  )

/** Pages through a list call until `limit` items or the last page. */
const collect = async <T>(
  limit: number,
  page: (
    pageToken: string,
    pageSize: number,
  ) => Promise<{ readonly items: ReadonlyArray<T>; readonly next: string }>,
): Promise<ReadonlyArray<T>> => {
  const out: Array<T> = []
  let token = ""
  do {
    const { items, next } = await page(token, Math.min(1000, limit - out.length))
    out.push(...items)
    token = next
  } while (token !== "" && out.length < limit)
  return out.slice(0, limit)
}

const execute = async (command: Command, options: GlobalOptions, io: CliIo): Promise<void> => {
  const settings: CallSettings = { token: tokenOf(options), timeoutMs: options.timeoutMs }
  const creds = credentialsOf(options)
  const json = (value: unknown) => io.out(JSON.stringify(value, null, 2))
  switch (command._tag) {
    case "Help":
      return io.out(USAGE)
    case "CallsList": {
      const client = new CallServiceClient(options.server, creds)
      try {
        const calls = await collect(command.limit, async (pageToken, pageSize) => {
          const r = await unaryCall(
            client,
            CallServiceService.listCalls,
            {
              state: stateOf(command.state),
              trunk: command.trunk,
              numberPrefix: command.number,
              minAgeMs: command.minAgeMs,
              maxAgeMs: command.maxAgeMs,
              pageSize,
              pageToken,
            },
            settings,
          )
          return { items: r.calls, next: r.nextPageToken }
        })
        return options.json ? json(calls.map((c) => Call.toJSON(c))) : io.out(callRows(calls))
      } finally {
        client.close()
      }
    }
    case "CallsGet": {
      const client = new CallServiceClient(options.server, creds)
      try {
        const call = await unaryCall(client, CallServiceService.getCall, { id: command.id }, settings)
        return options.json ? json(Call.toJSON(call)) : io.out(callDetail(call))
      } finally {
        client.close()
      }
    }
    case "CallsHangup": {
      const client = new CallServiceClient(options.server, creds)
      try {
        const r = await unaryCall(
          client,
          CallServiceService.hangupCall,
          { id: command.id, reason: command.reason },
          settings,
        )
        return options.json ? json({ action: r.action }) : io.out(`${command.id}: ${r.action} sent`)
      } finally {
        client.close()
      }
    }
    case "CallsWatch": {
      const client = new CallServiceClient(options.server, creds)
      let seen = 0
      if (!options.json) io.out(table(["CURSOR", "ID", "STATE", "OWNER", "REASON"], []))
      // A watch runs until interrupted: no deadline on the stream itself.
      const handle = serverStreamCall(
        client,
        CallServiceService.watchCalls,
        {
          afterCursor: command.after,
          states: command.states.map(stateOf),
          callId: command.callId,
          trunk: command.trunk,
        },
        (e: CallEvent) => {
          if (command.count !== undefined && seen >= command.count) return
          seen++
          io.out(
            options.json
              ? JSON.stringify(CallEvent.toJSON(e))
              : `${e.cursor}  ${e.call?.id ?? ""}  ${stateText(e.call?.state ?? 0)}  ${e.call?.owner ?? ""}  ${e.reason}`,
          )
          if (command.count !== undefined && seen >= command.count) handle.cancel()
        },
        { token: settings.token },
      )
      void io.interrupted?.then(() => handle.cancel())
      try {
        await handle.done
      } finally {
        client.close()
      }
      return
    }
    case "ConfigList":
    case "ConfigGet":
    case "ConfigDelete":
    case "ConfigPut":
      return command.kind === "trunks"
        ? trunks(command, options, settings, creds, io)
        : routes(command, options, settings, creds, io)
    case "RegistrationsList":
    case "RegistrationsGet":
    case "RegistrationsRemove":
    case "RegistrationsOutbound": {
      const client = new RegistrationServiceClient(options.server, creds)
      try {
        if (command._tag === "RegistrationsList") {
          const bindings = await collect(command.limit, async (pageToken, pageSize) => {
            const r = await unaryCall(
              client,
              RegistrationServiceService.listBindings,
              { aorPrefix: command.aorPrefix, pageSize, pageToken },
              settings,
            )
            return { items: r.bindings, next: r.nextPageToken }
          })
          return options.json ? json(bindings.map((b) => Binding.toJSON(b))) : io.out(bindingRows(bindings))
        }
        if (command._tag === "RegistrationsGet") {
          const r = await unaryCall(
            client,
            RegistrationServiceService.getBindings,
            { aor: command.aor },
            settings,
          )
          return options.json
            ? json(r.bindings.map((b) => Binding.toJSON(b)))
            : io.out(bindingRows(r.bindings))
        }
        if (command._tag === "RegistrationsRemove") {
          await unaryCall(
            client,
            RegistrationServiceService.removeBinding,
            { aor: command.aor, contact: command.contact },
            settings,
          )
          return options.json
            ? json({ removed: true })
            : io.out(`removed ${command.contact} from ${command.aor}`)
        }
        const r = await unaryCall(client, RegistrationServiceService.listOutboundRegistrations, {}, settings)
        return options.json
          ? json(r.registrations.map((o) => OutboundRegistration.toJSON(o)))
          : io.out(
              table(
                ["TRUNK", "STATE", "OWNER", "EXPIRES", "LAST CODE", "LAST ERROR"],
                r.registrations.map((o) => [
                  o.trunk,
                  o.state,
                  o.owner || "-",
                  time(o.expiresAtMs),
                  o.lastSipCode === 0 ? "-" : String(o.lastSipCode),
                  o.lastError || "-",
                ]),
              ),
            )
      } finally {
        client.close()
      }
    }
    case "Records": {
      const client = new CallRecordServiceClient(options.server, creds)
      try {
        const records = await collect(command.limit, async (pageToken, pageSize) => {
          const r = await unaryCall(
            client,
            CallRecordServiceService.listCallRecords,
            {
              fromMs: command.fromMs,
              toMs: command.toMs,
              trunk: command.trunk,
              numberPrefix: command.number,
              disposition: dispositionOf(command.disposition),
              pageSize,
              pageToken,
            },
            settings,
          )
          return { items: r.records, next: r.nextPageToken }
        })
        return options.json ? json(records.map((r) => CallRecord.toJSON(r))) : io.out(recordRows(records))
      } finally {
        client.close()
      }
    }
    case "Relays": {
      const client = new RelayServiceClient(options.server, creds)
      try {
        const r = await unaryCall(client, RelayServiceService.listRelays, {}, settings)
        return options.json
          ? json({
              relays: r.relays.map((x) => Relay.toJSON(x)),
              totalSessions: r.totalSessions,
              totalCapacity: r.totalCapacity,
            })
          : io.out(
              `${table(
                ["ID", "ADDRESS", "SESSIONS", "CAPACITY", "LOAD"],
                r.relays.map((x) => [
                  x.id,
                  x.address,
                  String(x.sessions),
                  String(x.capacity),
                  x.load.toFixed(2),
                ]),
              )}\n${r.totalSessions} sessions of ${r.totalCapacity}`,
            )
      } finally {
        client.close()
      }
    }
  }
}

type ConfigCommand = Extract<Command, { readonly kind: "trunks" | "routes" }>

const trunks = async (
  command: ConfigCommand,
  options: GlobalOptions,
  settings: CallSettings,
  creds: ChannelCredentials,
  io: CliIo,
) => {
  const client = new TrunkServiceClient(options.server, creds)
  const show = (t: ReadonlyArray<Trunk>) =>
    options.json
      ? io.out(
          JSON.stringify(
            t.length === 1 && command._tag !== "ConfigList"
              ? Trunk.toJSON(t[0]!)
              : t.map((x) => Trunk.toJSON(x)),
            null,
            2,
          ),
        )
      : io.out(trunkRows(t))
  try {
    switch (command._tag) {
      case "ConfigList":
        return show(
          await collect(command.limit, async (pageToken, pageSize) => {
            const r = await unaryCall(
              client,
              TrunkServiceService.listTrunks,
              { pageSize, pageToken },
              settings,
            )
            return { items: r.trunks, next: r.nextPageToken }
          }),
        )
      case "ConfigGet":
        return show([await unaryCall(client, TrunkServiceService.getTrunk, { name: command.name }, settings)])
      case "ConfigDelete":
        await unaryCall(client, TrunkServiceService.deleteTrunk, { name: command.name }, settings)
        return io.out(
          options.json ? JSON.stringify({ deleted: command.name }) : `deleted trunk ${command.name}`,
        )
      case "ConfigPut": {
        const trunk = Trunk.fromJSON(readJson(command.file))
        return show([
          command.mode === "create"
            ? await unaryCall(client, TrunkServiceService.createTrunk, { trunk }, settings)
            : await unaryCall(client, TrunkServiceService.updateTrunk, { trunk }, settings),
        ])
      }
    }
  } finally {
    client.close()
  }
}

const routes = async (
  command: ConfigCommand,
  options: GlobalOptions,
  settings: CallSettings,
  creds: ChannelCredentials,
  io: CliIo,
) => {
  const client = new RouteServiceClient(options.server, creds)
  const show = (r: ReadonlyArray<Route>) =>
    options.json
      ? io.out(
          JSON.stringify(
            r.length === 1 && command._tag !== "ConfigList"
              ? Route.toJSON(r[0]!)
              : r.map((x) => Route.toJSON(x)),
            null,
            2,
          ),
        )
      : io.out(routeRows(r))
  try {
    switch (command._tag) {
      case "ConfigList":
        return show(
          await collect(command.limit, async (pageToken, pageSize) => {
            const r = await unaryCall(
              client,
              RouteServiceService.listRoutes,
              { pageSize, pageToken },
              settings,
            )
            return { items: r.routes, next: r.nextPageToken }
          }),
        )
      case "ConfigGet":
        return show([await unaryCall(client, RouteServiceService.getRoute, { name: command.name }, settings)])
      case "ConfigDelete":
        await unaryCall(client, RouteServiceService.deleteRoute, { name: command.name }, settings)
        return io.out(
          options.json ? JSON.stringify({ deleted: command.name }) : `deleted route ${command.name}`,
        )
      case "ConfigPut": {
        const route = Route.fromJSON(readJson(command.file))
        return show([
          command.mode === "create"
            ? await unaryCall(client, RouteServiceService.createRoute, { route }, settings)
            : await unaryCall(client, RouteServiceService.updateRoute, { route }, settings),
        ])
      }
    }
  } finally {
    client.close()
  }
}

/** Runs b2bctl with these arguments; resolves with the exit code. */
export const runCli = async (argv: ReadonlyArray<string>, env: Env, io: CliIo): Promise<number> => {
  let server = env.B2BCTL_SERVER ?? "127.0.0.1:50051"
  try {
    const { options, command } = parseArgs(argv, env)
    server = options.server
    await execute(command, options, io)
    return 0
  } catch (e) {
    const failure = explain(e, server)
    io.err(`b2bctl: ${failure.message}`)
    return failure.exitCode
  }
}
