#!/usr/bin/env bash
# `npm test`: install what is missing, build, lint, then run every test once.
# Ends with the line "N passed, N failed" and a non-zero exit on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p .ci/results
results=.ci/results/vitest.json
rm -f "$results"

if ! bash scripts/bootstrap.sh; then
  echo "0 passed, 1 failed"
  exit 1
fi
if ! npx tsc -p tsconfig.check.json; then
  echo "typecheck failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
if ! npx biome check . ; then
  echo "lint: biome check failed (run \`npm run format\` to fix formatting)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
node scripts/test-summary.mjs "$results" || status=1
exit $status
