#!/usr/bin/env bash
# A real single-node Kubernetes cluster for the e2e suite, whose pods run: containerd + runc + the
# CNI bridge plugin (Debian), etcd (Debian), kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet and kube-proxy (built by ../infra/build-tools.sh), on a bridge this run
# creates (network.env). The kms-node image (scripts/image/build.sh) and a tiny pause image are
# imported into containerd: pods use imagePullPolicy Never, nothing is pulled. Storage: local
# PersistentVolumes of the StorageClass kms-e2e-fscrypt, each an ext4-fscrypt encrypted
# directory with its own key (volumes.sh).
#
# Runs as root in the foreground until SIGINT/SIGTERM (or until KMS_E2E_WATCH_PID exits), then
# teardown.sh puts the host back as it was: processes, bridge, iptables rules, sysctls, cgroups,
# mounts, loop devices; exit 3 if the host still differs afterwards. Once the node is Ready it
# prints KEY=value lines on stdout (also in <state>/env): KUBECONFIG, KUBECTL, HELM,
# KMS_CLUSTER_STATE_DIR, KMS_CLUSTER_NODE_IP, KMS_CLUSTER_IMAGE, KMS_CLUSTER_STORAGE_CLASS, then
# KMS_CLUSTER_READY=1.
#   env: KMS_TOOLS_CACHE, KMS_IMAGE_CACHE, KMS_CLUSTER_VOLUMES (default 6), KMS_E2E_KEEP=1 (keep
#        the state dir), KMS_E2E_WATCH_PID
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
# shellcheck source=test/e2e/cluster/network.env
source "$here/network.env"

