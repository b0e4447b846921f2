/**
 * Thin adapters from Effect programs to grpc-js handlers: each call runs as a fiber with the server's
 * services; the client cancelling (or its deadline passing) interrupts the fiber; the call's deadline also
 * bounds the program, which then fails with DEADLINE_EXCEEDED; a tagged AdminError becomes its gRPC status
 * (AdminErrors.ts), anything else INTERNAL with the cause logged. Server streams respect HTTP/2 flow
 * control: `emit` waits for `drain` when the client reads slower than the server writes.
 *
 * Each call runs in a server span named by its method (`grpc CallService/HangupCall`): what it asks over
 * NATS (a hangup at the call's owner) continues that trace. `admin_grpc_requests_total{method,code}`
 * counts calls by their gRPC status.
 */

import { type Counter, Metrics, type MetricsShape } from "@b2bua/telemetry"
import type {
  Deadline,
  handleServerStreamingCall,
  handleUnaryCall,
  ServerErrorResponse,
  ServerWritableStream,
} from "@grpc/grpc-js"
import { status } from "@grpc/grpc-js"
import { Cause, Effect, Exit, type Fiber, Option } from "effect"
import { type AdminError, DeadlineExceeded, toGrpcStatus } from "./AdminErrors.js"

/**
 * Runs an effect as a fiber with the server's services (logger, ...). Stream fibers are marked so a
 * stopping server can end them at once (watchers reconnect to another instance) while unary calls finish.
 */
export type Run = <A, E>(effect: Effect.Effect<A, E>, kind?: "stream") => Fiber.Fiber<A, E>

const remainingMs = (deadline: Deadline): number | undefined => {
  const at = deadline instanceof Date ? deadline.getTime() : deadline
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined
}

const requestCounters = new WeakMap<MetricsShape, Counter<"method" | "code">>()
const requestCounter = (metrics: MetricsShape): Counter<"method" | "code"> => {
  const known = requestCounters.get(metrics)
  if (known !== undefined) return known
  const made = metrics.counter("admin_grpc_requests_total", {
    description: "gRPC calls served, by method and status code",
    labels: ["method", "code"],
  })
  requestCounters.set(metrics, made)
  return made
}

/** The gRPC status name a call ended with (OK, INVALID_ARGUMENT, ..., CANCELLED when interrupted). */
const codeOf = <A>(exit: Exit.Exit<A, AdminError>): string => {
  if (Exit.isSuccess(exit)) return "OK"
  const error = Cause.findErrorOption(exit.cause)
  if (Option.isSome(error)) return status[toGrpcStatus(error.value).code] ?? "UNKNOWN"
  return Cause.hasInterruptsOnly(exit.cause) ? "CANCELLED" : "INTERNAL"
}

const bounded = <A>(
  program: Effect.Effect<A, AdminError>,
  method: string,
  deadline: Deadline,
): Effect.Effect<A, AdminError> => {
  const ms = remainingMs(deadline)
  const timed =
    ms === undefined
      ? program
      : program.pipe(
          Effect.timeoutOrElse({
            duration: ms,
            orElse: () => Effect.fail(new DeadlineExceeded({ operation: method })),
          }),
        )
  return Effect.flatMap(Effect.service(Metrics), (metrics) =>
    timed.pipe(
      Effect.annotateLogs({ method }),
      Effect.onExit((exit) => Effect.sync(() => requestCounter(metrics).add({ method, code: codeOf(exit) }))),
      Effect.withSpan(`grpc ${method}`, {
        kind: "server",
        attributes: { "rpc.system": "grpc", "rpc.method": method },
      }),
    ),
  )
}

const failureOf = (run: Run, method: string, cause: Cause.Cause<AdminError>): ServerErrorResponse => {
  const error = Cause.findErrorOption(cause)
  if (Option.isSome(error)) {
    const { code, details } = toGrpcStatus(error.value)
    return Object.assign(new Error(details), { code, details })
  }
  run(Effect.logError("admin call failed").pipe(Effect.annotateLogs({ method, cause: Cause.pretty(cause) })))
  return Object.assign(new Error("internal error"), { code: status.INTERNAL, details: "internal error" })
}

const shuttingDown = (): ServerErrorResponse =>
  Object.assign(new Error("server shutting down"), {
    code: status.UNAVAILABLE,
    details: "server shutting down",
  })

export const unary =
  <Req, Res>(
    run: Run,
    method: string,
    handler: (request: Req) => Effect.Effect<Res, AdminError>,
  ): handleUnaryCall<Req, Res> =>
  (call, callback) => {
    const fiber = run(bounded(handler(call.request), method, call.getDeadline()))
    let cancelled = false
    const cancel = () => {
      cancelled = true
      fiber.interruptUnsafe()
    }
    call.once("cancelled", cancel)
    fiber.addObserver((exit) => {
      call.off("cancelled", cancel)
      if (Exit.isSuccess(exit)) return callback(null, exit.value)
      if (Cause.hasInterruptsOnly(exit.cause)) {
        // The client went away (grpc-js has ended the call) or the server is stopping.
        if (!cancelled) callback(shuttingDown())
        return
      }
      callback(failureOf(run, method, exit.cause))
    })
  }

/** Writes one message, waiting for the client to read when the stream's buffer is full. */
const writeTo =
  <Res>(call: ServerWritableStream<unknown, Res>) =>
  (message: Res): Effect.Effect<void> =>
    Effect.callback<void>((resume) => {
      if (call.write(message)) return resume(Effect.void)
      const drained = () => resume(Effect.void)
      call.once("drain", drained)
      return Effect.sync(() => call.off("drain", drained))
    })

export const serverStream =
  <Req, Res>(
    run: Run,
    method: string,
    handler: (request: Req, emit: (message: Res) => Effect.Effect<void>) => Effect.Effect<void, AdminError>,
  ): handleServerStreamingCall<Req, Res> =>
  (call) => {
    const fiber = run(bounded(handler(call.request, writeTo(call)), method, call.getDeadline()), "stream")
    let cancelled = false
    const cancel = () => {
      cancelled = true
      fiber.interruptUnsafe()
    }
    call.once("cancelled", cancel)
    fiber.addObserver((exit) => {
      call.off("cancelled", cancel)
      if (Exit.isSuccess(exit)) return void call.end()
      if (Cause.hasInterruptsOnly(exit.cause)) {
        // A watcher is told to reconnect (to another instance) when this one stops.
        if (!cancelled) call.emit("error", shuttingDown())
        return
      }
      call.emit("error", failureOf(run, method, exit.cause))
    })
  }
