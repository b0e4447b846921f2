/**
 * Checks across the rendered objects and the code: what a schema cannot see. Each function returns the
 * problems it found as sentences naming the object, the container and the field.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { K8sObject } from "./kustomize.js"

type Json = Record<string, unknown>

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v)
const obj = (v: unknown): Json => (isObject(v) ? v : {})
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : [])
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined)

export interface Container {
  readonly owner: string
  readonly name: string
  readonly image: string
  readonly spec: Json
  readonly pod: Json
  readonly podLabels: Json
  readonly podAnnotations: Json
}

const workloadKinds = new Set(["Deployment", "DaemonSet", "StatefulSet"])

export const workloads = (objects: ReadonlyArray<K8sObject>): K8sObject[] =>
  objects.filter((o) => workloadKinds.has(o.kind))

export const containers = (objects: ReadonlyArray<K8sObject>): Container[] =>
  workloads(objects).flatMap((w) => {
    const template = obj(obj(w.spec).template)
    const pod = obj(template.spec)
    return [...arr(pod.initContainers), ...arr(pod.containers)].map((c) => ({
      owner: `${w.kind}/${w.metadata.name}`,
      name: str(obj(c).name) ?? "",
      image: str(obj(c).image) ?? "",
      spec: obj(c),
      pod,
      podLabels: obj(obj(template.metadata).labels),
      podAnnotations: obj(obj(template.metadata).annotations),
    }))
  })

/** The suite's own containers: image `.../b2bua/<service>:tag`, service = a folder under services/. */
export const serviceOf = (c: Container): string | undefined =>
  /(?:^|\/)b2bua\/([a-z0-9-]+)(?::[^/]*)?$/.exec(c.image)?.[1]

const findObject = (objects: ReadonlyArray<K8sObject>, kind: string, name: string) =>
  objects.find((o) => o.kind === kind && o.metadata.name === name)

/** Environment variable names a container gets: `env` entries and the keys of `envFrom` sources. */
export const envOf = (objects: ReadonlyArray<K8sObject>, c: Container): Map<string, string | undefined> => {
  const env = new Map<string, string | undefined>()
  for (const from of arr(c.spec.envFrom)) {
    const cm = str(obj(obj(from).configMapRef).name)
    const secret = str(obj(obj(from).secretRef).name)
    const source =
      cm !== undefined ? findObject(objects, "ConfigMap", cm) : findObject(objects, "Secret", secret ?? "")
    const data = { ...obj(source?.data), ...obj(source?.stringData) }
    for (const [k, v] of Object.entries(data)) env.set(k, str(v))
  }
  for (const e of arr(c.spec.env)) {
    const name = str(obj(e).name)
    if (name !== undefined) env.set(name, str(obj(e).value))
  }
  return env
}

// ---------------------------------------------------------------------------------------------------
// What the code reads

/** Source files under `dir`, recursively. */
export const sourceFiles = (dir: string): string[] =>
  existsSync(dir)
    ? readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry)
        if (statSync(path).isDirectory()) return sourceFiles(path)
        return /\.(ts|mts|js|mjs)$/.test(entry) ? [path] : []
      })
    : []

/** `@b2bua/<name>` workspaces a workspace depends on, transitively (packages/ only). */
const workspaceDeps = (repoRoot: string, packageJson: string, seen = new Set<string>()): Set<string> => {
  const manifest = obj(JSON.parse(readFileSync(packageJson, "utf8")))
  for (const dep of Object.keys(obj(manifest.dependencies))) {
    const m = /^@b2bua\/(.+)$/.exec(dep)
    if (m === null || seen.has(m[1]!)) continue
    seen.add(m[1]!)
    const next = join(repoRoot, "packages", m[1]!, "package.json")
    if (existsSync(next)) workspaceDeps(repoRoot, next, seen)
  }
  return seen
}

const ENV_NAME = /^[A-Z][A-Z0-9]*_[A-Z0-9_]+$/

/**
 * Variable names read in TypeScript: `env.NAME`, `env["NAME"]` and upper-case string literals such as
 * `integer(env, "B2BUA_SIP_PORT", ...)`, in files that touch an environment at all.
 */
