#!/usr/bin/env bash
# Builds the e2e Kubernetes tools from their Go modules and caches them outside the repo:
#   ${KMS_TOOLS_CACHE:-$HOME/.cache/kms-node/tools}/<name>-<version>/<name>
# kube-apiserver and kubectl come from k8s.io/kubernetes, whose go.mod replaces its staging
# modules with local paths, so `go install ...@version` refuses it: a throwaway module in the
# cache requires k8s.io/kubernetes and replaces every staging module with its published v0.x.y.
# The node components of the single-node cluster (kube-controller-manager, kube-scheduler, kubelet,
# kube-proxy) come from the same module. helm comes from helm.sh/helm/v3 with `go install`. etcd
# comes from Debian (etcd-server).
# Idempotent: a tool whose cached binary runs is not rebuilt. Prints the tool directory paths
# as KEY=value lines on stdout (progress goes to stderr); fails with one "build-tools: error:" line.
#   usage: build-tools.sh [all|apiserver-tools|cluster|<one tool>|etcd]...
#     apiserver-tools: etcd, kube-apiserver, kubectl, helm; cluster: the node components; all: both
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/e2e/infra/versions.env
source "$here/versions.env"

cache="${KMS_TOOLS_CACHE:-$HOME/.cache/kms-node/tools}"
k8s_version="$KUBERNETES_VERSION"
staging_version="v0.${k8s_version#v1.}"
log_dir="$cache/logs"

say() { echo "build-tools: $*" >&2; }
fail() { echo "build-tools: error: $*" >&2; exit 1; }

find_go() {
  local gobin
  if command -v go >/dev/null; then gobin="$(command -v go)"
  elif [ -x /usr/local/go/bin/go ]; then gobin=/usr/local/go/bin/go
  else fail "Go is missing: install Go >= 1.24 (https://go.dev/dl) or put it on PATH"; fi
  # Kubernetes 1.34 and Helm 3.19 need Go 1.24; GOTOOLCHAIN=local forbids downloading another.
  local v; v="$("$gobin" env GOVERSION 2>/dev/null)"; v="${v#go}"
  local major="${v%%.*}" minor="${v#*.}"; minor="${minor%%.*}"
  if ! [ "$major" -gt 1 ] 2>/dev/null && ! { [ "$major" = 1 ] && [ "$minor" -ge 24 ] 2>/dev/null; }; then
    fail "Go ${v:-of unknown version} at $gobin is too old: Kubernetes $k8s_version needs Go >= 1.24"
  fi
  echo "$gobin"
}

# Runs a logged step; on failure shows the log's tail and ends with one clear line.
run_logged() {
  local what="$1" log="$2"; shift 2
  if ! "$@" >>"$log" 2>&1; then
    tail -n 25 "$log" >&2 || true
    fail "$what failed (full log: $log)"
  fi
}

runs() { [ -x "$1" ] && "$@" >/dev/null 2>&1; }

go_env() {
  export CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false" GOTOOLCHAIN=local GOWORK=off
}

k8s_ldflags() {
  local minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  local x="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    x+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    x+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$x"
}

# Every command the throwaway module builds. All of them are imported before `go mod tidy`:
# kube-proxy and the kubelet need modules (e.g. sigs.k8s.io/knftables) the others do not.
K8S_COMMANDS="kube-apiserver kubectl kube-controller-manager kube-scheduler kubelet kube-proxy"

# The throwaway module that lets `go build` resolve k8s.io/kubernetes' commands.
prepare_k8s_module() {
  local gobin="$1" dir="$2" log="$3"
  [ -f "$dir/go.sum" ] && [ "$(cat "$dir/.ready" 2>/dev/null)" = "$K8S_COMMANDS" ] && return 0
  rm -rf "$dir"; mkdir -p "$dir"
  say "resolving k8s.io/kubernetes@$k8s_version (module download, a few minutes the first time)"
  local info gomod
  info="$(cd "$dir" && GOFLAGS=-mod=mod "$gobin" mod download -json "k8s.io/kubernetes@$k8s_version" 2>>"$log")" \
    || { tail -n 10 "$log" >&2; fail "cannot download k8s.io/kubernetes@$k8s_version from the Go module proxy (log: $log)"; }
  gomod="$(printf '%s\n' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  [ -f "$gomod" ] || fail "module download gave no go.mod for k8s.io/kubernetes@$k8s_version (log: $log)"
  local staging
  staging="$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/.*#\1#p' "$gomod" | sort -u)"
  [ -n "$staging" ] || fail "found no staging replace directives in k8s.io/kubernetes@$k8s_version go.mod"
  {
    echo "// Throwaway module: builds k8s.io/kubernetes commands for kms-node's e2e tests."
    echo "module kms-node.local/k8s-tools"
    echo
    echo "go 1.24.0"
    echo
    echo "require k8s.io/kubernetes $k8s_version"
    echo
    echo "replace ("
    for m in $staging; do echo "	$m => $m $staging_version"; done
    echo ")"
  } >"$dir/go.mod"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for c in $K8S_COMMANDS; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$c"; done
    printf ')\n'
  } >"$dir/tools.go"
  say "resolving the Kubernetes $k8s_version dependency graph (go mod tidy)"
  (cd "$dir" && run_logged "go mod tidy for k8s.io/kubernetes@$k8s_version" "$log" "$gobin" mod tidy)
  echo "$K8S_COMMANDS" >"$dir/.ready"
}

