/**
 * The Kubernetes manifests: every overlay renders with kustomize, every object validates offline against
 * the Kubernetes API schemas, and the cross-checks hold (environment read by the services, references,
 * ports, pod policy). The negative cases render mutated copies and expect the failure to be caught.
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { decodeConfigText } from "@b2bua/config"
import { decodeRoutingConfig } from "@b2bua/contracts"
import { beforeAll, describe, expect, it } from "vitest"
import { parse as parseYaml } from "yaml"
import { AuthConfigError, decodeAuthFile } from "../../services/auth/src/AuthConfig.js"
import {
  configPortProblems,
  consistencyProblems,
  containers,
  envOf,
  envProblems,
  envReadBy,
  filePathProblems,
  hasConfig,
  mountedFile,
  policyProblems,
  portProblems,
  referenceProblems,
  serviceOf,
  sourceFiles,
} from "./crossChecks.js"
import { type K8sObject, type Mutation, render, secretsDeletedBy, withMutatedCopy } from "./kustomize.js"
import { schemaProblems, warmSchemas } from "./schema.js"

const repoRoot = fileURLToPath(new URL("../..", import.meta.url))
const k8s = join(repoRoot, "deploy/k8s")
const overlays = readdirSync(join(k8s, "overlays")).sort()
const services = readdirSync(join(repoRoot, "services")).sort()
/** Services with a configuration module: their environment contract exists and is checked. */
const runnable = new Set(services.filter((s) => hasConfig(repoRoot, s)))

/** The configuration files the services read, checked with the services' own decoders. */
const configFileProblems = (objects: ReadonlyArray<K8sObject>): string[] =>
  containers(objects).flatMap((c) => {
    const env = envOf(objects, c)
    const problems: string[] = []
    const routing = env.get("B2BUA_ROUTING_FILE")
    const routingFile = routing === undefined ? undefined : mountedFile(objects, c, routing)
    if (routingFile?.text !== undefined) {
      const decoded = decodeConfigText(routingFile.source, routingFile.text, decodeRoutingConfig)
      if (decoded._tag === "Failure") problems.push(`${c.owner}: ${decoded.failure.message}`)
    }
    const auth = env.get("B2BUA_AUTH_CONFIG")
    const authFile = auth === undefined ? undefined : mountedFile(objects, c, auth)
    // An empty file is the base's Secret template: the overlay (or the operator) provides the content.
    if (authFile?.text !== undefined && authFile.text.trim() !== "") {
      const decoded = decodeAuthFile(parseYaml(authFile.text), authFile.source)
      if (decoded instanceof AuthConfigError) problems.push(`${c.owner}: ${decoded.message}`)
    }
    return problems
  })

/** Every problem of one rendering, all checks together. */
const problemsOf = (objects: ReadonlyArray<K8sObject>, overlayDir: string): string[] => {
  const external = secretsDeletedBy(overlayDir)
  return [
    ...objects.flatMap((o) => schemaProblems(repoRoot, o)),
    ...envProblems(repoRoot, objects, runnable),
    ...referenceProblems(objects, external),
    ...filePathProblems(objects, external),
    ...portProblems(objects),
    ...configPortProblems(objects),
    ...consistencyProblems(objects),
    ...configFileProblems(objects),
    ...policyProblems(objects),
  ]
}

const mutatedProblems = (overlay: string, mutations: ReadonlyArray<Mutation>): string[] =>
  withMutatedCopy(k8s, `overlays/${overlay}`, mutations, (dir) => problemsOf(render(dir), dir))

// Loading the Kubernetes model interfaces takes seconds, far more on a loaded machine: once, up front.
beforeAll(() => {
  warmSchemas(repoRoot)
}, 180_000)

