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
const r = spawnSync("node-gyp", args, { cwd: root, stdio: "inherit" })
process.exit(r.status ?? 1)
