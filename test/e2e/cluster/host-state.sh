#!/usr/bin/env bash
# What the cluster run changes on the host, recorded before it starts and compared after teardown:
# iptables rules (v4 and v6), the sysctls the kubelet, kube-proxy and the CNI plugin set, the
# top-level cgroups, mounts, network interfaces, and the runtime directories containerd and CNI
# create outside their configured roots.
#   host-state.sh save <state-dir>      writes <state-dir>/host/
#   host-state.sh restore <state-dir>   puts the iptables rules, sysctls and directories back
#   host-state.sh check <state-dir>     exit 0 if the host matches the record, else lists each difference
set -uo pipefail
mode="${1:-}" state="${2:-}"
[ -n "$state" ] || { echo "usage: host-state.sh save|restore|check <state-dir>" >&2; exit 2; }
rec="$state/host"

SYSCTLS="net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables
  net.bridge.bridge-nf-call-ip6tables vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.netfilter.nf_conntrack_max
  net.netfilter.nf_conntrack_tcp_timeout_established net.netfilter.nf_conntrack_tcp_timeout_close_wait
  net.ipv4.conf.default.forwarding net.ipv6.conf.all.forwarding"
RUNTIME_DIRS="/run/containerd /var/lib/cni /run/netns /var/run/netns /var/lib/kubelet /etc/cni /opt/cni /run/kubernetes
  /var/log/pods /var/log/containers /var/lib/containerd /etc/kubernetes"

rules() { # the rule set without counters or comments iptables-save adds
  "$1" -w -S 2>/dev/null | sort
  for t in nat mangle raw; do "$1" -w -t "$t" -S 2>/dev/null | sed "s/^/$t: /" | sort; done
}
sysctls() { local k; for k in $SYSCTLS; do printf '%s=%s\n' "$k" "$(sysctl -n "$k" 2>/dev/null || echo absent)"; done; }
cgroups() { find /sys/fs/cgroup -mindepth 2 -maxdepth 2 -type d 2>/dev/null | sort; }
mounts() { awk '{ print $5 }' /proc/self/mountinfo | sort; }
links() { ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' | sort; }
dirs() { local d; for d in $RUNTIME_DIRS; do if [ -e "$d" ]; then echo "$d"; fi; done; }

TABLES="filter nat mangle raw"
# iptables-restore input that puts back one tool's tables as `-S` listed them: each listed table is
# flushed and its own chains deleted first, so chains and rules added since then go.
restore_input() { # tool
  local t
  for t in $TABLES; do
    echo "*$t"
    awk '$1 == "-P" { print ":" $2 " " $3 " [0:0]" } $1 == "-N" { print ":" $2 " - [0:0]" } $1 == "-A" { print }' "$rec/$1.$t"
    echo "COMMIT"
  done
}

snapshot() { # dir
  mkdir -p "$1"
  local tool t
  for tool in iptables ip6tables; do
    for t in $TABLES; do "$tool" -w -t "$t" -S >"$1/$tool.$t" 2>/dev/null; done
  done
  rules iptables >"$1/rules.v4"; rules ip6tables >"$1/rules.v6"
  sysctls >"$1/sysctls"; cgroups >"$1/cgroups"; mounts >"$1/mounts"; links >"$1/links"; dirs >"$1/dirs"
}

case "$mode" in
  save) snapshot "$rec"; exit 0 ;;
  restore)
    [ -d "$rec" ] || { echo "host-state: nothing recorded in $rec" >&2; exit 1; }
    restore_input iptables | iptables-restore -w || echo "host-state: iptables-restore failed" >&2
    restore_input ip6tables | ip6tables-restore -w || echo "host-state: ip6tables-restore failed" >&2
    while IFS='=' read -r key value; do
      [ "$value" = absent ] && continue
      [ "$(sysctl -n "$key" 2>/dev/null)" = "$value" ] || sysctl -qw "$key=$value" >/dev/null 2>&1
    done <"$rec/sysctls"
    # Cgroups the kubelet and runc made: leaves first (a cgroup is removed once it has no children).
    comm -13 "$rec/cgroups" <(cgroups) | while read -r top; do
      find "$top" -depth -type d -delete 2>/dev/null
    done
    for d in $RUNTIME_DIRS; do
      grep -qx "$d" "$rec/dirs" && continue
      [ -e "$d" ] || continue
      awk '{ print $5 }' /proc/self/mountinfo | grep "^$d/" | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
      rm -rf "$d"
    done
    exit 0 ;;
  check)
    now="$(mktemp -d)"; snapshot "$now"; differ=0
    for f in rules.v4 rules.v6 sysctls cgroups mounts links dirs; do
      if ! diff -q "$rec/$f" "$now/$f" >/dev/null; then
        differ=1; echo "host-state: $f differs from before the run (< before, > now):" >&2
        diff "$rec/$f" "$now/$f" | grep '^[<>]' | head -n 20 >&2
      fi
    done
    rm -rf "$now"; exit "$differ" ;;
  *) echo "usage: host-state.sh save|restore|check <state-dir>" >&2; exit 2 ;;
esac
