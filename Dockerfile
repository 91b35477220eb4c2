# One image for meshgate's TypeScript components (xds-server, ext-authz, ratelimit-service,
# the demo services, the meshgate command and the bootstrap renderer); docker-compose.yml picks
# the entry point.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY cli cli
COPY shared shared
COPY xds-server xds-server
COPY ext-authz ext-authz
COPY ratelimit-service ratelimit-service
COPY ext-proc ext-proc
COPY launcher launcher
COPY demo demo
COPY scripts scripts
COPY test test
COPY bench bench
RUN npx tsc -p tsconfig.json && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /meshgate
ENV NODE_ENV=production
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY shared/proto/envoy-api.pb shared/proto/
COPY envoy envoy
COPY demo/policies.yaml demo/ratelimit.yaml demo/config-entries.yaml demo/
USER node
CMD ["node", "dist/xds-server/main.js", "--help"]
