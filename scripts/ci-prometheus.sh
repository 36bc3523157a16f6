#!/usr/bin/env bash
# Installs Prometheus with promtool from Debian unless on PATH, for the tests of prometheus/
# (promtool check config / check rules / test rules, and a real Prometheus scraping a gateway).
# The tests start their own Prometheus on a free loopback port; the one the package's install
# scripts may have started is stopped again.
set -euo pipefail
if command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1; then
  exit 0
fi
echo "ci-prometheus: installing prometheus"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
pkill -x prometheus 2>/dev/null || true
echo "ci-prometheus: $(prometheus --version 2>&1 | head -1)"
