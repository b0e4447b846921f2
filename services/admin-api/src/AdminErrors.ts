/**
 * What an admin call can fail with, as tagged errors carrying the failing datum, and the one place that
 * maps each to its gRPC status (google.rpc.Code semantics) and message.
 */
import { status } from "@grpc/grpc-js"
import { Data } from "effect"

/** A request field is invalid; `field` is its path in the request (`trunk.gateways[1].port`). */
export class InvalidArgument extends Data.TaggedError("InvalidArgument")<{
  readonly field: string
  readonly reason: string
}> {}

export class NotFound extends Data.TaggedError("NotFound")<{ readonly what: string; readonly id: string }> {}

export class AlreadyExists extends Data.TaggedError("AlreadyExists")<{
  readonly what: string
  readonly id: string
}> {}

/** A compare-and-set lost: the object changed since the client read it. */
export class Conflict extends Data.TaggedError("Conflict")<{ readonly what: string; readonly id: string }> {}

export class FailedPrecondition extends Data.TaggedError("FailedPrecondition")<{ readonly reason: string }> {}

/** A resumable cursor points before what the stream still retains: resuming would leave a gap. */
export class CursorExpired extends Data.TaggedError("CursorExpired")<{
  readonly cursor: number
  readonly firstRetained: number
}> {}

/** The store or the service that must act is unreachable (NATS down, call owner gone). */
export class Unavailable extends Data.TaggedError("Unavailable")<{ readonly reason: string }> {}

export class DeadlineExceeded extends Data.TaggedError("DeadlineExceeded")<{ readonly operation: string }> {}

export class Internal extends Data.TaggedError("Internal")<{ readonly reason: string }> {}

export type AdminError =
  | InvalidArgument
  | NotFound
  | AlreadyExists
  | Conflict
  | FailedPrecondition
  | CursorExpired
  | Unavailable
  | DeadlineExceeded
  | Internal

export interface GrpcFailure {
  readonly code: status
  readonly details: string
}

export const toGrpcStatus = (e: AdminError): GrpcFailure => {
  switch (e._tag) {
    case "InvalidArgument":
      return { code: status.INVALID_ARGUMENT, details: `${e.field}: ${e.reason}` }
    case "NotFound":
      return { code: status.NOT_FOUND, details: `${e.what} "${e.id}" not found` }
    case "AlreadyExists":
      return { code: status.ALREADY_EXISTS, details: `${e.what} "${e.id}" already exists` }
    case "Conflict":
      return { code: status.ABORTED, details: `${e.what} "${e.id}" changed meanwhile; read it again` }
    case "FailedPrecondition":
      return { code: status.FAILED_PRECONDITION, details: e.reason }
    case "CursorExpired":
      return {
        code: status.OUT_OF_RANGE,
        details: `cursor ${e.cursor} is older than the first retained event ${e.firstRetained}; resume from a fresh list`,
      }
    case "Unavailable":
      return { code: status.UNAVAILABLE, details: e.reason }
    case "DeadlineExceeded":
      return { code: status.DEADLINE_EXCEEDED, details: `${e.operation}: deadline exceeded` }
    case "Internal":
      return { code: status.INTERNAL, details: e.reason }
  }
}
