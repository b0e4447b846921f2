/**
 * Offline validation of rendered objects against the Kubernetes API schemas shipped by the
 * `kubernetes-models` package (generated from the Kubernetes OpenAPI document), in two passes:
 * 1. the package's own validators (types, required fields, enums, formats);
 * 2. unknown fields: those validators accept any extra key, which hides a misspelt `readinesProbe`, so
 *    every key is also looked up in the package's TypeScript interfaces with the TypeScript compiler.
 */
import { dirname, join } from "node:path"
import { DaemonSet, Deployment } from "kubernetes-models/apps/v1"
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2"
import { PodDisruptionBudget } from "kubernetes-models/policy/v1"
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1"
import ts from "typescript"
import type { K8sObject } from "./kustomize.js"

interface Validating {
  validate(): void
}

/** The kinds the suite renders: apiVersion/kind → model. A new kind must be added here to pass. */
const models: Record<string, (data: K8sObject) => Validating> = {
  "v1/Namespace": (d) => new Namespace(d as never),
  "v1/ConfigMap": (d) => new ConfigMap(d as never),
  "v1/Secret": (d) => new Secret(d as never),
  "v1/Service": (d) => new Service(d as never),
  "apps/v1/Deployment": (d) => new Deployment(d as never),
  "apps/v1/DaemonSet": (d) => new DaemonSet(d as never),
  "policy/v1/PodDisruptionBudget": (d) => new PodDisruptionBudget(d as never),
  "autoscaling/v2/HorizontalPodAutoscaler": (d) => new HorizontalPodAutoscaler(d as never),
}

/** The same kinds as TypeScript interfaces, for the unknown-field pass. */
const rootsSource = `
import type { IDaemonSet, IDeployment } from "kubernetes-models/apps/v1"
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2"
import type { IPodDisruptionBudget } from "kubernetes-models/policy/v1"
import type { IConfigMap, INamespace, ISecret, IService } from "kubernetes-models/v1"
export interface Roots {
  "v1/Namespace": INamespace
  "v1/ConfigMap": IConfigMap
  "v1/Secret": ISecret
  "v1/Service": IService
  "apps/v1/Deployment": IDeployment
  "apps/v1/DaemonSet": IDaemonSet
  "policy/v1/PodDisruptionBudget": IPodDisruptionBudget
  "autoscaling/v2/HorizontalPodAutoscaler": IHorizontalPodAutoscaler
}
`

const keyOf = (o: K8sObject): string => `${o.apiVersion}/${o.kind}`
const nameOf = (o: K8sObject): string => `${o.kind}/${o.metadata.name}`

interface Checker {
  readonly checker: ts.TypeChecker
  readonly roots: ts.Type
  readonly location: ts.Node
}

let cached: Checker | undefined

/** One TypeScript program over the model interfaces, built once per test process (about a second). */
const typeChecker = (repoRoot: string): Checker => {
  if (cached !== undefined) return cached
  const fileName = join(repoRoot, "deploy/test/.k8s-roots.ts")
  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  }
  const host = ts.createCompilerHost(options)
  const readFile = host.readFile.bind(host)
  const getSourceFile = host.getSourceFile.bind(host)
  host.readFile = (f) => (f === fileName ? rootsSource : readFile(f))
  host.fileExists = (f) => f === fileName || ts.sys.fileExists(f)
  host.getSourceFile = (f, lang, onError, create) =>
    f === fileName ? ts.createSourceFile(f, rootsSource, lang) : getSourceFile(f, lang, onError, create)
  host.getCurrentDirectory = () => dirname(fileName)
  const program = ts.createProgram([fileName], options, host)
  const diagnostics = ts.getPreEmitDiagnostics(program)
  if (diagnostics.length > 0) {
    const text = ts.flattenDiagnosticMessageText(diagnostics[0]!.messageText, "\n")
    throw new Error(`the Kubernetes model interfaces do not load: ${text}`)
  }
  const checker = program.getTypeChecker()
  const source = program.getSourceFile(fileName)!
  const rootsDecl = source.statements.find(ts.isInterfaceDeclaration)!
  cached = { checker, roots: checker.getTypeAtLocation(rootsDecl), location: source }
  return cached
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v)

/** The object-like members of a (possibly optional, possibly union) type. */
const objectParts = (checker: ts.TypeChecker, type: ts.Type): ts.Type[] =>
  (type.isUnion() ? type.types : [type]).filter(
    (t) => (t.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Null)) === 0 && checker.getApparentType(t) === t,
  )

const unknownFields = (c: Checker, value: unknown, type: ts.Type, path: string, out: string[]): void => {
  const { checker } = c
  const parts = objectParts(checker, type)
  if (Array.isArray(value)) {
    for (const part of parts) {
      if (!checker.isArrayType(part)) continue
      const element = checker.getTypeArguments(part as ts.TypeReference)[0]
      if (element === undefined) return
      value.forEach((item, i) => {
        unknownFields(c, item, element, `${path}[${i}]`, out)
      })
      return
    }
    return
  }
  if (!isPlainObject(value)) return
  for (const part of parts) {
    const index = checker.getIndexTypeOfType(part, ts.IndexKind.String)
    if (index !== undefined) {
      for (const [k, v] of Object.entries(value)) unknownFields(c, v, index, `${path}.${k}`, out)
      return
    }
  }
  const props = new Map<string, ts.Symbol>()
  for (const part of parts) for (const p of checker.getPropertiesOfType(part)) props.set(p.getName(), p)
  if (props.size === 0) return
  for (const [k, v] of Object.entries(value)) {
    const prop = props.get(k)
    if (prop === undefined) {
      out.push(`${path}.${k}: unknown field`)
      continue
    }
    unknownFields(c, v, checker.getTypeOfSymbolAtLocation(prop, c.location), `${path}.${k}`, out)
  }
}

/** Builds the TypeScript program over the model interfaces now (tests call it in a hook with a long timeout). */
export const warmSchemas = (repoRoot: string): void => {
  typeChecker(repoRoot)
}

/** Every problem of one object against the API schema, each naming the object and the field. */
export const schemaProblems = (repoRoot: string, object: K8sObject): string[] => {
  const make = models[keyOf(object)]
  if (make === undefined) return [`${nameOf(object)}: no schema registered for ${keyOf(object)}`]
  const problems: string[] = []
  try {
    make(object).validate()
  } catch (error) {
    problems.push(`${nameOf(object)}: ${error instanceof Error ? error.message : String(error)}`)
  }
  const c = typeChecker(repoRoot)
  const rootProp = c.checker.getPropertyOfType(c.roots, keyOf(object))!
  const rootType = c.checker.getTypeOfSymbolAtLocation(rootProp, c.location)
  const unknown: string[] = []
  unknownFields(c, object, rootType, "", unknown)
  return [...problems, ...unknown.map((u) => `${nameOf(object)}: ${u.slice(1)}`)]
}
