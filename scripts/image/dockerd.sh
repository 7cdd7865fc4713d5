# shellcheck shell=bash
# A private Docker engine (Debian docker.io) for one script run: its own socket, data root
# and exec root, no iptables rules, no bridge, no IP forwarding, so the host's network is
# left as it was. Builds use the host network (RUN steps reach the apt mirror and npm).
#   source dockerd.sh; dockerd_start <data-root> <run-dir>; docker_cli ...; dockerd_stop
# The data root is a cache: layers survive between runs, so a warm build is fast.

dockerd_pid=""
dockerd_run=""

dockerd_start() {
  local data_root="$1" run_dir="$2"
  command -v dockerd >/dev/null || { echo "image: error: dockerd is missing: apt-get install docker.io" >&2; return 1; }
  mkdir -p "$data_root" "$run_dir"
  dockerd_run="$run_dir"
  export DOCKER_HOST="unix://$run_dir/docker.sock"
  dockerd --host "$DOCKER_HOST" --data-root "$data_root" --exec-root "$run_dir/exec" \
    --pidfile "$run_dir/docker.pid" --iptables=false --ip-forward=false --ip-masq=false \
    --bridge=none --userland-proxy=false --log-level=warn >"$run_dir/dockerd.log" 2>&1 &
  dockerd_pid=$!
  local i
  for i in $(seq 1 120); do
    if docker_cli version >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  tail -n 20 "$run_dir/dockerd.log" >&2
  echo "image: error: the private dockerd did not start (log: $run_dir/dockerd.log)" >&2
  return 1
}

# The Debian CLI matches the Debian engine (a newer CLI on PATH may want buildx).
docker_cli() {
  local cli=/usr/bin/docker
  [ -x "$cli" ] || cli=docker
  DOCKER_BUILDKIT=0 "$cli" "$@"
}

dockerd_stop() {
  [ -n "$dockerd_pid" ] || return 0
  kill "$dockerd_pid" 2>/dev/null
  local i
  for i in $(seq 1 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
  kill -9 "$dockerd_pid" 2>/dev/null
  wait "$dockerd_pid" 2>/dev/null
  dockerd_pid=""
  # The engine unmounts its layers on a clean stop; anything left under the exec root goes too.
  if [ -n "$dockerd_run" ]; then
    grep -o " $dockerd_run[^ ]*" /proc/mounts | sort -r | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$dockerd_run"
  fi
  return 0
}
