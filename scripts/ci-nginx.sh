#!/usr/bin/env bash
# Installs nginx from Debian (nginx-light: the http, ssl and proxy modules the tests use) unless an
# nginx is on PATH. The tests run their own nginx on a free port with a temp prefix
# (test/helpers/nginx.ts); if the package's install started the distribution's service, it is
# stopped again, so nothing listens on port 80 because of this script.
set -euo pipefail
if command -v nginx >/dev/null 2>&1; then
  exit 0
fi
echo "ci-nginx: installing nginx-light"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null
if [ -s /run/nginx.pid ] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
  nginx -s quit || true
fi
echo "ci-nginx: $(nginx -v 2>&1)"
