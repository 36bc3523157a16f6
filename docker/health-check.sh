#!/bin/sh
# HEALTHCHECK of the mcp-fleet images. A container whose main process is mcp-stdio-wrapper.sh (a
# stdio server the gateway attaches to) is healthy while that wrapper runs; otherwise the HTTP
# listener must answer GET /health/liveness with 200 (MCP_HEALTH_URL overrides the address).
# Uses busybox/Debian wget when present, else node (node:24-slim ships no wget or curl). An https
# URL always goes through node, which verifies the listener's certificate against MCP_HEALTH_CA
# (a CA file; busybox wget would not verify it at all).
url=${MCP_HEALTH_URL:-http://127.0.0.1:8080/health/liveness}
pidfile=${TMPDIR:-/tmp}/mcp-stdio-wrapper.pid

if [ -s "$pidfile" ]; then
  kill -0 "$(cat "$pidfile")" 2>/dev/null
  exit
fi
case "$url" in
  https:*)
    if [ -n "${MCP_HEALTH_CA:-}" ]; then export NODE_EXTRA_CA_CERTS="$MCP_HEALTH_CA"; fi
    ;;
  *)
    if command -v wget >/dev/null 2>&1; then
      # timeout(1), not wget -T: Debian's busybox-static 1.35 wget crashes on -T.
      exec timeout 3 wget -q -O /dev/null "$url"
    fi
    ;;
esac
exec node -e '
  fetch(process.argv[1], { signal: AbortSignal.timeout(3000) })
    .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));
' "$url"
