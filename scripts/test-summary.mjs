// Prints vitest's JSON results as the one line CI reads: "N passed, N failed".
import { readFileSync } from "node:fs"

const file = process.argv[2]
let passed = 0
let failed = 0
try {
  const report = JSON.parse(readFileSync(file, "utf8"))
  passed = report.numPassedTests ?? 0
  // A failing test also fails its describe blocks and file; count tests, or the suites (files that failed
  // to load) when no test failed.
  failed = report.numFailedTests || report.numFailedTestSuites || 0
  const skipped = report.numPendingTests ?? 0
  console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`)
} catch {
  console.log("0 passed, 1 failed")
  process.exit(1)
}
process.exit(failed > 0 ? 1 : 0)
