#!/usr/bin/env bash
# `npm start`: install what is missing, build, then run the local stack in the foreground (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
exec node deploy/local/stack.mjs
