/** The suite as processes for end-to-end tests of the auth service: nats-server, auth, the sip-edge. */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  type NatsServerHandle,
  type ServiceProcess,
  startNatsServer,
  startService,
} from "@b2bua/testkit"
import { connect, type NatsConnection } from "@nats-io/transport-node"

const authMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const edgeMain = fileURLToPath(new URL("../../sip-edge/dist/main.js", import.meta.url))

export interface AuthSuite {
  readonly nats: NatsServerHandle
  readonly sipPort: number
  /** The first auth instance ("authe2e"); `auths` holds every instance started. */
  readonly auth: ServiceProcess
  readonly auths: ReadonlyArray<ServiceProcess>
  readonly edge: ServiceProcess
  /** A client connection for request/reply tests of the APIs. */
  readonly client: NatsConnection
  readonly request: (subject: string, payload: unknown) => Promise<unknown>
  readonly stop: () => Promise<void>
}

export const startAuthSuite = async (options: {
  readonly configYaml: string
  readonly env?: Readonly<Record<string, string>>
  /** Auth instance tokens to start (default one, "authe2e"). */
  readonly instances?: ReadonlyArray<string>
}): Promise<AuthSuite> => {
  const dir = mkdtempSync(join(tmpdir(), "auth-e2e-"))
  const configFile = join(dir, "auth.yaml")
  writeFileSync(configFile, options.configYaml)
  const nats = await startNatsServer()
  const sipPort = await freeSipPort()
  const auths: ServiceProcess[] = []
  for (const instance of options.instances ?? ["authe2e"]) {
    auths.push(
      await startService({
        main: authMain,
        env: {
          NATS_URL: nats.url,
          B2BUA_AUTH_CONFIG: configFile,
          B2BUA_NONCE_KEY: "e2e-nonce-key-shared-by-instances",
          B2BUA_AUTH_INSTANCE: instance,
          B2BUA_AUTH_SIP_ADDRESS: `127.0.0.1:${sipPort}`,
          ...options.env,
        },
        readyText: "auth ready",
      }),
    )
  }
  const auth = auths[0]!
  const edge = await startService({
    main: edgeMain,
    env: { NATS_URL: nats.url, B2BUA_SIP_LISTEN: `udp:127.0.0.1:${sipPort}`, B2BUA_CC_TIMEOUT_MS: "1000" },
    readyText: "sip-edge listening",
  })
  const client = await connect({ servers: nats.url })
  return {
    nats,
    sipPort,
    auth,
    auths,
    edge,
    client,
    request: async (subject, payload) => {
      const reply = await client.request(subject, JSON.stringify(payload), { timeout: 2000 })
      return JSON.parse(new TextDecoder().decode(reply.data))
    },
    stop: async () => {
      await client.close()
      await edge.stop()
      for (const a of auths) await a.stop()
      await nats.stop()
    },
  }
}
