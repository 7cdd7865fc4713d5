# kms-node — every target works on a fresh clone: `make test` installs what it needs.
SHELL := /bin/bash
export NODE_OPTIONS := --experimental-vm-modules --no-warnings=ExperimentalWarning

.PHONY: setup deps build lint test test-unit test-integration test-mock-redis bench chaos image e2e cluster-e2e demo demo-once clean

deps:
	@scripts/ensure-deps.sh node

setup:
	@scripts/ensure-deps.sh all

## dist/cli/: the CLIs bundled with esbuild (scripts/build.ts says why); type checking is `make lint`.
build: deps
	@node_modules/.bin/tsx scripts/build.ts

lint: deps
	@node_modules/.bin/eslint --max-warnings 0 .
	@node_modules/.bin/tsc --noEmit -p tsconfig.json

## Every suite that needs no Kubernetes: unit, integration (real redis-server, anvil,
## node processes) and the Redis suites once more on ioredis-mock.
test: setup build
	@scripts/run-tests.sh unit integration mock

test-unit: deps
	@scripts/run-tests.sh unit

test-integration: setup build
	@scripts/run-tests.sh integration

test-mock-redis: deps
	@scripts/run-tests.sh mock

## The image (Dockerfile) built by a private Docker engine, then checked: uid 10001, read-only root
## filesystem, `kms-server --help`, redis-server; prints its size. Where the public base cannot be
## pulled, an equivalent one is assembled (Debian bookworm from the apt mirror + Node.js from npm).
## Cached outside the repo (KMS_IMAGE_CACHE, default ~/.cache/kms-node/image). Needs root.
image: deps
	@scripts/image/build.sh

## Kubernetes suites (test/e2e): a throwaway loopback kube-apiserver for most, and a real
## single-node cluster whose pods run the image (test/e2e/cluster; needs root). The Kubernetes
## binaries and helm are built from their Go modules on first use (~17 min on 2 cores), then cached
## outside the repo (KMS_TOOLS_CACHE, default ~/.cache/kms-node/tools).
e2e: setup build
	@test/e2e/infra/build-tools.sh all >/dev/null
	@scripts/image/build.sh >/dev/null
	@scripts/run-tests.sh e2e

## Only the single-node cluster suite (test/e2e/cluster.test.ts).
cluster-e2e: setup build
	@test/e2e/infra/build-tools.sh all >/dev/null
	@scripts/image/build.sh >/dev/null
	@scripts/run-tests.sh cluster

bench: setup build
	@node_modules/.bin/tsx bench/run.ts

## The seeded chaos soak (part of `bench`): n = 4 and n = 7 real node processes, 60
## boundaries each under SIGKILL/SIGSTOP/redis-server kills, next to a no-fault baseline;
## writes bench/results/chaos.json and fails if an invariant broke or liveness is under
## 0.95. KMS_CHAOS_SEED=<seed> replays a run (the seed is printed first).
chaos: setup build
	@node_modules/.bin/tsx bench/run.ts chaos

## The one-command demo: anvil, the registry, 4 kms-server processes with their own
## embedded Redis-AOF data; DKG, reshare, app key, encrypt/decrypt, SIGKILL and restore.
## `demo` stays up until Ctrl-C; `demo-once` exits 0 only if every step succeeded.
## DEMO_ARGS passes more flags (e.g. DEMO_ARGS="--dir /tmp/kms-demo"; see --help).
demo: setup
	@node_modules/.bin/tsx src/cli/devnet.ts $(DEMO_ARGS)

demo-once: setup
	@node_modules/.bin/tsx src/cli/devnet.ts --once $(DEMO_ARGS)

clean:
	rm -rf dist dist-all .test-results coverage
