/** Request checks shared by the handlers: schema problems and names become INVALID_ARGUMENT naming the field. */
import type { SchemaProblem } from "@b2bua/contracts"
import { Effect, Result } from "effect"
import { InvalidArgument } from "./AdminErrors.js"

/** The first problem names the field; the others follow in the reason so one round trip shows them all. */
export const problemsToError = (problems: ReadonlyArray<SchemaProblem>): InvalidArgument => {
  const [first, ...rest] = problems
  if (first === undefined) return new InvalidArgument({ field: "(request)", reason: "invalid" })
  const more = rest.length === 0 ? "" : `; also ${rest.map((p) => `${p.key}: ${p.reason}`).join("; ")}`
  return new InvalidArgument({ field: first.key, reason: `${first.reason}${more}` })
}

export const validated = <A>(
  result: Result.Result<A, ReadonlyArray<SchemaProblem>>,
): Effect.Effect<A, InvalidArgument> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(problemsToError(result.failure))

export const fromResult = <A, E>(result: Result.Result<A, E>): Effect.Effect<A, E> =>
  Result.isSuccess(result) ? Effect.succeed(result.success) : Effect.fail(result.failure)

/** Trunk and route names (the contracts schema's pattern); they are also the KV keys. */
const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/

export const checkName = (name: string, field = "name"): Effect.Effect<string, InvalidArgument> =>
  NAME.test(name)
    ? Effect.succeed(name)
    : Effect.fail(
        new InvalidArgument({
          field,
          reason: name === "" ? "required" : "expected 1-63 of [a-z0-9_-], starting with a letter or digit",
        }),
      )