export const envNamesInSource = (text: string): Set<string> => {
  const names = new Set<string>()
  if (!/\benv\b|process\.env/.test(text)) return names
  for (const m of text.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]!)
  for (const m of text.matchAll(/["'`]([A-Z][A-Z0-9_]*)["'`]/g)) if (ENV_NAME.test(m[1]!)) names.add(m[1]!)
  return names
}

/** Variable names a POSIX shell script expands: `$NAME`, `${NAME}`, `${NAME:-x}`. */
export const envNamesInShell = (text: string): Set<string> =>
  new Set([...text.matchAll(/\$\{?([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!))

/** The `packages/` workspaces a service depends on, transitively. */
export const workspaceDepsOf = (repoRoot: string, service: string): Set<string> =>
  workspaceDeps(repoRoot, join(repoRoot, "services", service, "package.json"))

/** Every variable a service's process may read: its sources, its workspace dependencies, the entrypoint. */
export const envReadBy = (repoRoot: string, service: string): Set<string> => {
  const dir = join(repoRoot, "services", service)
  const dirs = [join(dir, "src")]
  for (const dep of workspaceDeps(repoRoot, join(dir, "package.json")))
    dirs.push(join(repoRoot, "packages", dep, "src"))
  const names = new Set<string>()
  for (const file of dirs.flatMap(sourceFiles)) {
    for (const n of envNamesInSource(readFileSync(file, "utf8"))) names.add(n)
  }
  for (const n of envNamesInShell(readFileSync(join(repoRoot, "deploy/docker/entrypoint.sh"), "utf8"))) {
    names.add(n)
  }
  return names
}

/** A service with a configuration module: its environment contract exists and can be checked. */
export const hasConfig = (repoRoot: string, service: string): boolean =>
  existsSync(join(repoRoot, "services", service, "src/Config.ts"))

/** Every variable a manifest sets for a service's container must be one the service reads. */
export const envProblems = (
  repoRoot: string,
  objects: ReadonlyArray<K8sObject>,
  services: ReadonlySet<string>,
): string[] =>
  containers(objects).flatMap((c) => {
    const service = serviceOf(c)
    if (service === undefined || !services.has(service)) return []
    const read = envReadBy(repoRoot, service)
    return [...envOf(objects, c).keys()]
      .filter((name) => !read.has(name))
      .map((name) => `${c.owner} container ${c.name}: sets ${name}, which services/${service} never reads`)
  })

// ---------------------------------------------------------------------------------------------------
// References between objects

export const referenceProblems = (
  objects: ReadonlyArray<K8sObject>,
  externalSecrets: ReadonlySet<string>,
): string[] => {
  const problems: string[] = []
  const need = (
    kind: "ConfigMap" | "Secret",
    name: string | undefined,
    key: string | undefined,
    where: string,
  ) => {
    if (name === undefined) return
    const found = findObject(objects, kind, name)
    if (found === undefined) {
      if (kind === "Secret" && externalSecrets.has(name)) return
      problems.push(`${where}: ${kind} ${name} does not exist`)
      return
    }
    if (key !== undefined && !(key in { ...obj(found.data), ...obj(found.stringData) })) {
      problems.push(`${where}: ${kind} ${name} has no key ${key}`)
    }
  }
  for (const c of containers(objects)) {
    const where = `${c.owner} container ${c.name}`
    for (const from of arr(c.spec.envFrom)) {
      need("ConfigMap", str(obj(obj(from).configMapRef).name), undefined, where)
      need("Secret", str(obj(obj(from).secretRef).name), undefined, where)
    }
    for (const e of arr(c.spec.env)) {
      const ref = obj(obj(e).valueFrom)
      need("ConfigMap", str(obj(ref.configMapKeyRef).name), str(obj(ref.configMapKeyRef).key), where)
      need("Secret", str(obj(ref.secretKeyRef).name), str(obj(ref.secretKeyRef).key), where)
    }
  }
  for (const w of workloads(objects)) {
    for (const v of arr(obj(obj(obj(w.spec).template).spec).volumes)) {
      need("ConfigMap", str(obj(obj(v).configMap).name), undefined, `${w.kind}/${w.metadata.name}`)
      need("Secret", str(obj(obj(v).secret).secretName), undefined, `${w.kind}/${w.metadata.name}`)
    }
  }
  const matches = (selector: Json, labels: Json) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
  for (const o of objects) {
    const where = `${o.kind}/${o.metadata.name}`
    if (o.kind === "HorizontalPodAutoscaler") {
      const ref = obj(obj(o.spec).scaleTargetRef)
      if (findObject(objects, str(ref.kind) ?? "", str(ref.name) ?? "") === undefined) {
        problems.push(`${where}: scaleTargetRef ${str(ref.kind)}/${str(ref.name)} does not exist`)
      }
    }
    if (o.kind === "PodDisruptionBudget") {
      const selector = obj(obj(obj(o.spec).selector).matchLabels)
      const selected = containers(objects).filter((c) => matches(selector, c.podLabels))
      if (selected.length === 0) problems.push(`${where}: selector matches no workload's pods`)
      // Pods of a controller without a scale subresource (DaemonSet) take only an integer minAvailable.
      const minAvailable = obj(o.spec).minAvailable
      if (selected.some((c) => c.owner.startsWith("DaemonSet/")) && typeof minAvailable !== "number") {
        problems.push(
          `${where}: selects DaemonSet pods, so it needs an integer minAvailable (no maxUnavailable)`,
        )
      }
    }
    if (o.kind === "Service") {
      const selector = obj(obj(o.spec).selector)
      const selected = containers(objects).filter((c) => matches(selector, c.podLabels))
      if (selected.length === 0) problems.push(`${where}: selector matches no workload's pods`)
      for (const port of arr(obj(o.spec).ports)) {
        const target = obj(port).targetPort ?? obj(port).port
        const found = selected.some((c) =>
          arr(c.spec.ports).some((p) => obj(p).name === target || obj(p).containerPort === target),
        )
        if (selected.length > 0 && !found)
          problems.push(`${where}: targetPort ${String(target)} is no container port`)
      }
    }
  }
  return problems
}

// ---------------------------------------------------------------------------------------------------
// Ports and pod policy

const portNumber = (text: string | undefined): number | undefined =>
  text !== undefined && /^\d+$/.test(text) ? Number(text) : undefined

export const portProblems = (objects: ReadonlyArray<K8sObject>): string[] =>
  containers(objects).flatMap((c) => {
    const where = `${c.owner} container ${c.name}`
    const problems: string[] = []
    const ports = arr(c.spec.ports).map(obj)
    const byName = new Map(ports.map((p) => [str(p.name), p]))
    // Probes name a port the container declares (a number must be declared too: it documents the port).
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) {
      const p = obj(c.spec[probe])
      for (const action of ["httpGet", "tcpSocket", "grpc"]) {
        const port = obj(p[action]).port
        if (port === undefined) continue
        const declared =
          typeof port === "string" ? byName.has(port) : ports.some((q) => q.containerPort === port)
        if (!declared)
          problems.push(`${where}: ${probe} uses port ${String(port)}, which no container port declares`)
      }
    }
    // With hostNetwork the container port is the node's port: they must be equal.
    if (c.pod.hostNetwork === true) {
      for (const p of ports) {
        if (p.hostPort !== undefined && p.hostPort !== p.containerPort) {
          problems.push(
            `${where}: hostNetwork port ${str(p.name)} has hostPort ${String(p.hostPort)} ≠ containerPort`,
          )
        }
      }
    }
    return problems
  })

/** The ports the configuration gives a service must be the ports the manifest declares. */
export const configPortProblems = (objects: ReadonlyArray<K8sObject>): string[] =>
  containers(objects).flatMap((c) => {
    const where = `${c.owner} container ${c.name}`
    const env = envOf(objects, c)
    const ports = arr(c.spec.ports).map(obj)
    const problems: string[] = []
    const metrics = portNumber(env.get("B2BUA_METRICS_PORT"))
    const metricsPort = ports.find((p) => p.name === "metrics")
    if (metrics !== undefined && metricsPort?.containerPort !== metrics) {
      problems.push(
        `${where}: B2BUA_METRICS_PORT=${metrics} but the port named metrics is ${String(metricsPort?.containerPort)}`,
      )
    }
    if (metrics === undefined && metricsPort !== undefined) {
      problems.push(`${where}: declares a metrics port but B2BUA_METRICS_PORT is not set`)
    }
    const scrapePort = obj(c.podAnnotations)["prometheus.io/port"]
    if (scrapePort !== undefined && portNumber(str(scrapePort)) !== metrics) {
      problems.push(
        `${where}: prometheus.io/port ${String(scrapePort)} is not B2BUA_METRICS_PORT (${String(metrics)})`,
      )
    }
    const sip = portNumber(env.get("B2BUA_SIP_PORT"))
    const sipPorts = ports.filter((p) => str(p.name)?.startsWith("sip-"))
    if (sip !== undefined && !env.has("B2BUA_SIP_LISTEN")) {
      for (const p of sipPorts) {
        if (p.containerPort !== sip)
          problems.push(
            `${where}: B2BUA_SIP_PORT=${sip} but port ${str(p.name)} is ${String(p.containerPort)}`,
          )
      }
    }
    const listen = env.get("B2BUA_SIP_LISTEN")
    if (listen !== undefined) {
      for (const item of listen.split(",")) {
        const m = /^(udp|tcp):.+:(\d{1,5})$/.exec(item.trim())
        const declared =
          m !== null &&
          sipPorts.some((p) => p.containerPort === Number(m[2]) && str(p.protocol)?.toLowerCase() === m[1])
        if (!declared) problems.push(`${where}: B2BUA_SIP_LISTEN ${item} has no matching container port`)
      }
    }
    return problems
  })

/**
 * The content of the file at `path` inside a container, when a ConfigMap or Secret volume provides it;
 * undefined when no mounted volume holds it.
 */
export const mountedFile = (
  objects: ReadonlyArray<K8sObject>,
  c: Container,
  path: string,
): { readonly source: string; readonly text: string | undefined } | undefined => {
  for (const mount of arr(c.spec.volumeMounts).map(obj)) {
    const dir = str(mount.mountPath)?.replace(/\/+$/, "")
    if (dir === undefined || !path.startsWith(`${dir}/`)) continue
    const key = path.slice(dir.length + 1)
    const volume = arr(c.pod.volumes)
      .map(obj)
      .find((v) => v.name === mount.name)
    if (volume === undefined) return { source: `volume ${str(mount.name)} (not declared)`, text: undefined }
    const cm = str(obj(volume.configMap).name)
    const secret = str(obj(volume.secret).secretName)
    const kind = cm !== undefined ? "ConfigMap" : "Secret"
    const name = cm ?? secret
    if (name === undefined) return { source: `volume ${str(mount.name)}`, text: undefined }
    const found = findObject(objects, kind, name)
    const encoded = str(obj(found?.data)[key])
    const text =
      encoded !== undefined && kind === "Secret"
        ? Buffer.from(encoded, "base64").toString("utf8")
        : (encoded ?? str(obj(found?.stringData)[key]))
    return { source: `${kind} ${name} key ${key}`, text }
  }
  return undefined
}

/** Every file a variable names (an absolute path) is inside a mounted volume whose source has it. */
export const filePathProblems = (
  objects: ReadonlyArray<K8sObject>,
  externalSecrets: ReadonlySet<string>,
): string[] =>
  containers(objects).flatMap((c) => {
    const where = `${c.owner} container ${c.name}`
    const problems: string[] = []
    for (const [name, value] of envOf(objects, c)) {
      if (value === undefined || !value.startsWith("/")) continue
      const file = mountedFile(objects, c, value)
      if (file === undefined) {
        problems.push(`${where}: ${name}=${value} is in no mounted volume`)
        continue
      }
      const external = [...externalSecrets].some((s) => file.source.startsWith(`Secret ${s} `))
      if (file.text === undefined && !external)
        problems.push(`${where}: ${name}=${value}: ${file.source} does not exist`)
    }
    for (const mount of arr(c.spec.volumeMounts).map(obj)) {
      if (!arr(c.pod.volumes).some((v) => obj(v).name === mount.name)) {
        problems.push(`${where}: volumeMount ${str(mount.name)} names no volume of the pod`)
      }
    }
    return problems
  })

/** Values that must agree: the SIP port across services, the admin listener, the stop stages and the grace period. */
export const consistencyProblems = (objects: ReadonlyArray<K8sObject>): string[] => {
  const problems: string[] = []
  const all = containers(objects)
  const edge = all.find((c) => serviceOf(c) === "sip-edge")
  const edgePort = edge === undefined ? undefined : portNumber(envOf(objects, edge).get("B2BUA_SIP_PORT"))
  for (const c of all) {
    const where = `${c.owner} container ${c.name}`
    const env = envOf(objects, c)
    const pod = c.pod
    const sipPort = portNumber(env.get("B2BUA_SIP_PORT"))
    if (edgePort !== undefined && sipPort !== undefined && sipPort !== edgePort) {
      problems.push(`${where}: B2BUA_SIP_PORT=${sipPort} but the edge listens on ${edgePort}`)
    }
    const authAddress = env.get("B2BUA_AUTH_SIP_ADDRESS")
    const authPort = authAddress === undefined ? undefined : portNumber(/:(\d+)$/.exec(authAddress)?.[1])
    if (edgePort !== undefined && authAddress !== undefined && authPort !== edgePort) {
      problems.push(`${where}: B2BUA_AUTH_SIP_ADDRESS=${authAddress} but the edge listens on ${edgePort}`)
    }
    const listen = env.get("B2BUA_ADMIN_LISTEN")
    if (listen !== undefined) {
      const port = portNumber(/:(\d+)$/.exec(listen)?.[1])
      if (!arr(c.spec.ports).some((p) => obj(p).containerPort === port)) {
        problems.push(
          `${where}: B2BUA_ADMIN_LISTEN=${listen} but no container port ${String(port)} is declared`,
        )
      }
    }
    // Stopping takes the preStop pause, then the drain (B2BUA_DRAIN_MS), then the admin API's shutdown
    // grace: all of it must end before the kubelet's SIGKILL.
    const stages = ["B2BUA_DRAIN_MS", "B2BUA_ADMIN_SHUTDOWN_GRACE_MS"]
      .map((name) => [name, portNumber(env.get(name))] as const)
      .filter((entry): entry is readonly [string, number] => entry[1] !== undefined)
    if (stages.length > 0) {
      const preStop = arr(obj(obj(obj(c.spec.lifecycle).preStop).exec).command)
      const pause = preStop[0] === "sleep" ? Number(preStop[1]) : 0
      const budget = (Number(pod.terminationGracePeriodSeconds ?? 30) - pause) * 1000
      const used = stages.reduce((sum, [, ms]) => sum + ms, 0)
      if (used >= budget) {
        const parts = stages.map(([name, ms]) => `${name}=${ms}`).join(" + ")
        problems.push(`${where}: ${parts} does not fit the pod's grace period after preStop (${budget} ms)`)
      }
    }
  }
  return problems
}

/** House policy every pod of the suite follows. */
export const policyProblems = (objects: ReadonlyArray<K8sObject>): string[] => {
  const problems: string[] = []
  for (const w of workloads(objects)) {
    const where = `${w.kind}/${w.metadata.name}`
    const pod = obj(obj(obj(w.spec).template).spec)
    if (obj(pod.securityContext).runAsNonRoot !== true)
      problems.push(`${where}: pod lacks runAsNonRoot: true`)
    if (typeof pod.terminationGracePeriodSeconds !== "number") {
      problems.push(`${where}: terminationGracePeriodSeconds is not set (graceful drain)`)
    }
  }
  for (const c of containers(objects)) {
    const where = `${c.owner} container ${c.name}`
    const resources = obj(c.spec.resources)
    for (const part of ["requests", "limits"]) {
      for (const r of ["cpu", "memory"]) {
        if (obj(resources[part])[r] === undefined)
          problems.push(`${where}: resources.${part}.${r} is not set`)
      }
    }
    const security = obj(c.spec.securityContext)
    if (security.allowPrivilegeEscalation !== false)
      problems.push(`${where}: allowPrivilegeEscalation is not false`)
    if (c.spec.readinessProbe === undefined || c.spec.livenessProbe === undefined) {
      problems.push(`${where}: readiness and liveness probes are required`)
    }
  }
  return problems
}
