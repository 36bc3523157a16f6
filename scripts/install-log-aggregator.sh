#!/usr/bin/env bash
# Builds the log aggregator the log-aggregation test and `npm run bench:logs` run into
# .cache/bin/log-aggregator (gitignored): an OpenTelemetry Collector with only a fluent forward
# receiver, the batch processor and a file exporter (scripts/log-aggregator/main.go), from the Go
# module proxy. It stands in for fluentd, which cannot be installed here (no Debian package, no Ruby or gem
# registry); the forward protocol it receives is the one Docker's fluentd logging driver sends.
# Versions are pinned by scripts/log-aggregator/go.mod and go.sum (contrib v0.139.0, core v1.45.0:
# the ones Jaeger v1.75.0 uses, so scripts/install-jaeger.sh and this share the module cache).
# Idempotent: rebuilt only when go.mod, go.sum or main.go change.
set -euo pipefail
cd "$(dirname "$0")/.."

SRC="scripts/log-aggregator"
BIN=".cache/bin/log-aggregator"
STAMP="$BIN.version"
VERSION=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$VERSION" ]; then
  echo "log-aggregator ${VERSION} already built: $BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-log-aggregator: go is not on PATH" >&2; exit 1; }
mkdir -p .cache/bin
OUT="$PWD/$BIN"
(cd "$SRC" && go build -trimpath -o "$OUT.partial" .)
mv "$OUT.partial" "$OUT"
echo "$VERSION" >"$STAMP"
echo "log-aggregator ${VERSION} built: $BIN"
