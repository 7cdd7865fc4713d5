#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh machine, or says in one
# line what to install. Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

want="${1:-all}"   # all | node | redis | etcd | image | cluster

fail() { echo "ensure-deps: $*" >&2; exit 1; }

ensure_node() {
  command -v node >/dev/null || fail "node is missing: install Node.js >= 20.19"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
    || fail "Node.js $(node --version) is too old: install Node.js >= 20.19"
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
}

apt_install() {
  local pkg="$1" bin="$2"
  command -v "$bin" >/dev/null && return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "ensure-deps: installing $pkg (apt-get)" >&2
    # apt-get update once per run: a stale list may not know the package.
    if [ -z "${KMS_APT_UPDATED:-}" ]; then apt-get update -qq >/dev/null; export KMS_APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >/dev/null
    command -v "$bin" >/dev/null || fail "$pkg installed but $bin is not on PATH"
  else
    fail "$bin is missing: install it with 'apt-get install $pkg' (as root)"
  fi
}

case "$want" in
  node) ensure_node ;;
  redis) apt_install redis-server redis-server ;;
  etcd) apt_install etcd-server etcd ;;
  # make image: a private Docker engine and debootstrap for a locally assembled base.
  image) apt_install docker.io dockerd; apt_install debootstrap debootstrap ;;
  # make cluster-e2e: the node's runtime and network pieces from Debian (kube-* are built from Go).
  cluster)
    apt_install containerd containerd; apt_install runc runc; apt_install etcd-server etcd
    apt_install containernetworking-plugins /usr/lib/cni/bridge; apt_install iptables iptables
    apt_install conntrack conntrack; apt_install e2fsprogs mkfs.ext4; apt_install openssl openssl
    apt_install python3-minimal python3 ;;
  all) ensure_node; apt_install redis-server redis-server ;;
  *) fail "unknown target '$want' (use all, node, redis, etcd, image or cluster)" ;;
esac
