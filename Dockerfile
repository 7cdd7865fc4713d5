# kms-node image: kms-server (Node.js) plus redis-server for the embedded persistence mode.
# Build: make image (scripts/image/build.sh: a private Docker engine, checks, size), or
#   docker build -t kms-node:0.1.0 .
# BASE_IMAGE is any Debian bookworm image with Node.js in /usr/local (the official slim image,
# or the equivalent that scripts/image/base.sh assembles where that cannot be pulled). Node.js 22
# is a maintained LTS; keep the version in step with scripts/image/versions.env.
ARG BASE_IMAGE=node:22.23.5-bookworm-slim

# ---- build: bundle the CLIs with the full dev toolchain (scripts/build.ts; dist/cli/)
FROM ${BASE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Extra CA certificates (PEM) for npm behind a TLS-inspecting proxy; empty on an open network.
# Build stages only: the runtime stage never sees them.
ARG BUILD_CA_CERTS=""
RUN if [ -n "$BUILD_CA_CERTS" ]; then printf '%s\n' "$BUILD_CA_CERTS" >/tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi \
 && npm ci --no-audit --no-fund --ignore-scripts \
 && rm -f /tmp/build-ca.pem
COPY tsconfig.json ./
COPY scripts/build.ts ./scripts/
COPY src ./src
RUN node_modules/.bin/tsx scripts/build.ts

# ---- deps: production dependencies only
FROM ${BASE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
ARG BUILD_CA_CERTS=""
RUN if [ -n "$BUILD_CA_CERTS" ]; then printf '%s\n' "$BUILD_CA_CERTS" >/tmp/build-ca.pem; export NODE_EXTRA_CA_CERTS=/tmp/build-ca.pem; fi \
 && npm ci --omit=dev --no-audit --no-fund --ignore-scripts \
 && npm cache clean --force \
 && rm -f /tmp/build-ca.pem

# ---- runtime
FROM ${BASE_IMAGE}
# redis-server from Debian: the embedded mode runs it as a child process with its AOF in the
# data directory. Versions follow the base image's Debian release.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 kms \
 && useradd --system --uid 10001 --gid kms --home-dir /nonexistent --shell /usr/sbin/nologin kms
WORKDIR /app
# Only process-level settings here: in controller mode (the chart) kms-server refuses every
# KMS_ variable that the KmsNode resource owns (port, data path, ...), image ENV included.
# Standalone: docker run -e KMS_PERSISTENCE_DATA_PATH=/var/lib/kms-node/data -v <volume>:/var/lib/kms-node …
ENV NODE_ENV=production \
    KMS_HOST=0.0.0.0
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
RUN install -d -o kms -g kms -m 0700 /var/lib/kms-node/data
# Numeric UID so Kubernetes runAsNonRoot can verify it.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.KMS_PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/kms-server.js"]
