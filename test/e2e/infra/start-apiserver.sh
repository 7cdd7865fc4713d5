#!/usr/bin/env bash
# Starts a throwaway Kubernetes API server for e2e tests, on loopback only:
# etcd (Debian etcd-server) + kube-apiserver (built by build-tools.sh), a fresh CA, serving
# cert, service-account signing key and admin client cert made with openssl in a temp dir.
# There is no controller-manager, scheduler or kubelet: objects are stored and validated,
# pods never run. Runs in the foreground until SIGINT/SIGTERM (or until the process named by
# KMS_E2E_WATCH_PID exits), then stops both servers and removes the temp dir.
#
# Once the server is ready it prints KEY=value lines on stdout and writes them to
# <state-dir>/env: KUBECONFIG, KMS_E2E_SERVER, KMS_E2E_STATE_DIR, KUBECTL, KUBE_APISERVER,
# HELM, followed by the line KMS_E2E_READY=1.
#   usage: start-apiserver.sh [-- extra kube-apiserver flags...]
#   env:   KMS_TOOLS_CACHE (tool cache), KMS_E2E_KEEP=1 (keep the temp dir), KMS_E2E_WATCH_PID
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
extra_flags=()
if [ "${1:-}" = "--" ]; then shift; extra_flags=("$@"); elif [ $# -gt 0 ]; then
  echo "start-apiserver: error: unexpected argument '$1' (usage: start-apiserver.sh [-- kube-apiserver flags])" >&2; exit 2
fi

say() { echo "start-apiserver: $*" >&2; }
fail() { echo "start-apiserver: error: $*" >&2; exit 1; }

command -v openssl >/dev/null || fail "openssl is missing: install it with 'apt-get install openssl'"
command -v node >/dev/null || fail "node is missing (used to pick free loopback ports)"

# The build script prints NAME_DIR=... lines for the tools it ensured.
tools="$("$here/build-tools.sh" apiserver-tools)" || exit 1
tool_dir() { printf '%s\n' "$tools" | sed -n "s/^$1=//p"; }
etcd_bin="$(tool_dir ETCD_BIN)"
apiserver_bin="$(tool_dir KUBE_APISERVER_DIR)/kube-apiserver"
kubectl_bin="$(tool_dir KUBECTL_DIR)/kubectl"
helm_bin="$(tool_dir HELM_DIR)/helm"

state="$(mktemp -d "${TMPDIR:-/tmp}/kms-e2e-apiserver.XXXXXX")"
etcd_pid="" api_pid="" etcd_shm=""
# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  [ -n "$etcd_pid" ] && kill "$etcd_pid" 2>/dev/null && wait "$etcd_pid" 2>/dev/null
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
    for log in "$state/etcd.log" "$state/kube-apiserver.log"; do
      [ -s "$log" ] && { echo "---- last lines of $(basename "$log")" >&2; tail -n 15 "$log" >&2; }
    done
  fi
  if [ "${KMS_E2E_KEEP:-}" = 1 ]; then say "kept $state"; else rm -rf "$state" ${etcd_shm:+"$etcd_shm"}; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# Free loopback ports, held open together so the kernel hands out distinct ones; the tiny race
# with other processes after they close is acceptable and shows up as a bind error in the log.
free_ports() {
  node -e '
    const net = require("net");
    const servers = Array.from({ length: Number(process.argv[1]) }, () => net.createServer());
    Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
      console.log(servers.map((s) => s.address().port).join(" "));
      servers.forEach((s) => s.close());
    });' "$1"
}

pki="$state/pki"; mkdir -m 700 "$pki"
gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
sign_cert() { # name subject extensions
  local name="$1" subj="$2" ext="$3"
  gen_key "$pki/$name.key"
  openssl req -new -key "$pki/$name.key" -subj "$subj" -out "$pki/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" >"$pki/$name.ext"
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial \
    -days 2 -extfile "$pki/$name.ext" -out "$pki/$name.crt" 2>/dev/null
}
say "generating a throwaway CA and certificates in $pki"
gen_key "$pki/ca.key"
openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=kms-node-e2e-ca" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$pki/ca.crt" 2>/dev/null || fail "openssl could not create the CA"
sign_cert apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc" \
  || fail "openssl could not create the serving certificate"
