#!/bin/sh
# Entrypoint of every image: gives the process a unique instance token, then becomes the service (exec:
# the service is PID 1 and receives SIGTERM itself).
#
# Why: a service's default token is its host name's first letters + its process id. In a pod the host
# name starts with the Deployment's name and the process id is always the same, so every replica would
# get the same token and own the same NATS subjects. When the token variable (named by
# B2BUA_INSTANCE_VAR in the image) is unset, it is set here to the image's prefix letter and 12 hex digits:
# - B2BUA_INSTANCE_FROM=node: a hash of NODE_NAME (hostNetwork DaemonSets: one per node, stable across
#   restarts, so the edge keeps its subject and the relay its id);
# - otherwise random per start (call control, auth, ...: a restarted process is a new owner, so the calls
#   of the old one are taken over instead of reaching a process that does not know them).
set -eu

if [ -n "${B2BUA_INSTANCE_VAR:-}" ]; then
  eval "current=\${${B2BUA_INSTANCE_VAR}:-}"
  if [ -z "$current" ]; then
    if [ "${B2BUA_INSTANCE_FROM:-random}" = "node" ] && [ -n "${NODE_NAME:-}" ]; then
      digits=$(printf '%s' "$NODE_NAME" | sha256sum | cut -c1-12)
    else
      digits=$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
    fi
    export "${B2BUA_INSTANCE_VAR}=${B2BUA_INSTANCE_PREFIX:-x}${digits}"
  fi
fi

exec "$@"
