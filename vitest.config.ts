import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = fileURLToPath(new URL(".", import.meta.url))

// Tests run against sources: each workspace package `@b2bua/<name>` resolves to packages/<name>/src/index.ts.
const packageAliases = readdirSync(`${root}packages`).map((name) => ({
  find: new RegExp(`^@b2bua/${name}$`),
  replacement: `${root}packages/${name}/src/index.ts`,
}))

export default defineConfig({
  resolve: { alias: packageAliases },
  test: {
    include: ["packages/*/test/**/*.test.ts", "services/*/test/**/*.test.ts", "deploy/test/**/*.test.ts"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Two cores: end-to-end tests start several processes each; keep file-level parallelism modest.
    maxWorkers: 2,
  },
})
