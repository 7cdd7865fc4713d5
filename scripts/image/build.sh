#!/usr/bin/env bash
# `make image`: builds the repository's Dockerfile with a private Docker engine (Debian docker.io,
# see dockerd.sh) and checks the result. The base image is the Dockerfile's BASE_IMAGE build arg:
# the public node:<NODE_VERSION>-bookworm-slim when it can be pulled, else an equivalent base
# assembled here (base.sh: Debian bookworm from this machine's apt mirror plus Node.js from npm).
# Everything is cached outside the repo (KMS_IMAGE_CACHE, default ~/.cache/kms-node/image): the
# engine's data root (base and layers) and the saved image tar, keyed by a hash of the build
# context, so a warm run with unchanged sources starts no engine at all.
# Prints KEY=value lines on stdout: IMAGE, IMAGE_TAR, IMAGE_SIZE_BYTES, NODE_VERSION; progress
# goes to stderr; fails with one "image: error:" line.
#   usage: build.sh        env: KMS_IMAGE_CACHE, KMS_BASE_IMAGE (use this base, skip assembly)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/image/versions.env
source "$here/versions.env"
# shellcheck source=scripts/image/dockerd.sh
source "$here/dockerd.sh"

say() { echo "image: $*" >&2; }
fail() { echo "image: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "building the image needs root (a private dockerd; debootstrap for the base)"
"$root/scripts/ensure-deps.sh" image >&2

cache="${KMS_IMAGE_CACHE:-$HOME/.cache/kms-node/image}"
mkdir -p "$cache"
exec 9>"$cache/.lock"
if ! flock -n 9; then say "another build holds $cache/.lock; waiting"; flock 9; fi

app_version="$(sed -n 's/^appVersion:[[:space:]]*"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$root/charts/kms-node/Chart.yaml")"
[ -n "$app_version" ] || fail "no appVersion in charts/kms-node/Chart.yaml"
image="kms-node:$app_version"
public_base="node:${NODE_VERSION}-${DEBIAN_SUITE}-slim"
# The assembled base is named after the script that made it, so a changed recipe makes a new one.
local_base="kms-node-base/node:${NODE_VERSION}-${DEBIAN_SUITE}-slim-$(cat "$here/base.sh" "$here/versions.env" | sha256sum | cut -c1-8)"

# The build context as the Dockerfile sees it (.dockerignore keeps tests and docs out).
context_key() {
  (cd "$root" && {
    sha256sum Dockerfile .dockerignore package.json package-lock.json tsconfig.json scripts/build.ts
    find src -type f ! -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum
    cat "$here/versions.env" "$here/base.sh"
  } | sha256sum | cut -c1-16)
}
key="$(context_key)"
tar_path="$cache/kms-node-$app_version-$key.tar"
info_path="$tar_path.info"

report() {
  echo "IMAGE=$image"
  echo "IMAGE_TAR=$tar_path"
  cat "$info_path"
}

if [ -s "$tar_path" ] && [ -s "$info_path" ]; then
  say "$image cached for this source tree: $tar_path"
  report
  exit 0
fi

run_dir="$(mktemp -d /run/kms-image.XXXXXX)"
cleanup() { set +e; dockerd_stop; rm -rf "$run_dir"; }
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

started=$SECONDS
say "starting a private dockerd (data root $cache/docker)"
dockerd_start "$cache/docker" "$run_dir/dockerd"

base="${KMS_BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if docker_cli image inspect "$public_base" >/dev/null 2>&1; then base="$public_base"
  elif timeout 60 "$(command -v /usr/bin/docker || echo docker)" pull -q "$public_base" >/dev/null 2>&1; then base="$public_base"
  else
    say "$public_base cannot be pulled: using the locally assembled base $local_base"
    if ! docker_cli image inspect "$local_base" >/dev/null 2>&1; then
      "$here/base.sh" "$local_base" "$cache/downloads" "$run_dir/base"
      # Bases from an older recipe are superseded.
      for old in $(docker_cli images --format '{{.Repository}}:{{.Tag}}' kms-node-base/node); do
        [ "$old" = "$local_base" ] || docker_cli rmi "$old" >/dev/null 2>&1 || true
      done
    fi
    base="$local_base"
  fi
fi

# CAs added to this machine's trust store (Debian's place for local CAs, e.g. a TLS-inspecting
# egress proxy's) reach npm in the build stages only; none on an open network.
build_ca_certs="$(cat /usr/local/share/ca-certificates/*.crt 2>/dev/null || true)"
say "building $image from base $base"
docker_cli build --network host --build-arg "BASE_IMAGE=$base" --build-arg "BUILD_CA_CERTS=$build_ca_certs" \
  -t "$image" "$root" >"$run_dir/build.log" 2>&1 \
  || { tail -n 30 "$run_dir/build.log" >&2; fail "docker build failed (log above)"; }

# ---- checks on the built image; every container runs read-only without a network
check_run() { docker_cli run --rm --read-only --network none "$@"; }
uid="$(check_run --entrypoint id "$image" -u)"
[ "$uid" = 10001 ] || fail "the image runs as uid '$uid', want 10001"
node_version="$(check_run --entrypoint node "$image" --version)"
[ "$node_version" = "v$NODE_VERSION" ] || fail "the image's Node.js is $node_version, want v$NODE_VERSION"
check_run --tmpfs /tmp --entrypoint node "$image" -e '
  const fs = require("node:fs");
  fs.writeFileSync("/tmp/probe", "x");
  try { fs.writeFileSync("/app/probe", "x"); } catch (e) { if (e.code === "EROFS") process.exit(0); throw e; }
  console.error("the root filesystem is writable"); process.exit(1);' \
  || fail "the image does not start with a read-only root filesystem (writes to / must fail with EROFS, /tmp must work)"
# Output captured first: `grep -q` stops reading at the match, and the CLI's broken pipe would fail the check.
help="$(check_run "$image" --help)" || fail "'kms-server --help' exited non-zero"
grep -q '^Usage: kms-server' <<<"$help" || fail "'kms-server --help' did not print its usage"
redis_version="$(check_run --entrypoint redis-server "$image" --version)" || fail "redis-server is missing from the image"
grep -q '^Redis server' <<<"$redis_version" || fail "redis-server --version printed '$redis_version'"
size="$(docker_cli image inspect -f '{{.Size}}' "$image")"

say "saving $image to $tar_path"
docker_cli save -o "$tar_path.tmp" "$image"
mv -f "$tar_path.tmp" "$tar_path"
# Older tars of this image are superseded by this one.
find "$cache" -maxdepth 1 -name "kms-node-$app_version-*.tar*" ! -name "$(basename "$tar_path")*" -delete
printf 'IMAGE_SIZE_BYTES=%s\nNODE_VERSION=%s\nBASE_IMAGE=%s\n' "$size" "$NODE_VERSION" "$base" >"$info_path"
say "built and checked $image in $((SECONDS - started)) s: uid 10001, read-only root, kms-server --help, redis-server; size $((size / 1000000)) MB"
report
