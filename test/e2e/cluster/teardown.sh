#!/usr/bin/env bash
# Stops a cluster run and puts the host back as host-state.sh recorded it. start-cluster.sh calls it
# on exit; by hand it cleans up after a run that was killed: teardown.sh /tmp/kms-cluster.XXXXXX
# Order: the kubelet first (so it restarts nothing), then the pods' processes and their shims,
# the control plane, containerd; then mounts, volumes, the bridge, kube-proxy's rules, and the
# recorded iptables rules, sysctls, cgroups and runtime directories. Ends with host-state.sh check:
# exit 0 only if the host matches the record.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
state="${1:?usage: teardown.sh <state-dir>}"
[ -d "$state" ] || { echo "teardown: no state dir $state" >&2; exit 1; }
say() { echo "teardown: $*" >&2; }

pid_of() { if [ -f "$state/pids" ]; then awk -v n="$1" '$2 == n { print $1 }' "$state/pids"; fi; }
# SIGTERM to each named daemon at once, then up to 10 s for all of them, then SIGKILL.
stop() { # names...
  local pids=() name pid i
  for name in "$@"; do pid="$(pid_of "$name")"; if [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; then pids+=("$pid"); fi; done
  for i in $(seq 1 40); do
    local alive=0
    for pid in ${pids[@]+"${pids[@]}"}; do if kill -0 "$pid" 2>/dev/null; then alive=1; fi; done
    [ "$alive" = 0 ] && return 0
    sleep 0.25
  done
  for pid in ${pids[@]+"${pids[@]}"}; do kill -KILL "$pid" 2>/dev/null; done
  sleep 0.2
}

started=$SECONDS
stop kubelet
# Every process in a pod: the kubelet's cgroups hold them all.
for procs in /sys/fs/cgroup/pids/kubepods /sys/fs/cgroup/memory/kubepods; do
  [ -d "$procs" ] || continue
  find "$procs" -name cgroup.procs -exec cat {} + 2>/dev/null | xargs -r kill -KILL 2>/dev/null
done
# The runc shims of this run's containerd: their command line has its socket as one argument.
sock="$state/containerd/containerd.sock"
grep -lzxF -- "$sock" /proc/[0-9]*/cmdline 2>/dev/null | sed 's#^/proc/\([0-9]*\)/cmdline$#\1#' | xargs -r kill -KILL 2>/dev/null
stop kube-proxy kube-scheduler kube-controller-manager kube-apiserver
stop etcd containerd
say "processes stopped after $((SECONDS - started)) s"
proxy_bin="$(sed -n 's/^KUBE_PROXY_BIN=//p' "$state/env" 2>/dev/null)"
[ -n "$proxy_bin" ] && "$proxy_bin" --cleanup >/dev/null 2>&1

# Mounts this run made: pod volumes and rootfs under the state dir, sandbox network namespaces.
unmount_under() { # prefix
  awk '{ print $5 }' /proc/self/mountinfo | grep "^$1" | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
  done
}
unmount_under "$state/kubelet"
unmount_under "$state/containerd"
comm -13 <(grep '^/run/netns/\|^/var/run/netns/' "$state/host/mounts" 2>/dev/null) \
  <(awk '{ print $5 }' /proc/self/mountinfo | grep '^/run/netns/\|^/var/run/netns/' | sort) \
  | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m"; rm -f "$m"; done
"$here/volumes.sh" destroy "$state"
say "unmounted after $((SECONDS - started)) s"
unmount_under "$state/"

if [ -s "$state/bridge" ]; then
  ip link del "$(cat "$state/bridge")" 2>/dev/null
fi
[ -d "$state/host" ] && "$here/host-state.sh" restore "$state"
say "host settings restored after $((SECONDS - started)) s"
[ -s "$state/etcd-data" ] && rm -rf "$(cat "$state/etcd-data")"

status=0
if [ -d "$state/host" ]; then
  "$here/host-state.sh" check "$state" || status=1
fi
if [ "${KMS_E2E_KEEP:-}" = 1 ]; then say "kept $state"; else rm -rf "$state"; fi
if [ "$status" = 0 ]; then say "host restored in $((SECONDS - started)) s"; else say "the host differs from before the run (see above)"; fi
exit "$status"
