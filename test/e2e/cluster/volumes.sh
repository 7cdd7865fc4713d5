#!/usr/bin/env bash
# Encrypted local volumes for the cluster: one ext4 filesystem with native encryption (fscrypt
# v2, AES-256-XTS contents, AES-256-CTS names) on a loop file, and per PersistentVolume one
# directory under its own random 64-byte key. dm-crypt is not available on this kernel; fscrypt
# encrypts file contents and names below the directory, which is what the volume holds.
#   volumes.sh create <state-dir> <count>   makes them; prints the StorageClass and PV manifests
#   volumes.sh lock <state-dir> <pv-name>   removes the volume's key from the kernel
#   volumes.sh unlock <state-dir> <pv-name> adds it again
#   volumes.sh destroy <state-dir>          unmounts, detaches the loop device, deletes the file
# Keys live in <state-dir>/volume-keys (0600), never in the cluster.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=test/e2e/cluster/network.env
source "$here/network.env"
mode="${1:-}" state="${2:-}"
fail() { echo "volumes: error: $*" >&2; exit 1; }
[ -n "$state" ] || fail "usage: volumes.sh create|lock|unlock|destroy <state-dir> [count|pv-name]"
mnt="$state/volumes" keys="$state/volume-keys" image="$state/volumes.img"
fscrypt() { python3 "$here/fscrypt.py" "$@"; }

case "$mode" in
  create)
    count="${3:?count}"
    mkdir -p "$mnt"; mkdir -m 700 "$keys"
    truncate -s 1G "$image"
    mkfs.ext4 -q -O encrypt -L kms-e2e-volumes "$image" || fail "mkfs.ext4 -O encrypt failed"
    loop="$(losetup --find --show "$image")" || fail "no free loop device"
    echo "$loop" >"$state/volumes.loop"
    mount "$loop" "$mnt" || fail "cannot mount $loop on $mnt"
    cat <<YAML
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: kms-e2e-fscrypt
  annotations:
    kms-e2e/encryption: "ext4 fscrypt v2 (AES-256-XTS contents, AES-256-CTS names), one key per volume"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
YAML
    for i in $(seq 1 "$count"); do
      name="kms-e2e-pv-$i"
      head -c 64 /dev/urandom >"$keys/$name.key"; chmod 600 "$keys/$name.key"
      id="$(fscrypt add-key "$mnt" "$keys/$name.key")"
      echo "$id" >"$keys/$name.id"
      mkdir "$mnt/$name"
      fscrypt set-policy "$mnt/$name" "$id"
      [ "$(fscrypt status "$mnt/$name")" = encrypted ] || fail "$mnt/$name is not encrypted"
      cat <<YAML
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $name
  annotations:
    kms-e2e/fscrypt-key-identifier: "$id"
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: kms-e2e-fscrypt
  local: {path: "$mnt/$name"}
  nodeAffinity:
    required:
      nodeSelectorTerms:
        - matchExpressions:
            - {key: kubernetes.io/hostname, operator: In, values: [$CLUSTER_NODE_NAME]}
YAML
    done ;;
  lock)
    name="${3:?pv-name}"
    sync
    fscrypt remove-key "$mnt" "$(cat "$keys/$name.id")" ;;
  unlock)
    name="${3:?pv-name}"
    fscrypt add-key "$mnt" "$keys/$name.key" >/dev/null ;;
  destroy)
    if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt"; fi
    [ -s "$state/volumes.loop" ] && losetup -d "$(cat "$state/volumes.loop")" 2>/dev/null
    rm -f "$image" "$state/volumes.loop"; rm -rf "$keys"
    true ;;
  *) fail "unknown mode '$mode' (create, lock, unlock or destroy)" ;;
esac