describe.each(["base", ...overlays.map((o) => `overlays/${o}`)])("deploy/k8s/%s", (target) => {
  let objects: K8sObject[] = []
  beforeAll(() => {
    objects = render(join(k8s, target))
  })

  it("renders and deploys every service", () => {
    const deployed = new Set(containers(objects).map(serviceOf))
    expect([...services].filter((s) => !deployed.has(s))).toEqual([])
  })

  it("validates against the Kubernetes API schemas, no unknown fields", () => {
    expect(objects.flatMap((o) => schemaProblems(repoRoot, o))).toEqual([])
  })

  it("sets only environment variables the services read", () => {
    expect(envProblems(repoRoot, objects, runnable)).toEqual([])
  })

  it("references only ConfigMaps, Secrets, files, workloads and ports that exist", () => {
    const external = target === "base" ? new Set<string>() : secretsDeletedBy(join(k8s, target))
    expect(referenceProblems(objects, external)).toEqual([])
    expect(filePathProblems(objects, external)).toEqual([])
    expect(portProblems(objects)).toEqual([])
    expect(configPortProblems(objects)).toEqual([])
    expect(consistencyProblems(objects)).toEqual([])
  })

  it("ships configuration files the services decode", () => {
    expect(configFileProblems(objects)).toEqual([])
  })

  it("follows the pod policy (non-root, resources, probes, grace period)", () => {
    expect(policyProblems(objects)).toEqual([])
  })

  it("has an HPA for call-control, auth and sdp-negotiator, a PDB for every workload", () => {
    const hpa = objects.filter((o) => o.kind === "HorizontalPodAutoscaler").map((o) => o.metadata.name)
    expect(hpa).toEqual(expect.arrayContaining(["call-control", "auth", "sdp-negotiator"]))
    const pdb = new Set(objects.filter((o) => o.kind === "PodDisruptionBudget").map((o) => o.metadata.name))
    const suite = objects.filter(
      (o) => (o.kind === "Deployment" || o.kind === "DaemonSet") && o.metadata.name !== "nats",
    )
    expect(suite.map((o) => o.metadata.name).filter((n) => !pdb.has(n))).toEqual([])
  })
})

