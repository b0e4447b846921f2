/**
 * The images' Dockerfiles, linted offline (deploy/test/dockerfileLint.ts), and negative cases on mutated
 * copies of one of them so that the lint is shown to fail.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { isInstanceId } from "@b2bua/contracts"
import { beforeAll, describe, expect, it } from "vitest"
import { containers, envReadBy, hasConfig, serviceOf, workspaceDepsOf } from "./crossChecks.js"
import { isIgnored, type LintContext, lintDockerfile, readIgnore } from "./dockerfileLint.js"
import { render } from "./kustomize.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const dockerDir = join(repoRoot, "deploy/docker")
const dockerfiles = readdirSync(dockerDir)
  .filter((f) => f.endsWith(".Dockerfile"))
  .sort()
const serviceOfFile = (f: string): string => f.replace(/\.Dockerfile$/, "")
/** Service folders that are workspaces (have a package.json): each needs an image. */
const workspaces = readdirSync(join(repoRoot, "services"))
  .filter((s) => existsSync(join(repoRoot, "services", s, "package.json")))
  .sort()

let probed = new Set<string>()
beforeAll(() => {
  probed = new Set(
    containers(render(join(repoRoot, "deploy/k8s/base")))
      .filter((c) => c.spec.readinessProbe !== undefined && c.spec.livenessProbe !== undefined)
      .map((c) => serviceOf(c) ?? ""),
  )
})

const contextOf = (service: string): LintContext => ({
  repoRoot,
  probed,
  workspaceDeps: workspaceDepsOf(repoRoot, service),
  envRead: hasConfig(repoRoot, service) ? envReadBy(repoRoot, service) : undefined,
})

const lint = (file: string, text: string) =>
  lintDockerfile(`deploy/docker/${file}`, text, serviceOfFile(file), contextOf(serviceOfFile(file)))

describe("deploy/docker", () => {
  it("has an image for every service workspace, and no image without one", () => {
    expect(dockerfiles.map(serviceOfFile)).toEqual(expect.arrayContaining(workspaces))
    expect(dockerfiles.map(serviceOfFile).filter((s) => !workspaces.includes(s))).toEqual([])
  })

  it.each(dockerfiles)("%s passes the lint", (file) => {
    expect(lint(file, readFileSync(join(dockerDir, file), "utf8"))).toEqual([])
  })

  it("the entrypoint is a POSIX shell script", () => {
    expect(readFileSync(join(dockerDir, "entrypoint.sh"), "utf8").startsWith("#!/bin/sh\n")).toBe(true)
  })
})

describe("deploy/docker/entrypoint.sh", () => {
  /** Runs the entrypoint with `env` (and nothing else inherited) and returns the token it exports. */
  const token = (env: Record<string, string>, variable: string): string =>
    execFileSync("sh", [join(dockerDir, "entrypoint.sh"), "sh", "-c", `printf %s "$${variable}"`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env },
      encoding: "utf8",
      timeout: 5000,
    })

  it("gives each start of a replica its own valid token", () => {
    const env = { B2BUA_INSTANCE_VAR: "B2BUA_CC_INSTANCE", B2BUA_INSTANCE_PREFIX: "c" }
    const tokens = Array.from({ length: 5 }, () => token(env, "B2BUA_CC_INSTANCE"))
    for (const t of tokens) expect(isInstanceId(t) && /^c[0-9a-f]{12}$/.test(t)).toBe(true)
    expect(new Set(tokens).size).toBe(5)
  })

  it("derives a stable token from the node for DaemonSets, distinct per node", () => {
    const on = (node: string) =>
      token(
        {
          B2BUA_INSTANCE_VAR: "B2BUA_EDGE_INSTANCE",
          B2BUA_INSTANCE_PREFIX: "e",
          B2BUA_INSTANCE_FROM: "node",
          NODE_NAME: node,
        },
        "B2BUA_EDGE_INSTANCE",
      )
    expect(on("sip-node-1")).toBe(on("sip-node-1"))
    expect(on("sip-node-1")).not.toBe(on("sip-node-2"))
    expect(isInstanceId(on("ip-10-0-1-23.ec2.internal"))).toBe(true)
  })

  it("leaves a token the operator set alone, and runs the command unchanged without a variable name", () => {
    expect(
      token({ B2BUA_INSTANCE_VAR: "B2BUA_CC_INSTANCE", B2BUA_CC_INSTANCE: "cfixed1" }, "B2BUA_CC_INSTANCE"),
    ).toBe("cfixed1")
    expect(token({}, "B2BUA_CC_INSTANCE")).toBe("")
  })
})

describe("the lint catches broken Dockerfiles", () => {
  const file = "sip-edge.Dockerfile"
  const original = readFileSync(join(dockerDir, file), "utf8")
  const mutate = (from: string, to: string): string[] => {
    expect(original).toContain(from)
    return lint(file, original.replace(from, to))
  }

  it("an unpinned base image", () => {
    const problems = mutate("FROM node:20.20.2-bookworm-slim AS deps", "FROM node:20-slim AS deps")
    expect(problems.join("\n")).toMatch(/base image node:20-slim is not pinned/)
  })

  it("a COPY source that does not exist, and one the .dockerignore excludes", () => {
    const problems = mutate(
      "COPY services/sip-edge/ services/sip-edge/",
      "COPY services/sip-edje/ services/sip-edge/\nCOPY services/sip-edge/test/ services/sip-edge/test/",
    )
    expect(problems.join("\n")).toMatch(/COPY source services\/sip-edje\/ does not exist/)
    expect(problems.join("\n")).toMatch(/COPY source services\/sip-edge\/test\/ is excluded by .dockerignore/)
  })

  it("no USER, or USER root", () => {
    expect(mutate("USER 1000:1000", "")).toContain(
      "deploy/docker/sip-edge.Dockerfile: the final stage sets no USER (it would run as root)",
    )
    expect(mutate("USER 1000:1000", "USER root").join("\n")).toMatch(/USER root is root/)
  })

  it("a workspace dependency left out of the image", () => {
    const problems = mutate("COPY --from=build /app/packages/bus/dist/ packages/bus/dist/\n", "")
    expect(problems).toContain(
      "deploy/docker/sip-edge.Dockerfile: the final stage does not copy packages/bus/dist",
    )
  })

  it("a COPY --from of a stage that does not exist, and an instance variable the service never reads", () => {
    const problems = mutate(
      "B2BUA_INSTANCE_VAR=B2BUA_EDGE_INSTANCE",
      "B2BUA_INSTANCE_VAR=B2BUA_EDGE_ID",
    ).join("\n")
    expect(problems).toMatch(/B2BUA_INSTANCE_VAR=B2BUA_EDGE_ID, which services\/sip-edge never reads/)
    expect(
      mutate("COPY --from=deps /app/node_modules/", "COPY --from=dep /app/node_modules/").join("\n"),
    ).toMatch(/COPY --from=dep names no earlier stage/)
  })

  it(".dockerignore patterns match as Docker does (a folder excludes its content)", () => {
    const patterns = readIgnore("**/node_modules\n**/dist\n.git\n")
    expect(isIgnored(patterns, "node_modules/x/index.js")).toBe(true)
    expect(isIgnored(patterns, "packages/sip/dist/index.js")).toBe(true)
    expect(isIgnored(patterns, ".git")).toBe(true)
    expect(isIgnored(patterns, "packages/sip/src/index.ts")).toBe(false)
    expect(isIgnored(patterns, "packages/distance/x.ts")).toBe(false)
  })
})
