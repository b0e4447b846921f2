/** The suite as processes for end-to-end tests: nats-server, call-control instance(s), the sip-edge. */
import { fileURLToPath } from "node:url"
import {
  freeSipPort,
  freeUdpPort,
  type NatsServerHandle,
  type ServiceProcess,
  startNatsServer,
  startService,
} from "@b2bua/testkit"

const ccMain = fileURLToPath(new URL("../dist/main.js", import.meta.url))
const edgeMain = fileURLToPath(new URL("../../sip-edge/dist/main.js", import.meta.url))
const relayMain = fileURLToPath(new URL("../../rtp-relay/dist/main.js", import.meta.url))
const negotiatorMain = fileURLToPath(new URL("../../sdp-negotiator/dist/main.js", import.meta.url))
const authMain = fileURLToPath(new URL("../../auth/dist/main.js", import.meta.url))

/** How long a service may take to start: on a loaded machine (two cores shared by several test runs)
 * loading a service takes well over the test kit's default 15 s. */
const READY_MS = 40_000

export interface RunningSuite {
  readonly nats: NatsServerHandle
  /** The edge's SIP port (UDP and TCP) on 127.0.0.1. */
  readonly sipPort: number
  /** Where the default route sends calls: start the test callee here. */
  readonly calleePort: number
  readonly callControls: ReadonlyArray<ServiceProcess>
  readonly edge: ServiceProcess
  /** The rtp-relay and sdp-negotiator when media is anchored, the auth service when it runs. */
  readonly mediaServices: ReadonlyArray<ServiceProcess>
  readonly stop: () => Promise<void>
}

export type SuiteService = "auth" | "rtp-relay" | "sdp-negotiator" | "call-control" | "sip-edge"

export const startSuite = async (
  options: {
    readonly instances?: ReadonlyArray<string>
    readonly ccEnv?: Readonly<Record<string, string>>
    /** Media anchored: an rtp-relay (ports `rtpPorts`) and an sdp-negotiator run too. */
    readonly media?: { readonly rtpPorts: string }
    /** The auth service runs with this configuration file, and call control asks it who calls. */
    readonly authConfig?: string
    /** Where the built-in route sends calls (a free port when absent). */
    readonly calleePort?: number
    /** More environment for one service's processes (telemetry exporters, metrics ports). */
    readonly envOf?: (service: SuiteService) => Readonly<Record<string, string>>
    /** Extra environment for the edge (e.g. its call-control timeout). */
    readonly edgeEnv?: Readonly<Record<string, string>>
  } = {},
): Promise<RunningSuite> => {
  const nats = await startNatsServer()
  const sipPort = await freeSipPort()
  const calleePort = options.calleePort ?? (await freeUdpPort())
  const callControls: ServiceProcess[] = []
  const mediaServices: ServiceProcess[] = []
  const envOf = options.envOf ?? (() => ({}))
  // A service that does not become ready (a loaded machine) must not leave the others running.
  try {
    if (options.authConfig !== undefined) {
      mediaServices.push(
        await startService({
          main: authMain,
          env: {
            NATS_URL: nats.url,
            B2BUA_AUTH_CONFIG: options.authConfig,
            B2BUA_NONCE_KEY: "e2e-nonce-key-shared-by-instances",
            B2BUA_AUTH_INSTANCE: "authe2e",
            B2BUA_AUTH_SIP_ADDRESS: `127.0.0.1:${sipPort}`,
            ...envOf("auth"),
          },
          readyText: "auth ready",
          timeoutMs: READY_MS,
        }),
      )
    }
    if (options.media !== undefined) {
      mediaServices.push(
        await startService({
          main: relayMain,
          env: {
            NATS_URL: nats.url,
            B2BUA_RELAY_ID: "relaye2e",
            B2BUA_RELAY_ADDRESS: "127.0.0.1",
            B2BUA_RTP_PORTS: options.media.rtpPorts,
            B2BUA_RELAY_ANNOUNCE_MS: "200",
            ...envOf("rtp-relay"),
          },
          readyText: "rtp relay ready",
          timeoutMs: READY_MS,
        }),
        await startService({
          main: negotiatorMain,
          env: { NATS_URL: nats.url, B2BUA_SDP_INSTANCE: "sdpe2e", ...envOf("sdp-negotiator") },
          readyText: "sdp-negotiator ready",
          timeoutMs: READY_MS,
        }),
      )
    }
    for (const instance of options.instances ?? ["cce2e"]) {
      callControls.push(
        await startService({
          main: ccMain,
          env: {
            NATS_URL: nats.url,
            B2BUA_ROUTE_TARGET: `127.0.0.1:${calleePort}`,
            B2BUA_CC_INSTANCE: instance,
            B2BUA_MEDIA: options.media === undefined ? "passthrough" : "relay",
            B2BUA_AUTH: options.authConfig === undefined ? "local" : "service",
            ...envOf("call-control"),
            ...options.ccEnv,
          },
          readyText: "call-control ready",
          timeoutMs: READY_MS,
        }),
      )
    }
    const edge = await startService({
      main: edgeMain,
      env: {
        NATS_URL: nats.url,
        B2BUA_SIP_PORT: String(sipPort),
        B2BUA_CC_TIMEOUT_MS: "1000",
        ...envOf("sip-edge"),
        ...options.edgeEnv,
      },
      readyText: "sip-edge listening",
      timeoutMs: READY_MS,
    })
    return running(nats, sipPort, calleePort, callControls, edge, mediaServices)
  } catch (e) {
    for (const service of [...callControls, ...mediaServices]) await service.stop()
    await nats.stop()
    throw e
  }
}

const running = (
  nats: NatsServerHandle,
  sipPort: number,
  calleePort: number,
  callControls: ReadonlyArray<ServiceProcess>,
  edge: ServiceProcess,
  mediaServices: ReadonlyArray<ServiceProcess>,
): RunningSuite => ({
  nats,
  sipPort,
  calleePort,
  callControls,
  edge,
  mediaServices,
  stop: async () => {
    await edge.stop()
    for (const cc of callControls) await cc.stop()
    for (const service of mediaServices) await service.stop()
    await nats.stop()
  },
})
