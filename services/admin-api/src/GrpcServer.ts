/**
 * The gRPC server as a scoped resource: bearer-token interceptor on every call (BearerAuth.ts), the admin
 * services, grpc.health.v1 (SERVING while up) and server reflection (so `grpcurl` works), plaintext or
 * TLS (mTLS when a CA is configured). Closing the scope stops it gracefully: health turns NOT_SERVING,
 * streams end with UNAVAILABLE (their clients reconnect to another instance), unary calls in flight get
 * `shutdownGraceMs` to finish, then the rest is cut.
 */
import { descriptorSet } from "@b2bua/admin-proto"
import {
  Server,
  ServerCredentials,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js"
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader"
import { ReflectionService } from "@grpc/reflection"
import { Data, Effect, type Fiber, type Scope } from "effect"
import { HealthImplementation, type ServingStatusMap } from "grpc-health-check"
import { bearerAuthInterceptor } from "./BearerAuth.js"
import type { TlsConfig } from "./Config.js"
import type { Run } from "./GrpcHandlers.js"

export class GrpcBindError extends Data.TaggedError("GrpcBindError")<{
  readonly address: string
  readonly cause: unknown
}> {
  override get message(): string {
    return `gRPC cannot listen on ${this.address}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
}

export interface GrpcServiceEntry {
  /** Full name for health checking, e.g. `b2bua.admin.v1.CallService`. */
  readonly name: string
  readonly definition: ServiceDefinition
  readonly implementation: UntypedServiceImplementation
}

export interface GrpcServerOptions {
  readonly host: string
  /** 0: any free port (tests). */
  readonly port: number
  readonly token: string
  readonly tls: TlsConfig | undefined
  readonly shutdownGraceMs: number
}

export interface RunningGrpcServer {
  readonly port: number
  readonly health: HealthImplementation
}

const credentialsOf = (tls: TlsConfig | undefined): ServerCredentials =>
  tls === undefined
    ? ServerCredentials.createInsecure()
    : ServerCredentials.createSsl(
        tls.ca ?? null,
        [{ private_key: tls.key, cert_chain: tls.cert }],
        tls.ca !== undefined,
      )

/** The runner every handler uses: fibers with the caller's services; stream fibers tracked for shutdown. */
export const makeRun = Effect.gen(function* () {
  const context = yield* Effect.context<never>()
  const fork = Effect.runForkWith(context)
  const streams = new Set<Fiber.Fiber<unknown, unknown>>()
  const run: Run = (effect, kind) => {
    const fiber = fork(effect)
    if (kind === "stream") {
      streams.add(fiber)
      fiber.addObserver(() => streams.delete(fiber))
    }
    return fiber
  }
  return { run, streams }
})

export const startGrpcServer = (
  options: GrpcServerOptions,
  services: ReadonlyArray<GrpcServiceEntry>,
  streams: ReadonlySet<Fiber.Fiber<unknown, unknown>>,
): Effect.Effect<RunningGrpcServer, GrpcBindError, Scope.Scope> =>
  Effect.gen(function* () {
    const server = new Server({ interceptors: [bearerAuthInterceptor(options.token)] })
    for (const s of services) server.addService(s.definition, s.implementation)
    const serving: ServingStatusMap = { "": "SERVING" }
    for (const s of services) serving[s.name] = "SERVING"
    const health = new HealthImplementation(serving)
    health.addToServer(server)
    new ReflectionService(loadFileDescriptorSetFromBuffer(descriptorSet())).addToServer(server)

    const address = `${options.host.includes(":") ? `[${options.host}]` : options.host}:${options.port}`
    const port = yield* Effect.acquireRelease(
      Effect.callback<number, GrpcBindError>((resume) => {
        server.bindAsync(address, credentialsOf(options.tls), (error, bound) =>
          resume(
            error === null
              ? Effect.succeed(bound)
              : Effect.fail(new GrpcBindError({ address, cause: error })),
          ),
        )
      }),
      () =>
        Effect.gen(function* () {
          for (const name of Object.keys(serving)) health.setStatus(name, "NOT_SERVING")
          for (const fiber of [...streams]) fiber.interruptUnsafe()
          yield* Effect.callback<void>((resume) => {
            const force = setTimeout(() => server.forceShutdown(), options.shutdownGraceMs)
            server.tryShutdown(() => {
              clearTimeout(force)
              resume(Effect.void)
            })
          })
          yield* Effect.logInfo("gRPC server stopped")
        }),
    )
    yield* Effect.logInfo("gRPC server listening").pipe(
      Effect.annotateLogs({
        address: `${options.host}:${port}`,
        tls: options.tls === undefined ? "off" : "on",
      }),
    )
    return { port, health }
  })
