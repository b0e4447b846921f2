# syntax=docker/dockerfile:1
# Image of the RTP relay (native io_uring forwarding plane; UDP port range on the node, hostNetwork).
# Build from the repository root (the context):
#   docker build -f deploy/docker/rtp-relay.Dockerfile -t b2bua/rtp-relay:0.1.0 .
# Three stages: `build` installs the workspace with its dependencies and compiles it (tsc -b) and the native addon (node-gyp);
# `deps` installs the production dependencies only; the last stage holds those and the compiled output,
# and runs as an unprivileged user. Probes: no HEALTHCHECK here; Kubernetes probes the service
# (deploy/k8s/base, documented in docs/operations.md, "Probes").

FROM node:20.20.2-bookworm-slim AS build
# The addon links liburing; node-gyp needs python3, make and a C compiler.
RUN apt-get update \
  && apt-get install -y --no-install-recommends g++ make python3 liburing-dev \
  && rm -rf /var/lib/apt/lists/*
# node-gyp uses the image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/ packages/
COPY services/rtp-relay/ services/rtp-relay/
RUN npm install --workspace @b2bua/rtp-relay --include-workspace-root
RUN npx tsc -b services/rtp-relay

FROM node:20.20.2-bookworm-slim AS deps
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/contracts/package.json packages/contracts/
COPY packages/bus/package.json packages/bus/
COPY packages/rtp/package.json packages/rtp/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/runtime/package.json packages/runtime/
COPY services/rtp-relay/package.json services/rtp-relay/
# No install scripts: the production tree needs none (the addon comes compiled from `build`).
RUN npm install --omit=dev --ignore-scripts --workspace @b2bua/rtp-relay

FROM node:20.20.2-bookworm-slim
# The addon's run-time library.
RUN apt-get update \
  && apt-get install -y --no-install-recommends liburing2 \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
  B2BUA_INSTANCE_VAR=B2BUA_RELAY_ID \
  B2BUA_INSTANCE_PREFIX=r \
  B2BUA_INSTANCE_FROM=node
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /app/packages/contracts/package.json packages/contracts/
COPY --from=build /app/packages/contracts/dist/ packages/contracts/dist/
COPY --from=build /app/packages/bus/package.json packages/bus/
COPY --from=build /app/packages/bus/dist/ packages/bus/dist/
COPY --from=build /app/packages/rtp/package.json packages/rtp/
COPY --from=build /app/packages/rtp/dist/ packages/rtp/dist/
COPY --from=build /app/packages/telemetry/package.json packages/telemetry/
COPY --from=build /app/packages/telemetry/dist/ packages/telemetry/dist/
COPY --from=build /app/packages/runtime/package.json packages/runtime/
COPY --from=build /app/packages/runtime/dist/ packages/runtime/dist/
COPY --from=build /app/services/rtp-relay/package.json services/rtp-relay/
COPY --from=build /app/services/rtp-relay/dist/ services/rtp-relay/dist/
COPY --from=build /app/services/rtp-relay/build/Release/rtp_relay.node services/rtp-relay/build/Release/
COPY deploy/docker/entrypoint.sh /usr/local/bin/b2bua-entrypoint
# The `node` user of the base image, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 9465/tcp
ENTRYPOINT ["/usr/local/bin/b2bua-entrypoint"]
CMD ["node", "services/rtp-relay/dist/main.js"]
