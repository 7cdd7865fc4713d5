#!/usr/bin/env bash
# containerd 1.6 configuration for the cluster run, all state under <state-dir>/containerd.
# restrict_oom_score_adj: without CAP_SYS_RESOURCE runc cannot set the negative oom_score_adj the
# kubelet asks for, and every sandbox fails with "can't get final child's PID from pipe: EOF".
#   containerd-config.sh <state-dir>     prints the TOML
set -euo pipefail
state="$1"
# shellcheck source=test/e2e/cluster/network.env
source "$(dirname "$0")/network.env"
mkdir -p "$state/containerd" "$state/cni/net.d" "$state/cni/ipam"
cat >"$state/cni/net.d/10-kms-e2e.conflist" <<JSON
{
  "cniVersion": "1.0.0",
  "name": "kms-e2e",
  "plugins": [{
    "type": "bridge", "bridge": "$CLUSTER_BRIDGE", "isGateway": true, "ipMasq": false, "hairpinMode": true,
    "ipam": {
      "type": "host-local", "dataDir": "$state/cni/ipam",
      "ranges": [[{ "subnet": "$CLUSTER_POD_CIDR", "rangeStart": "$CLUSTER_POD_RANGE_START",
                    "rangeEnd": "$CLUSTER_POD_RANGE_END", "gateway": "$CLUSTER_NODE_IP" }]],
      "routes": [{ "dst": "0.0.0.0/0" }]
    }
  }]
}
JSON
cat <<TOML
version = 2
root = "$state/containerd/root"
state = "$state/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$state/containerd/containerd.sock"
[ttrpc]
  address = "$state/containerd/containerd.sock.ttrpc"
[plugins."io.containerd.grpc.v1.cri"]
  # pause-image.sh builds it; it is imported before the first pod.
  sandbox_image = "kms-e2e.local/pause:1"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$state/cni/net.d"
TOML
