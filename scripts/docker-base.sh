#!/usr/bin/env bash
# Makes the offline base image mcp-fleet/node-base:local from the host's own Node runtime, for
# machines that cannot pull node:24-slim. It holds node (debug info stripped), the shared libraries
# ldd names for node and for the native addons under node_modules (Temporal's core bridge needs
# librt, which node does not), a static busybox as /bin/sh and the usual tools, and passwd/group
# entries for root, node (1000) and mcp (10001). `docker import` needs no registry. It is rebuilt
# only when missing, or when the host's Node version or that set of libraries differs from the one
# inside (NODE_VERSION and MCP_FLEET_BASE_LIBS in the image).
# Usage: scripts/docker-base.sh [--force]   (prints the image name on stdout)
set -euo pipefail
cd "$(dirname "$0")/.."

image=${MCP_FLEET_OFFLINE_BASE:-mcp-fleet/node-base:local}
node_bin=$(readlink -f "$(command -v node)")
node_version=$(node -p 'process.versions.node')
busybox=${BUSYBOX:-/bin/busybox}

log() { printf 'docker-base: %s\n' "$*" >&2; }

# The dynamic loader and every library that node or a native addon for this platform links, as
# ldd reports them (addons for other platforms are not dynamic executables here and list nothing).
addons=()
while IFS= read -r addon; do addons+=("$addon"); done < <(find -L node_modules -name '*.node' -type f 2>/dev/null)
libs=$(for elf in "$node_bin" "${addons[@]}"; do
  ldd "$elf" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'
done | sort -u)
libs_key=$(for lib in $libs; do basename "$lib"; done | paste -sd, -)

if [ "${1:-}" != "--force" ]; then
  have=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" 2>/dev/null || true)
  if [ "$(sed -n 's/^NODE_VERSION=//p' <<<"$have")" = "$node_version" ] && [ "$(sed -n 's/^MCP_FLEET_BASE_LIBS=//p' <<<"$have")" = "$libs_key" ]; then
    echo "$image"
    exit 0
  fi
fi

is_static_busybox() {
  "$busybox" true 2>/dev/null || return 1
  case "$(ldd "$busybox" 2>&1)" in *'not a dynamic executable'*) return 0 ;; *) return 1 ;; esac
}
if ! is_static_busybox; then
  log "a static busybox is needed at $busybox: installing Debian's busybox-static"
  apt-get install -y busybox-static >&2 || { apt-get update >&2 && apt-get install -y busybox-static >&2; } || true
  if ! is_static_busybox; then
    log "cannot install busybox-static (got no static busybox at $busybox); install it, or set BUSYBOX=/path/to/static/busybox"
    exit 1
  fi
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,etc,root,tmp,home/node,usr/bin,usr/local/bin,usr/sbin,var/tmp}
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

# node, smaller without its debug info (about 126 MB -> 100 MB); a plain copy when strip is absent
if command -v strip >/dev/null; then
  strip --strip-debug -o "$root/usr/local/bin/node" "$node_bin"
else
  cp "$node_bin" "$root/usr/local/bin/node"
fi
for lib in $libs; do
  cp --parents -L "$lib" "$root"
done

cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
  case "$applet" in busybox | '[[' ) continue ;; esac
  [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
ln -s /bin/busybox "$root/usr/bin/env"

cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000::/home/node:/bin/sh
mcp:x:10001:10001:mcp-fleet:/tmp:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
PASSWD
cat >"$root/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
mcp:x:10001:
nogroup:x:65534:
GROUP
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
chown -R 1000:1000 "$root/home/node"

log "importing $image (node $node_version from $node_bin)"
tar -C "$root" --numeric-owner -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=$node_version" \
  --change "ENV MCP_FLEET_BASE_LIBS=$libs_key" \
  --change 'CMD ["node"]' \
  --message "mcp-fleet offline base: node $node_version and busybox from the build host" \
  - "$image" >/dev/null
echo "$image"
