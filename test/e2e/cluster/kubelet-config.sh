#!/usr/bin/env bash
# KubeletConfiguration for the cluster run (prints YAML). cgroupfs and failCgroupV1=false: this
# kernel runs cgroup v1 without systemd. No cluster DNS: pods use the host's resolver settings.
# Eviction and image GC thresholds are out of the way, so a busy shared disk evicts no test pod.
#   kubelet-config.sh <state-dir>
set -euo pipefail
state="$1"
# shellcheck source=test/e2e/cluster/network.env
source "$(dirname "$0")/network.env"
cat <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $CLUSTER_NODE_IP
port: 10250
readOnlyPort: 0
healthzPort: 0
tlsCertFile: $state/pki/kubelet-serving.crt
tlsPrivateKeyFile: $state/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $state/pki/ca.crt}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$state/containerd/containerd.sock
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
podCIDR: $CLUSTER_POD_CIDR
resolvConf: /etc/resolv.conf
clusterDomain: cluster.local
maxPods: 40
rotateCertificates: false
serverTLSBootstrap: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
volumePluginDir: $state/kubelet-plugins
registerNode: true
YAML
