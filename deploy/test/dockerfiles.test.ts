/**
 * The images' Dockerfiles, linted offline (deploy/test/dockerfileLint.ts), and negative cases on mutated
 * copies of one of them so that the lint is shown to fail.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
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
