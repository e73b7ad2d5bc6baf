# syntax=docker/dockerfile:1
# salon on Node 24 LTS. Build: docker build -t salon .   Run: see README ("Docker").

FROM node:24-bookworm-slim AS build
WORKDIR /app
# sqlite3 is a native module: build it here, with the toolchain, for this exact Node.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY commands ./commands
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
# tini as PID 1 forwards SIGTERM to node, so `docker stop` lets salon save and exit cleanly.
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production \
    SALON_STORE_URL=sqlite:///data/salons.sqlite \
    SALON_HEALTH_FILE=/tmp/salon-health
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY config ./config
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
# Unhealthy when the gateway has not been ready for two minutes (the heartbeat file goes stale).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/src/healthcheck.js"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/main.js"]
