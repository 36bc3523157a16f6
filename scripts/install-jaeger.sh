#!/usr/bin/env bash
# Builds Jaeger (v2: an OpenTelemetry Collector distribution with an OTLP receiver, in-memory
# storage and the query HTTP API) into .cache/bin/jaeger (gitignored), from the Go module proxy:
# no release binaries or container images can be downloaded here. The tracing tests export the
# gateway's spans to it over OTLP/HTTP and read them back through its query API.
# v1.75.0 (the module version of Jaeger v2.12), not a later one: newer versions are served but are
# not approved releases here. Built as a tool of a throwaway module, as `go install` refuses a
# module whose go.mod has replace directives.
# Measured time: see docs/benchmarks.md (the first build compiles the collector's dependency tree).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${JAEGER_MODULE_VERSION:-v1.75.0}"
BIN=".cache/bin/jaeger"
STAMP="$BIN.version"
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "jaeger ${VERSION} already built: $BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-jaeger: go is not on PATH" >&2; exit 1; }
# a module outside the repository, so the linters and the Go tooling of the repository never see it
WORK=$(mktemp -d "${TMPDIR:-/tmp}/jaeger-build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p .cache/bin
OUT="$PWD/$BIN"
(
  cd "$WORK"
  go mod init mcp-fleet/jaeger-build >/dev/null 2>&1
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@${VERSION}"
  go build -trimpath -o "$OUT.partial" github.com/jaegertracing/jaeger/cmd/jaeger
)
mv "$OUT.partial" "$OUT"
echo "$VERSION" >"$STAMP"
"$BIN" version 2>/dev/null | head -3 || true
echo "jaeger ${VERSION} built: $BIN"
