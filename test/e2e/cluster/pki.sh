#!/usr/bin/env bash
# Throwaway certificates for the single-node cluster (openssl, EC P-256, valid 2 days):
# a CA; serving certs for the apiserver and the kubelet; one client identity per component, named
# as the default RBAC policy expects; the service-account signing key.
#   pki.sh <dir> <node-ip> <kubernetes-service-ip> <node-name>
set -euo pipefail
dir="$1" node_ip="$2" service_ip="$3" node_name="$4"
fail() { echo "pki: error: $*" >&2; exit 1; }

gen_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
sign() { # name subject extensions
  gen_key "$dir/$1.key"
  openssl req -new -key "$dir/$1.key" -subj "$2" -out "$dir/$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$dir/$1.ext"
  openssl x509 -req -in "$dir/$1.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 2 -extfile "$dir/$1.ext" -out "$dir/$1.crt" 2>/dev/null || fail "cannot sign $1"
  rm -f "$dir/$1.csr" "$dir/$1.ext"
}
client() { sign "$1" "$2" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"; }

gen_key "$dir/ca.key"
openssl req -x509 -new -key "$dir/ca.key" -subj "/CN=kms-node-e2e-cluster-ca" -days 2 \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -out "$dir/ca.crt" 2>/dev/null || fail "cannot create the CA"
sign apiserver "/CN=kube-apiserver" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$node_ip,IP:$service_ip,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
sign kubelet-serving "/CN=$node_name" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:$node_ip,DNS:$node_name"
client admin "/O=system:masters/CN=kms-node-e2e-admin"
client apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client"
client kube-controller-manager "/CN=system:kube-controller-manager"
client kube-scheduler "/CN=system:kube-scheduler"
client kubelet "/O=system:nodes/CN=system:node:$node_name"
client kube-proxy "/CN=system:kube-proxy"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$dir/sa.key" 2>/dev/null || fail "cannot create the service-account key"
openssl pkey -in "$dir/sa.key" -pubout -out "$dir/sa.pub" 2>/dev/null
chmod 600 "$dir"/*.key