say() { echo "start-cluster: $*" >&2; }
fail() { echo "start-cluster: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "the cluster needs root (kubelet, containerd, bridge, loop mounts)"
[ $# -eq 0 ] || fail "unexpected argument '$1' (no arguments; see the header for the environment)"
"$root/scripts/ensure-deps.sh" cluster >&2

tools="$("$root/test/e2e/infra/build-tools.sh" all)" || exit 1
tool() { local dir; dir="$(printf '%s\n' "$tools" | sed -n "s/^$1=//p")"; echo "$dir/$2"; }
etcd_bin="$(printf '%s\n' "$tools" | sed -n 's/^ETCD_BIN=//p')"
kubectl="$(tool KUBECTL_DIR kubectl)"; helm="$(tool HELM_DIR helm)"
image_out="$("$root/scripts/image/build.sh")" || exit 1
image="$(printf '%s\n' "$image_out" | sed -n 's/^IMAGE=//p')"
image_tar="$(printf '%s\n' "$image_out" | sed -n 's/^IMAGE_TAR=//p')"

# One cluster per host (they share the bridge and its addresses): a second run waits for the first.
exec 8>/run/kms-e2e-cluster.lock
if ! flock -n 8; then say "another cluster run holds /run/kms-e2e-cluster.lock; waiting"; flock 8; fi
if ip link show "$CLUSTER_BRIDGE" >/dev/null 2>&1; then
  fail "interface $CLUSTER_BRIDGE exists: another cluster run is up, or one was killed (run teardown.sh <its state dir>, or 'ip link del $CLUSTER_BRIDGE')"
fi
if ip -4 route show | grep -q "^${CLUSTER_POD_CIDR%/*}\|^${CLUSTER_SERVICE_CIDR%/*}"; then
  fail "$CLUSTER_POD_CIDR or $CLUSTER_SERVICE_CIDR is already routed on this host; change test/e2e/cluster/network.env"
fi

state="$(mktemp -d /tmp/kms-cluster.XXXXXX)"
chmod 0711 "$state"
logs="$state/logs"; mkdir -p "$logs"
started=$SECONDS
# shellcheck disable=SC2317  # runs from the EXIT trap
cleanup() {
  local status=$?
  set +e
  trap - EXIT INT TERM
  if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
    for log in "$logs"/*.log; do
      [ -s "$log" ] && { echo "---- last lines of $(basename "$log")" >&2; tail -n 8 "$log" >&2; }
    done
  fi
  # Exit 3 says the host differs from its record after teardown, whatever stopped the run.
  "$here/teardown.sh" "$state" || status=3
  exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

# ---- what teardown restores: written before anything is changed
"$here/host-state.sh" save "$state"

# ---- network: the bridge, forwarding only within it
say "creating bridge $CLUSTER_BRIDGE ($CLUSTER_NODE_IP, pods $CLUSTER_POD_CIDR, services $CLUSTER_SERVICE_CIDR)"
ip link add "$CLUSTER_BRIDGE" type bridge
echo "$CLUSTER_BRIDGE" >"$state/bridge"
ip addr add "$CLUSTER_NODE_IP/${CLUSTER_POD_CIDR#*/}" dev "$CLUSTER_BRIDGE"
ip link set "$CLUSTER_BRIDGE" up
# Service addresses route onto the bridge too, so the host reaches them from the node address and
# a packet for a Service without endpoints never heads for the uplink.
ip route add "$CLUSTER_SERVICE_CIDR" dev "$CLUSTER_BRIDGE" src "$CLUSTER_NODE_IP"
# Service traffic between pods is DNAT-ed on the node and forwarded back onto the bridge.
sysctl -qw net.ipv4.ip_forward=1
for rule in "-i $CLUSTER_BRIDGE ! -o $CLUSTER_BRIDGE -j DROP" "! -i $CLUSTER_BRIDGE -o $CLUSTER_BRIDGE -j DROP" \
            "-i $CLUSTER_BRIDGE -o $CLUSTER_BRIDGE -j ACCEPT"; do
  # shellcheck disable=SC2086  # the rule is words
  iptables -w -I FORWARD 1 $rule -m comment --comment kms-e2e-cluster
done

# ---- certificates: one CA, a serving cert per server, a client identity per component
pki="$state/pki"; mkdir -m 700 "$pki"
"$here/pki.sh" "$pki" "$CLUSTER_NODE_IP" "${CLUSTER_SERVICE_CIDR%.*}.1" "$CLUSTER_NODE_NAME"
server="https://$CLUSTER_NODE_IP:$CLUSTER_APISERVER_PORT"
kubeconfig() { # name cert
  local b64ca b64crt b64key
  b64ca="$(base64 -w0 <"$pki/ca.crt")"; b64crt="$(base64 -w0 <"$pki/$2.crt")"; b64key="$(base64 -w0 <"$pki/$2.key")"
  cat >"$state/$1.kubeconfig" <<KCFG
apiVersion: v1
kind: Config
clusters:
- name: kms-e2e
  cluster: {server: "$server", certificate-authority-data: "$b64ca"}
users:
- name: $2
  user: {client-certificate-data: "$b64crt", client-key-data: "$b64key"}
contexts:
- name: kms-e2e
  context: {cluster: kms-e2e, user: $2, namespace: default}
current-context: kms-e2e
KCFG
  chmod 600 "$state/$1.kubeconfig"
}
for c in admin kube-controller-manager kube-scheduler kubelet kube-proxy; do kubeconfig "$c" "$c"; done

# ---- daemons: each in its own session, its pid recorded for teardown
launch() { # name command...
  local name="$1"; shift
  setsid "$@" >"$logs/$name.log" 2>&1 </dev/null 8>&- &
  echo "$! $name" >>"$state/pids"
}
alive() { # name
  local pid; pid="$(awk -v n="$1" '$2 == n { print $1 }' "$state/pids")"
  kill -0 "$pid" 2>/dev/null || fail "$1 exited (log: $logs/$1.log)"
}
wait_for() { # what seconds daemon command...
  local what="$1" limit="$2" daemon="$3"; shift 3
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    alive "$daemon"
    [ "$SECONDS" -lt "$deadline" ] || fail "$what not within ${limit}s (log: $logs/$daemon.log)"
    sleep 0.5
  done
}
k() { "$kubectl" --kubeconfig "$state/admin.kubeconfig" "$@"; }

say "starting containerd"
# Images unpack onto tmpfs: faster on a busy disk, and teardown unmounts it instead of deleting
# tens of thousands of files.
mkdir -p "$state/containerd/root"
mount -t tmpfs -o size=4g,mode=0700 kms-e2e-containerd "$state/containerd/root"
"$here/containerd-config.sh" "$state" >"$state/containerd.toml"
launch containerd containerd --config "$state/containerd.toml"
ctr=(ctr --address "$state/containerd/containerd.sock" --namespace k8s.io)
wait_for "containerd" 60 containerd "${ctr[@]}" version
say "importing $image and the pause image into containerd"
"${ctr[@]}" images import "$("$here/pause-image.sh")" >/dev/null
"${ctr[@]}" images import "$image_tar" >/dev/null

etcd_data="$(mktemp -d /dev/shm/kms-cluster-etcd.XXXXXX)"
echo "$etcd_data" >"$state/etcd-data"
say "starting etcd, kube-apiserver"
read -r etcd_port etcd_peer_port < <(node -e '
  const net = require("net");
  const servers = [net.createServer(), net.createServer()];
  Promise.all(servers.map((s) => new Promise((ok) => s.listen(0, "127.0.0.1", ok)))).then(() => {
    console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); });')
launch etcd "$etcd_bin" --name kms-e2e --data-dir "$etcd_data" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$etcd_peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer_port" \
  --initial-cluster "kms-e2e=http://127.0.0.1:$etcd_peer_port" --listen-metrics-urls ""
launch kube-apiserver "$(tool KUBE_APISERVER_DIR kube-apiserver)" \
  --bind-address="$CLUSTER_NODE_IP" --advertise-address="$CLUSTER_NODE_IP" --secure-port="$CLUSTER_APISERVER_PORT" \
  --etcd-servers="http://127.0.0.1:$etcd_port" \
  --cert-dir="$state/apiserver-certs" \
  --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" \
  --client-ca-file="$pki/ca.crt" \
  --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP \
  --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc \
  --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
  --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" \
  --allow-privileged=false --profiling=false
wait_for "kube-apiserver /readyz" 120 kube-apiserver k get --raw /readyz

say "starting kube-controller-manager, kube-scheduler, kubelet, kube-proxy"
launch kube-controller-manager "$(tool KUBE_CONTROLLER_MANAGER_DIR kube-controller-manager)" \
  --kubeconfig="$state/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$state/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$state/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$pki/sa.key" --root-ca-file="$pki/ca.crt" \
  --service-cluster-ip-range="$CLUSTER_SERVICE_CIDR" --allocate-node-cidrs=false \
  --controllers='*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route' --profiling=false
launch kube-scheduler "$(tool KUBE_SCHEDULER_DIR kube-scheduler)" \
  --kubeconfig="$state/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$state/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$state/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port=0 --leader-elect=false --profiling=false
"$here/kubelet-config.sh" "$state" >"$state/kubelet.yaml"
mkdir -p "$state/kubelet"
launch kubelet "$(tool KUBELET_DIR kubelet)" --config="$state/kubelet.yaml" \
  --kubeconfig="$state/kubelet.kubeconfig" --root-dir="$state/kubelet" \
  --hostname-override="$CLUSTER_NODE_NAME" --node-ip="$CLUSTER_NODE_IP"
cat >"$state/kube-proxy.yaml" <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$state/kube-proxy.kubeconfig"}
hostnameOverride: $CLUSTER_NODE_NAME
mode: iptables
bindAddress: $CLUSTER_NODE_IP
clusterCIDR: $CLUSTER_POD_CIDR
healthzBindAddress: ""
metricsBindAddress: ""
nodePortAddresses: ["$CLUSTER_NODE_IP/32"]
# Leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
YAML
launch kube-proxy "$(tool KUBE_PROXY_DIR kube-proxy)" --config="$state/kube-proxy.yaml"

wait_for "node $CLUSTER_NODE_NAME Ready" 180 kubelet \
  k wait --for=condition=Ready "node/$CLUSTER_NODE_NAME" --timeout=2s
# Pods need their namespace's default ServiceAccount, which the controller-manager creates.
wait_for "the default ServiceAccount" 60 kube-controller-manager k get serviceaccount default -n default

say "encrypted local volumes (ext4 fscrypt)"
"$here/volumes.sh" create "$state" "${KMS_CLUSTER_VOLUMES:-6}" | k apply -f - >/dev/null

{
  echo "KUBECONFIG=$state/admin.kubeconfig"
  echo "KUBECTL=$kubectl"
  echo "HELM=$helm"
  echo "KMS_CLUSTER_STATE_DIR=$state"
  echo "KMS_CLUSTER_NODE_IP=$CLUSTER_NODE_IP"
  echo "KMS_CLUSTER_NODE_NAME=$CLUSTER_NODE_NAME"
  echo "KMS_CLUSTER_IMAGE=$image"
  echo "KMS_CLUSTER_STORAGE_CLASS=kms-e2e-fscrypt"
  echo "KUBE_PROXY_BIN=$(tool KUBE_PROXY_DIR kube-proxy)"
} >"$state/env"
cat "$state/env"
echo "KMS_CLUSTER_READY=1"
say "ready in $((SECONDS - started)) s (Ctrl-C stops the cluster and restores the host)"

while true; do
  for d in containerd etcd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy; do alive "$d"; done
  if [ -n "${KMS_E2E_WATCH_PID:-}" ] && ! kill -0 "$KMS_E2E_WATCH_PID" 2>/dev/null; then
    say "process $KMS_E2E_WATCH_PID is gone; stopping"; exit 0
  fi
  sleep 1
done
