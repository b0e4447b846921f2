/**
 * Promise-shaped calls over any generated method definition (`TrunkServiceService.createTrunk`), with the
 * bearer token and a deadline on each: what b2bctl and the tests use instead of the callback overloads of
 * the generated clients.
 */
import {
  type CallOptions,
  type Client,
  Metadata,
  type MethodDefinition,
  type ServiceError,
  status,
} from "@grpc/grpc-js"

export interface CallSettings {
  /** Sent as `authorization: Bearer <token>` when present. */
  readonly token?: string | undefined
  /** Milliseconds from now; the server stops working on the call when it passes. */
  readonly timeoutMs?: number | undefined
}

const metadataOf = (settings: CallSettings): Metadata => {
  const metadata = new Metadata()
  if (settings.token !== undefined) metadata.set("authorization", `Bearer ${settings.token}`)
  return metadata
}

const optionsOf = (settings: CallSettings): CallOptions =>
  settings.timeoutMs === undefined ? {} : { deadline: Date.now() + settings.timeoutMs }

export const unaryCall = <Req, Res>(
  client: Client,
  method: MethodDefinition<Req, Res>,
  request: Req,
  settings: CallSettings = {},
): Promise<Res> =>
  new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadataOf(settings),
      optionsOf(settings),
      (error: ServiceError | null, response?: Res) => {
        if (error !== null) reject(error)
        else if (response === undefined) reject(new Error(`${method.path}: empty response`))
        else resolve(response)
      },
    )
  })

export interface StreamHandle {
  /** Resolves when the server ends the stream; rejects with the ServiceError that ended it otherwise. */
  readonly done: Promise<void>
  readonly cancel: () => void
}

export const serverStreamCall = <Req, Res>(
  client: Client,
  method: MethodDefinition<Req, Res>,
  request: Req,
  onMessage: (message: Res) => void,
  settings: CallSettings = {},
): StreamHandle => {
  const stream = client.makeServerStreamRequest(
    method.path,
    method.requestSerialize,
    method.responseDeserialize,
    request,
    metadataOf(settings),
    optionsOf(settings),
  )
  stream.on("data", onMessage)
  let cancelled = false
  const done = new Promise<void>((resolve, reject) => {
    // A stream the caller cancelled ends normally for it (grpc-js reports it as CANCELLED).
    stream.on("error", (error: ServiceError) =>
      cancelled && error.code === status.CANCELLED ? resolve() : reject(error),
    )
    stream.on("end", () => resolve())
  })
  return {
    done,
    cancel: () => {
      cancelled = true
      stream.cancel()
    },
  }
}
