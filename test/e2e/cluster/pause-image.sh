#!/usr/bin/env bash
# The pod sandbox ("pause") image without a registry: a static Go program that sleeps until
# SIGTERM/SIGINT, packed as a docker-archive tar that `ctr images import` reads. Cached in the
# tools cache. Prints the tar's path.
#   pause-image.sh      env: KMS_TOOLS_CACHE
set -euo pipefail
name="kms-e2e.local/pause:1"
out="${KMS_TOOLS_CACHE:-$HOME/.cache/kms-node/tools}/pause-1"
tar_path="$out/pause.tar"
if [ -s "$tar_path" ]; then echo "$tar_path"; exit 0; fi
gobin="$(command -v go || echo /usr/local/go/bin/go)"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/layer" "$work/image" "$out"
cat >"$work/src/main.go" <<'GO'
// pause holds a pod's namespaces open until the kubelet stops the sandbox.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
printf 'module kms-e2e.local/pause\n\ngo 1.24\n' >"$work/src/go.mod"
(cd "$work/src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOWORK=off GOFLAGS=-trimpath "$gobin" build -ldflags "-s -w" -o "$work/layer/pause" .)
tar -C "$work/layer" --owner=0 --group=0 --numeric-owner --mtime=@0 -cf "$work/image/layer.tar" pause
layer_sha="$(sha256sum "$work/image/layer.tar" | cut -d' ' -f1)"
config="{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Entrypoint\":[\"/pause\"],\"User\":\"65535:65535\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:$layer_sha\"]}}"
config_sha="$(printf '%s' "$config" | sha256sum | cut -d' ' -f1)"
printf '%s' "$config" >"$work/image/$config_sha.json"
printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":["layer.tar"]}]' "$config_sha" "$name" >"$work/image/manifest.json"
tar -C "$work/image" --owner=0 --group=0 --numeric-owner -cf "$tar_path.tmp" .
mv -f "$tar_path.tmp" "$tar_path"
echo "$tar_path"
