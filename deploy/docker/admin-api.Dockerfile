# syntax=docker/dockerfile:1
# Image of the operators' gRPC admin API.
# Build from the repository root (the context):
#   docker build -f deploy/docker/admin-api.Dockerfile -t b2bua/admin-api:0.1.0 .
# Three stages: `build` installs the workspace with its dependencies and compiles it (tsc -b);
# `deps` installs the production dependencies only; the last stage holds those and the compiled output,
# and runs as an unprivileged user. Probes: no HEALTHCHECK here; Kubernetes probes the service
# (deploy/k8s/base, documented in docs/operations.md, "Probes").

FROM node:20.20.2-bookworm-slim AS build
# node-gyp uses the image's own Node headers instead of downloading them.
ENV npm_config_nodedir=/usr/local npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/ packages/
COPY services/admin-api/ services/admin-api/
RUN npm install --workspace @b2bua/admin-api --include-workspace-root
RUN npx tsc -b services/admin-api

FROM node:20.20.2-bookworm-slim AS deps
ENV npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/admin-proto/package.json packages/admin-proto/
COPY packages/contracts/package.json packages/contracts/
COPY packages/bus/package.json packages/bus/
COPY packages/telemetry/package.json packages/telemetry/
COPY packages/runtime/package.json packages/runtime/
COPY packages/sip/package.json packages/sip/
COPY services/admin-api/package.json services/admin-api/
# No install scripts: the production tree needs none.
RUN npm install --omit=dev --ignore-scripts --workspace @b2bua/admin-api

FROM node:20.20.2-bookworm-slim
# The service's default instance token is unique per process already (random, or the unique pod name).
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/package.json ./
COPY --from=deps /app/node_modules/ node_modules/
COPY --from=build /app/packages/admin-proto/package.json packages/admin-proto/
COPY --from=build /app/packages/admin-proto/dist/ packages/admin-proto/dist/
COPY --from=build /app/packages/contracts/package.json packages/contracts/
COPY --from=build /app/packages/contracts/dist/ packages/contracts/dist/
COPY --from=build /app/packages/bus/package.json packages/bus/
COPY --from=build /app/packages/bus/dist/ packages/bus/dist/
COPY --from=build /app/packages/telemetry/package.json packages/telemetry/
COPY --from=build /app/packages/telemetry/dist/ packages/telemetry/dist/
COPY --from=build /app/packages/runtime/package.json packages/runtime/
COPY --from=build /app/packages/runtime/dist/ packages/runtime/dist/
COPY --from=build /app/packages/sip/package.json packages/sip/
COPY --from=build /app/packages/sip/dist/ packages/sip/dist/
COPY --from=build /app/services/admin-api/package.json services/admin-api/
COPY --from=build /app/services/admin-api/dist/ services/admin-api/dist/
COPY deploy/docker/entrypoint.sh /usr/local/bin/b2bua-entrypoint
# The `node` user of the base image, by number so that Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE 50051/tcp 9464/tcp
ENTRYPOINT ["/usr/local/bin/b2bua-entrypoint"]
CMD ["node", "services/admin-api/dist/main.js"]
