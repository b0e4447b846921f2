/**
 * Reads a configuration file (YAML, of which JSON is a subset) and decodes it with the caller's schema
 * decoder. Every failure is one ConfigFileError naming the file, the key path and the defect, so an
 * operator can fix the file without reading code.
 */
import { readFileSync } from "node:fs"
import { Data, Result } from "effect"
import { parseDocument } from "yaml"

export interface ConfigProblem {
  readonly key: string
  readonly reason: string
}

export class ConfigFileError extends Data.TaggedError("ConfigFileError")<{
  readonly file: string
  readonly problems: ReadonlyArray<ConfigProblem>
}> {
  override get message(): string {
    return `configuration file ${this.file}: ${this.problems.map((p) => `${p.key}: ${p.reason}`).join("; ")}`
  }
}

export type Decoder<A> = (input: unknown) => Result.Result<A, ReadonlyArray<ConfigProblem>>

/** Decodes configuration text; `file` only names the source in errors. */
export const decodeConfigText = <A>(
  file: string,
  text: string,
  decode: Decoder<A>,
): Result.Result<A, ConfigFileError> => {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true })
  if (document.errors.length > 0) {
    return Result.fail(
      new ConfigFileError({
        file,
        problems: document.errors.map((e) => ({
          key: e.linePos?.[0] === undefined ? "(syntax)" : `line ${e.linePos[0].line}`,
          reason: e.message.split("\n")[0] ?? e.code,
        })),
      }),
    )
  }
  const decoded = decode(document.toJS())
  return Result.isSuccess(decoded)
    ? Result.succeed(decoded.success)
    : Result.fail(new ConfigFileError({ file, problems: decoded.failure }))
}

/** Reads and decodes a configuration file. */
export const loadConfigFile = <A>(file: string, decode: Decoder<A>): Result.Result<A, ConfigFileError> => {
  let text: string
  try {
    text = readFileSync(file, "utf8")
  } catch (cause) {
    const reason = cause instanceof Error && "code" in cause ? String(cause.code) : String(cause)
    return Result.fail(
      new ConfigFileError({ file, problems: [{ key: "(file)", reason: `cannot read: ${reason}` }] }),
    )
  }
  return decodeConfigText(file, text, decode)
}
