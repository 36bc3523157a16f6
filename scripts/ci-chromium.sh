#!/usr/bin/env bash
# Installs Debian's Chromium unless present, for the status page's test (test/gateway/status-page.test.ts
# drives it headless with playwright-core; no browser is downloaded).
set -euo pipefail
if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then
  exit 0
fi
echo "ci-chromium: installing chromium"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
echo "ci-chromium: $(/usr/lib/chromium/chromium --version 2>&1 | head -1)"
