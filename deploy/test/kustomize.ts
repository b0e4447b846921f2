/**
 * Renders a kustomization offline with the kustomize built into kubectl (`kubectl kustomize`, v5) and
 * parses the stream of objects. No cluster is contacted: kustomize only reads files.
 */
import { execFileSync } from "node:child_process"
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseAllDocuments } from "yaml"

export interface K8sObject {
  readonly apiVersion: string
  readonly kind: string
  readonly metadata: { readonly name: string; readonly namespace?: string }
  readonly [field: string]: unknown
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** Parses a multi-document YAML stream; a document that is not a Kubernetes object is an error naming it. */
export const parseObjects = (text: string, source: string): K8sObject[] =>
  parseAllDocuments(text).flatMap((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`${source} document ${index}: ${doc.errors[0]?.message}`)
    const value: unknown = doc.toJS()
    if (value === null || value === undefined) return []
    if (
      !isObject(value) ||
      typeof value.apiVersion !== "string" ||
      typeof value.kind !== "string" ||
      !isObject(value.metadata) ||
      typeof value.metadata.name !== "string"
    ) {
      throw new Error(
        `${source} document ${index}: not a Kubernetes object (apiVersion, kind, metadata.name)`,
      )
    }
    return [value as K8sObject]
  })

/** `kubectl kustomize <dir>`; its error output becomes the thrown message. */
export const render = (dir: string): K8sObject[] => {
  let out: string
  try {
    out = execFileSync("kubectl", ["kustomize", dir], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 20_000,
    })
  } catch (cause) {
    if (isObject(cause) && cause.code === "ENOENT") {
      throw new Error(
        "kubectl is not installed: the manifests render with `kubectl kustomize` (Debian package kubectl)",
      )
    }
    const stderr = isObject(cause) && typeof cause.stderr === "string" ? cause.stderr : String(cause)
    throw new Error(`kubectl kustomize ${dir} failed: ${stderr.trim()}`)
  }
  return parseObjects(out, dir)
}

export interface Mutation {
  /** Path relative to deploy/k8s. */
  readonly file: string
  readonly from: string
  readonly to: string
}

/**
 * Copies deploy/k8s to a temporary folder, applies text replacements (each must match, so a negative
 * test cannot silently stop testing anything), and hands the copy of `overlay` to `use`.
 */
export const withMutatedCopy = <A>(
  k8sDir: string,
  overlay: string,
  mutations: ReadonlyArray<Mutation>,
  use: (overlayDir: string) => A,
): A => {
  const copy = mkdtempSync(join(tmpdir(), "b2bua-k8s-"))
  try {
    cpSync(k8sDir, copy, { recursive: true })
    for (const m of mutations) {
      const path = join(copy, m.file)
      const text = readFileSync(path, "utf8")
      if (!text.includes(m.from)) throw new Error(`mutation: "${m.from}" not found in ${m.file}`)
      writeFileSync(path, text.replace(m.from, m.to))
    }
    return use(join(copy, overlay))
  } finally {
    rmSync(copy, { recursive: true, force: true })
  }
}

/**
 * Names of the Secrets an overlay removes with a `$patch: delete` patch: by design they are created out
 * of band, so a reference to one is not dangling.
 */
export const secretsDeletedBy = (overlayDir: string): Set<string> => {
  const kustomization = parseAllDocuments(readFileSync(join(overlayDir, "kustomization.yaml"), "utf8"))[0]
  const patches: unknown = kustomization?.toJS()?.patches
  const names = new Set<string>()
  if (!Array.isArray(patches)) return names
  for (const patch of patches) {
    if (!isObject(patch)) continue
    const text =
      typeof patch.path === "string"
        ? readFileSync(join(overlayDir, patch.path), "utf8")
        : typeof patch.patch === "string"
          ? patch.patch
          : ""
    for (const doc of parseAllDocuments(text)) {
      const value: unknown = doc.toJS()
      if (
        isObject(value) &&
        value.$patch === "delete" &&
        value.kind === "Secret" &&
        isObject(value.metadata) &&
        typeof value.metadata.name === "string"
      ) {
        names.add(value.metadata.name)
      }
    }
  }
  return names
}
