// Builds the addon during `npm install` (node-gyp, local Node headers via npm_config_nodedir), and skips
// the build when the addon is newer than every native source, so installs elsewhere in the monorepo do
// not delete a working addon under running tests.
import { spawnSync } from "node:child_process"
import { readdirSync, statSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const addon = join(root, "build", "Release", "rtp_relay.node")
const mtime = (p) => {
  try {
    return statSync(p).mtimeMs
  } catch {
    return -1
  }
}
const sources = [
  join(root, "binding.gyp"),
  ...readdirSync(join(root, "native")).map((f) => join(root, "native", f)),
]
const built = mtime(addon)
if (built > 0 && sources.every((s) => mtime(s) < built)) process.exit(0)
const args = mtime(join(root, "build", "Makefile")) > 0 ? ["build"] : ["rebuild"]
// npm names its bundled node-gyp in npm_config_node_gyp during install; outside npm, use that same copy.
const bundled = join(
  dirname(process.execPath),
  "..",
  "lib",
  "node_modules",
  "npm",
  "node_modules",
  "node-gyp",
  "bin",
  "node-gyp.js",
)
const gyp = process.env.npm_config_node_gyp || (mtime(bundled) > 0 ? bundled : "")
const r = gyp
  ? spawnSync(process.execPath, [gyp, ...args], { cwd: root, stdio: "inherit" })
  : spawnSync("node-gyp", args, { cwd: root, stdio: "inherit" })
if (r.status !== 0 || mtime(addon) <= built) {
  console.error("rtp-relay: building the native addon failed (needs g++, make, python3 and liburing-dev)")
  process.exit(1)
}
