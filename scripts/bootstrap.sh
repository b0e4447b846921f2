#!/usr/bin/env bash
# Installs whatever the project needs and is missing, then builds.
# Idempotent and quiet when everything is in place: `npm start` and `npm test` call it first.
set -euo pipefail
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1
cd "$(dirname "$0")/.."

log() { printf '\033[2m[bootstrap]\033[0m %s\n' "$*" >&2; }

# 1. Debian packages (scripts/system-deps.txt: command -> package).
missing=()
while read -r cmd pkg _; do
  [[ -z "${cmd:-}" || "$cmd" == \#* ]] && continue
  if [[ "$cmd" == lib:* ]]; then
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  else
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done < scripts/system-deps.txt
if ((${#missing[@]})); then
  sudo=""
  [[ "$(id -u)" -ne 0 ]] && sudo="sudo"
  log "installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. npm packages. `npm ci` fails here on turbo's other-platform binaries, `npm install` works.
# node-gyp must not download Node's headers: point it at the local ones.
if [[ -z "${npm_config_nodedir:-}" && -f /usr/include/node/node_api.h ]]; then
  export npm_config_nodedir=/usr
fi
stamp_of_inputs() {
  shopt -s nullglob
  cat package.json package-lock.json packages/*/package.json services/*/package.json | sha256sum | cut -d" " -f1
}
stamp_file=node_modules/.bootstrap-stamp
if [[ ! -f "$stamp_file" || "$(cat "$stamp_file")" != "$(stamp_of_inputs)" ]]; then
  log "npm install"
  npm install --no-audit --no-fund --loglevel=error >&2
  stamp_of_inputs > "$stamp_file"
fi

# 3. The relay's native addon when its sources changed since it was built (npm install builds it only when
# the manifests change), then every workspace in dependency order (incremental).
node services/rtp-relay/native/build.mjs >&2
log "build"
npx turbo run build --output-logs=errors-only --log-prefix=none >&2