# system:masters is bound to cluster-admin by the default RBAC policy.
sign_cert admin "/O=system:masters/CN=kms-node-e2e-admin" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth" || fail "openssl could not create the admin client certificate"
# shellcheck disable=SC2015  # either step failing is the same failure
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pki/sa.key" 2>/dev/null \
  && openssl pkey -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null \
  || fail "openssl could not create the service-account signing key"

read -r etcd_port etcd_peer_port api_port < <(free_ports 3)
[ -n "$api_port" ] || fail "could not find free loopback ports"
# etcd's data is throwaway: tmpfs when there is one keeps fsync cheap.
etcd_data="$state/etcd-data"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then etcd_shm="$(mktemp -d /dev/shm/kms-e2e-etcd.XXXXXX)"; etcd_data="$etcd_shm"; fi
say "starting etcd on 127.0.0.1:$etcd_port"
"$etcd_bin" --name kms-e2e --data-dir "$etcd_data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "kms-e2e=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls "" \
  >"$state/etcd.log" 2>&1 &
etcd_pid=$!

say "starting kube-apiserver on https://127.0.0.1:$api_port"
"$apiserver_bin" \
  --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --cert-dir="$state/apiserver-certs" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --authorization-mode=RBAC \
  --service-account-issuer="https://kubernetes.default.svc" \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range=10.96.0.0/24 \
  --endpoint-reconciler-type=none \
  --allow-privileged=false \
  --profiling=false \
  ${extra_flags[@]+"${extra_flags[@]}"} \
  >"$state/kube-apiserver.log" 2>&1 &
api_pid=$!

kubeconfig="$state/admin.kubeconfig"
b64() { base64 -w0 <"$1"; }
cat >"$kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: kms-e2e
  cluster:
    server: https://127.0.0.1:$api_port
    certificate-authority-data: $(b64 "$pki/ca.crt")
users:
- name: kms-e2e-admin
  user:
    client-certificate-data: $(b64 "$pki/admin.crt")
    client-key-data: $(b64 "$pki/admin.key")
contexts:
- name: kms-e2e
  context: {cluster: kms-e2e, user: kms-e2e-admin, namespace: default}
current-context: kms-e2e
KCFG
chmod 600 "$kubeconfig"

say "waiting for /readyz"
deadline=$((SECONDS + ${KMS_E2E_READY_TIMEOUT:-120}))
until "$kubectl_bin" --kubeconfig "$kubeconfig" get --raw /readyz >/dev/null 2>&1 \
  && "$kubectl_bin" --kubeconfig "$kubeconfig" get namespace default >/dev/null 2>&1; do
  kill -0 "$etcd_pid" 2>/dev/null || fail "etcd exited during startup (log: $state/etcd.log)"
  kill -0 "$api_pid" 2>/dev/null || fail "kube-apiserver exited during startup (log: $state/kube-apiserver.log)"
  [ "$SECONDS" -lt "$deadline" ] || fail "kube-apiserver not ready after ${KMS_E2E_READY_TIMEOUT:-120}s (log: $state/kube-apiserver.log)"
  sleep 0.5
done

{
  echo "KUBECONFIG=$kubeconfig"
  echo "KMS_E2E_SERVER=https://127.0.0.1:$api_port"
  echo "KMS_E2E_STATE_DIR=$state"
  echo "KUBECTL=$kubectl_bin"
  echo "KUBE_APISERVER=$apiserver_bin"
  echo "HELM=$helm_bin"
} >"$state/env"
cat "$state/env"
echo "KMS_E2E_READY=1"
say "ready (Ctrl-C stops etcd and kube-apiserver and removes $state)"

while kill -0 "$etcd_pid" 2>/dev/null && kill -0 "$api_pid" 2>/dev/null; do
  if [ -n "${KMS_E2E_WATCH_PID:-}" ] && ! kill -0 "$KMS_E2E_WATCH_PID" 2>/dev/null; then
    say "process $KMS_E2E_WATCH_PID is gone; stopping"; exit 0
  fi
  sleep 1
done
kill -0 "$etcd_pid" 2>/dev/null || fail "etcd exited unexpectedly (log: $state/etcd.log)"
fail "kube-apiserver exited unexpectedly (log: $state/kube-apiserver.log)"
