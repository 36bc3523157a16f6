#!/usr/bin/env bash
# Installs what the load-balancer tests run for real, from Debian, unless on PATH: haproxy (in front
# of gateway replicas, haproxy/mcp-lb.cfg) and redis-server (the store replicas share sessions in).
# The tests start their own processes on free loopback ports (test/helpers/load-balancers.ts,
# test/helpers/redis.ts); any service the packages' install scripts started is stopped again.
set -euo pipefail
missing=()
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ci-lb: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
pkill -x haproxy 2>/dev/null || true
pkill -x redis-server 2>/dev/null || true
echo "ci-lb: $(haproxy -v | head -1); $(redis-server --version)"