describe("docs/operations.md", () => {
  const doc = readFileSync(join(repoRoot, "docs/operations.md"), "utf8")

  it("names every KV bucket the code opens, for the replication step", () => {
    const buckets = new Set<string>()
    for (const dir of [
      ...services.map((s) => `services/${s}/src`),
      ...readdirSync(join(repoRoot, "packages")).map((p) => `packages/${p}/src`),
    ]) {
      for (const file of sourceFiles(join(repoRoot, dir))) {
        for (const m of readFileSync(file, "utf8").matchAll(/openKv\(\s*"([a-z0-9_-]+)"/g)) buckets.add(m[1]!)
      }
    }
    expect(buckets.size).toBeGreaterThan(0)
    expect([...buckets].filter((b) => !doc.includes(`\`KV_${b}\``))).toEqual([])
  })

  it.each([...runnable])("documents every variable %s reads", (service) => {
    expect([...envReadBy(repoRoot, service)].filter((name) => !doc.includes(`\`${name}\``))).toEqual([])
  })
})

describe("the checks catch broken manifests", () => {
  it("the production overlay passes unmutated (the baseline of the cases below)", () => {
    expect(mutatedProblems("production", [])).toEqual([])
  })

  it("a field of the wrong type", () => {
    const problems = mutatedProblems("production", [
      { file: "base/call-control/deployment.yaml", from: "replicas: 3", to: 'replicas: "three"' },
    ])
    expect(problems.join("\n")).toMatch(/Deployment\/call-control: .*replicas must be integer/)
  })

  it("a misspelt field", () => {
    const problems = mutatedProblems("production", [
      { file: "base/admin-api/deployment.yaml", from: "readinessProbe:", to: "readinesProbe:" },
    ])
    expect(problems).toContain(
      "Deployment/admin-api: spec.template.spec.containers[0].readinesProbe: unknown field",
    )
  })

  it("an environment variable no service reads", () => {
    const problems = mutatedProblems("production", [
      { file: "base/call-control/config.env", from: "B2BUA_MAX_CALLS=", to: "B2BUA_MAX_CALL=" },
    ])
    expect(problems).toContain(
      "Deployment/call-control container call-control: sets B2BUA_MAX_CALL, which services/call-control never reads",
    )
  })

  it("a reference to a ConfigMap that does not exist", () => {
    const problems = mutatedProblems("dev", [
      {
        file: "base/sip-edge/daemonset.yaml",
        from: "name: sip-edge\n          env:",
        to: "name: sip-edg\n          env:",
      },
    ])
    expect(problems).toContain("DaemonSet/sip-edge container sip-edge: ConfigMap sip-edg does not exist")
  })

  it("a Secret that is neither rendered nor deleted on purpose by the overlay", () => {
    const problems = mutatedProblems("production", [
      {
        file: "overlays/production/kustomization.yaml",
        from: "  - path: external-secret-admin.yaml\n",
        to: "",
      },
      {
        file: "base/admin-api/deployment.yaml",
        from: "secretName: admin-api-token",
        to: "secretName: admin-api-tokens",
      },
    ])
    expect(problems).toContain("Deployment/admin-api: Secret admin-api-tokens does not exist")
  })

  it("a SIP port that differs from the declared container port", () => {
    const problems = mutatedProblems("production", [
      { file: "base/sip-edge/config.env", from: "B2BUA_SIP_PORT=5060", to: "B2BUA_SIP_PORT=5070" },
    ])
    expect(problems).toContain(
      "DaemonSet/sip-edge container sip-edge: B2BUA_SIP_PORT=5070 but port sip-udp is 5060",
    )
  })

  it("a file path outside every mounted volume, and a key the mounted Secret lacks", () => {
    const problems = mutatedProblems("dev", [
      { file: "base/auth/config.env", from: "=/etc/b2bua/auth/nonce-key", to: "=/etc/b2bua/nonce-key" },
      { file: "base/admin-api/config.env", from: "=/etc/b2bua/admin/token", to: "=/etc/b2bua/admin/tokens" },
    ])
    expect(problems).toContain(
      "Deployment/auth container auth: B2BUA_NONCE_KEY_FILE=/etc/b2bua/nonce-key is in no mounted volume",
    )
    expect(problems).toContain(
      "Deployment/admin-api container admin-api: B2BUA_ADMIN_TOKEN_FILE=/etc/b2bua/admin/tokens: Secret admin-api-token key tokens does not exist",
    )
  })

  it("services that disagree on the SIP port, an admin grace period longer than the pod's", () => {
    const problems = mutatedProblems("production", [
      { file: "base/call-control/config.env", from: "B2BUA_SIP_PORT=5060", to: "B2BUA_SIP_PORT=5080" },
      { file: "base/admin-api/config.env", from: "GRACE_MS=20000", to: "GRACE_MS=34000" },
    ])
    expect(problems).toContain(
      "Deployment/call-control container call-control: B2BUA_SIP_PORT=5080 but the edge listens on 5060",
    )
    expect(problems.join("\n")).toMatch(
      /admin-api: B2BUA_DRAIN_MS=5000 \+ B2BUA_ADMIN_SHUTDOWN_GRACE_MS=34000 does not fit .* \(35000 ms\)/,
    )
  })

  it("a routing file that names an unknown trunk", () => {
    const problems = mutatedProblems("production", [
      { file: "base/call-control/routing.yaml", from: "trunks: [pbx]", to: "trunks: [pbxx]" },
    ])
    expect(problems.join("\n")).toMatch(
      /Deployment\/call-control: .*routes\[0\]\.trunks\[0\]: unknown trunk "pbxx"/,
    )
  })

  it("a PodDisruptionBudget of DaemonSet pods with maxUnavailable, a scrape port that is not the metrics port", () => {
    const problems = mutatedProblems("production", [
      { file: "base/rtp-relay/pdb.yaml", from: "minAvailable: 1", to: "maxUnavailable: 1" },
      {
        file: "base/rtp-relay/daemonset.yaml",
        from: 'prometheus.io/port: "9465"',
        to: 'prometheus.io/port: "9464"',
      },
    ])
    expect(problems).toContain(
      "DaemonSet/rtp-relay container rtp-relay: prometheus.io/port 9464 is not B2BUA_METRICS_PORT (9465)",
    )
    expect(problems).toContain(
      "PodDisruptionBudget/rtp-relay: selects DaemonSet pods, so it needs an integer minAvailable (no maxUnavailable)",
    )
  })

  it("an auth file with a user in an unknown domain", () => {
    const problems = mutatedProblems("dev", [
      { file: "overlays/dev/secrets.yaml", from: "domain: b2bua.dev\n", to: "domain: b2bua.test\n" },
    ])
    expect(problems.join("\n")).toMatch(/Deployment\/auth: .*users\[0\]\.domain: unknown domain "b2bua.test"/)
  })

  it("a probe on an undeclared port and a container without limits", () => {
    const problems = mutatedProblems("dev", [
      {
        file: "base/admin-api/deployment.yaml",
        from: "grpc:\n              port: 50051",
        to: "grpc:\n              port: 50052",
      },
      { file: "base/admin-api/deployment.yaml", from: 'limits:\n              cpu: "1"\n', to: "limits:\n" },
    ])
    expect(problems).toContain(
      "Deployment/admin-api container admin-api: readinessProbe uses port 50052, which no container port declares",
    )
    expect(problems).toContain("Deployment/admin-api container admin-api: resources.limits.cpu is not set")
  })
})