build_k8s_cmd() {
  local name="$1" gobin="$2"
  local out_dir="$cache/$name-$k8s_version" bin="$cache/$name-$k8s_version/$name"
  if runs "$bin" --version || runs "$bin" version --client; then
    say "$name $k8s_version cached: $bin"; echo "$(echo "$name" | tr 'a-z-' 'A-Z_')_DIR=$out_dir"; return 0
  fi
  local log="$log_dir/$name-$k8s_version.log"; : >"$log"
  local mod="$cache/.build/kubernetes-$k8s_version"
  prepare_k8s_module "$gobin" "$mod" "$log"
  say "building $name $k8s_version (go build; 10-30 min on 2 cores the first time)"
  mkdir -p "$out_dir"
  (cd "$mod" && run_logged "go build k8s.io/kubernetes/cmd/$name@$k8s_version" "$log" \
    "$gobin" build -ldflags "$(k8s_ldflags)" -o "$bin.tmp" "k8s.io/kubernetes/cmd/$name")
  mv -f "$bin.tmp" "$bin"
  runs "$bin" --version || runs "$bin" version --client || fail "built $bin but it does not run"
  say "built $bin"
  echo "$(echo "$name" | tr 'a-z-' 'A-Z_')_DIR=$out_dir"
}

build_helm() {
  local gobin="$1"
  local out_dir="$cache/helm-$HELM_VERSION" bin="$cache/helm-$HELM_VERSION/helm"
  if runs "$bin" version; then say "helm $HELM_VERSION cached: $bin"; echo "HELM_DIR=$out_dir"; return 0; fi
  local log="$log_dir/helm-$HELM_VERSION.log"; : >"$log"
  say "building helm $HELM_VERSION (go install helm.sh/helm/v3/cmd/helm)"
  mkdir -p "$out_dir"
  local tmp="$cache/.build/helm-gobin"; rm -rf "$tmp"; mkdir -p "$tmp"
  local x="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  x+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
  # Without these, `helm template` and `helm lint` assume an old default Kubernetes version.
  local minor="${k8s_version#v1.}"; minor="${minor%%.*}"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    x+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$minor"
  done
  (cd "$tmp" && GOBIN="$tmp" run_logged "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$log" \
    "$gobin" install -ldflags "$x" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mv -f "$tmp/helm" "$bin"
  runs "$bin" version || fail "built $bin but it does not run"
  say "built $bin"
  echo "HELM_DIR=$out_dir"
}

ensure_etcd() {
  if ! command -v etcd >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      say "installing etcd-server (apt-get)"
      # shellcheck disable=SC2015  # either step failing is the same failure
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null \
        || fail "apt-get install etcd-server failed"
    else
      fail "etcd is missing: install it with 'apt-get install etcd-server' (as root)"
    fi
  fi
  command -v etcd >/dev/null || fail "etcd-server installed but etcd is not on PATH"
  echo "ETCD_BIN=$(command -v etcd)"
}

main() {
  local targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(apiserver-tools)
  mkdir -p "$cache" "$log_dir" "$cache/.build"
  command -v flock >/dev/null || fail "flock is missing: install util-linux"
  # One build at a time per cache, whoever asks (make, jest globalSetup, a developer).
  exec 9>"$cache/.lock"
  if ! flock -n 9; then say "another build holds $cache/.lock; waiting"; flock 9; fi
  local gobin=""
  for t in "${targets[@]}"; do
    case "$t" in
      all|apiserver-tools|cluster) gobin="${gobin:-$(find_go)}"; go_env ;;&
      all|apiserver-tools)
           ensure_etcd; build_k8s_cmd kube-apiserver "$gobin"; build_k8s_cmd kubectl "$gobin"; build_helm "$gobin" ;;&
      all|cluster)
           for c in kube-controller-manager kube-scheduler kubelet kube-proxy; do build_k8s_cmd "$c" "$gobin"; done ;;
      all|apiserver-tools|cluster) ;;
      kube-apiserver|kubectl|kube-controller-manager|kube-scheduler|kubelet|kube-proxy)
           gobin="${gobin:-$(find_go)}"; go_env; build_k8s_cmd "$t" "$gobin" ;;
      helm) gobin="${gobin:-$(find_go)}"; go_env; build_helm "$gobin" ;;
      etcd) ensure_etcd ;;
      *) fail "unknown tool '$t' (use all, apiserver-tools, cluster, kube-apiserver, kubectl, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, helm or etcd)" ;;
    esac
  done
}

main "$@"
