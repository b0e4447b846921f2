/**
 * Lints the images' Dockerfiles without a container engine (none runs on these machines): parsed with
 * `dockerfile-ast`, each problem a sentence naming the file, the line and the rule.
 * Rules: base images pinned to an exact version or digest; every COPY source exists in the build context
 * and is not excluded by the Dockerfile's own .dockerignore; `--from` names an earlier stage; the final
 * stage runs as a non-root USER; a HEALTHCHECK or Kubernetes probes for the service; the command runs the
 * service's compiled main; every workspace package the service depends on is installed and copied; the
 * instance variable the entrypoint sets is one the service reads.
 */
import { existsSync, readFileSync } from "node:fs"
import { join, posix } from "node:path"
import { type Copy, DockerfileParser, type From, type Instruction } from "dockerfile-ast"

export interface LintContext {
  readonly repoRoot: string
  /** Services whose rendered Kubernetes workload has readiness and liveness probes. */
  readonly probed: ReadonlySet<string>
  /** The service's workspace dependencies (transitive, packages/ names). */
  readonly workspaceDeps: ReadonlySet<string>
  /** Variables the service reads, or undefined when it has no configuration module yet. */
  readonly envRead: ReadonlySet<string> | undefined
}

/** A .dockerignore pattern as a regular expression over context-relative paths (`**`, `*`, `?`). */
const ignoreRegex = (pattern: string): RegExp => {
  const p = posix.normalize(pattern.replace(/^\/+/, "")).replace(/\/+$/, "")
  let re = ""
  for (let i = 0; i < p.length; i++) {
    const ch = p[i]!
    if (p.startsWith("**/", i)) {
      re += "(?:.*/)?"
      i += 2
    } else if (p.startsWith("**", i)) {
      re += ".*"
      i += 1
    } else if (ch === "*") re += "[^/]*"
    else if (ch === "?") re += "[^/]"
    else re += ch.replace(/[.+^${}()|[\]\\]/g, "\\$&")
  }
  return new RegExp(`^${re}$`)
}

export const readIgnore = (text: string): RegExp[] =>
  text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      if (l.startsWith("!"))
        throw new Error(`.dockerignore: negated pattern ${l} is not supported by this lint`)
      return ignoreRegex(l)
    })

/** Excluded when the path or any folder above it matches (Docker leaves an excluded folder out whole). */
export const isIgnored = (patterns: ReadonlyArray<RegExp>, path: string): boolean => {
  const parts = posix.normalize(path).replace(/\/+$/, "").split("/")
  return parts.some((_, i) => {
    const prefix = parts.slice(0, i + 1).join("/")
    return patterns.some((re) => re.test(prefix))
  })
}

const line = (i: Instruction): number => i.getRange().start.line + 1

/** Source arguments of a COPY (all but the destination), JSON or shell form. */
const copySources = (copy: Copy): string[] => {
  const args = copy.getArguments().map((a) => a.getValue())
  return args.slice(0, -1)
}

const isPinned = (from: From, stages: ReadonlySet<string>): boolean => {
  const name = from.getImageName() ?? ""
  if (stages.has(name)) return true
  if (from.getImageDigest() !== null) return true
  const tag = from.getImageTag() ?? ""
  return /\d+\.\d+\.\d+/.test(tag)
}

export const lintDockerfile = (file: string, text: string, service: string, ctx: LintContext): string[] => {
  const problems: string[] = []
  const at = (i: Instruction, message: string) => problems.push(`${file}:${line(i)}: ${message}`)
  const dockerfile = DockerfileParser.parse(text)
  const instructions = dockerfile.getInstructions()
  const ignorePath = join(ctx.repoRoot, `${file}.dockerignore`)
  const ignored = existsSync(ignorePath) ? readIgnore(readFileSync(ignorePath, "utf8")) : []

  const stages = new Set<string>()
  let finalStageStart = -1
  instructions.forEach((instruction, index) => {
    const keyword = instruction.getKeyword()
    if (keyword === "FROM") {
      const from = instruction as From
      if (!isPinned(from, stages)) {
        at(
          instruction,
          `base image ${from.getImageName()}:${from.getImageTag() ?? "latest"} is not pinned to a version or digest`,
        )
      }
      const stage = from.getBuildStage()
      if (stage !== null) stages.add(stage)
      finalStageStart = index
    }
    if (keyword === "COPY" || keyword === "ADD") {
      const copy = instruction as Copy
      const fromFlag = keyword === "COPY" ? copy.getFromFlag() : null
      if (fromFlag !== null) {
        const stage = fromFlag.getValue() ?? ""
        if (!stages.has(stage)) at(instruction, `COPY --from=${stage} names no earlier stage`)
        return
      }
      for (const source of copySources(copy)) {
        if (/^https?:/.test(source)) {
          at(instruction, `${keyword} from a URL (${source}) is not reproducible`)
          continue
        }
        if (!existsSync(join(ctx.repoRoot, source)))
          at(instruction, `${keyword} source ${source} does not exist`)
        else if (isIgnored(ignored, source))
          at(instruction, `${keyword} source ${source} is excluded by .dockerignore`)
      }
    }
  })
  const finalStage = instructions.slice(finalStageStart)

  const users = finalStage.filter((i) => i.getKeyword() === "USER")
  const user = users.at(-1)?.getArgumentsContent()?.trim()
  if (user === undefined) problems.push(`${file}: the final stage sets no USER (it would run as root)`)
  else if (/^(root|0)(:|$)/.test(user)) at(users.at(-1)!, `USER ${user} is root`)

  const hasHealthcheck = finalStage.some((i) => i.getKeyword() === "HEALTHCHECK")
  if (!hasHealthcheck && !ctx.probed.has(service)) {
    problems.push(`${file}: no HEALTHCHECK and no Kubernetes readiness/liveness probes for ${service}`)
  }

  const cmd = finalStage.filter((i) => i.getKeyword() === "CMD").at(-1)
  const expected = `["node", "services/${service}/dist/main.js"]`
  if (cmd?.getArgumentsContent()?.trim() !== expected) {
    problems.push(`${file}: CMD must be ${expected} (exec form: the service is PID 1 and gets SIGTERM)`)
  }

  for (const dep of ctx.workspaceDeps) {
    if (!text.includes(`COPY packages/${dep}/package.json packages/${dep}/`)) {
      problems.push(
        `${file}: the deps stage does not install workspace package ${dep} (COPY packages/${dep}/package.json)`,
      )
    }
    if (!text.includes(`/app/packages/${dep}/dist/ packages/${dep}/dist/`)) {
      problems.push(`${file}: the final stage does not copy packages/${dep}/dist`)
    }
  }

  if (ctx.envRead !== undefined) {
    for (const env of finalStage.filter((i) => i.getKeyword() === "ENV")) {
      const m = /B2BUA_INSTANCE_VAR=(\S+)/.exec(env.getArgumentsContent() ?? "")
      if (m !== null && !ctx.envRead.has(m[1]!)) {
        at(env, `B2BUA_INSTANCE_VAR=${m[1]}, which services/${service} never reads`)
      }
    }
  }
  return problems
}
