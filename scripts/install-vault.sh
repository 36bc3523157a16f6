#!/usr/bin/env bash
# Builds a Vault-API server for the secrets tests into .cache/bin/vault (gitignored), from the Go
# module proxy: no release binaries can be downloaded here. OpenBao (the open-source fork, the first
# choice) is refused by the proxy for every version; HashiCorp Vault's module is served.
# Its go.mod replaces its api/ and sdk/ modules with subfolders that the module zip leaves out, so
# the build drops those replaces and uses the published api and sdk versions its go.mod requires.
# v1.21.0, not a later patch release: v1.21.4's own sdk/ matches no published sdk version (its
# build fails on signatures that differ), while v1.21.0 builds with the sdk v0.20.0 it names.
# Measured on the shared 2-core machine under load: about an hour from a cold Go build cache, 20
# minutes with most packages cached; a second run finds the binary and returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION="${VAULT_MODULE_VERSION:-v1.21.0}"
BIN=".cache/bin/vault"
if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -q "Vault ${VERSION}"; then
  echo "vault ${VERSION} already built: $BIN"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "install-vault: go is not on PATH" >&2; exit 1; }
go mod download "github.com/hashicorp/vault@${VERSION}"
SRC="$(go env GOMODCACHE)/github.com/hashicorp/vault@${VERSION}"
# a copy outside the repository (the module cache is read-only, and the linters must not see it)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vault-src.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
mkdir -p .cache/bin
cp -r "$SRC/." "$WORK/"
chmod -R u+w "$WORK"
OUT="$PWD/$BIN"
(
  cd "$WORK"
  for m in api api/auth/approle api/auth/kubernetes api/auth/userpass sdk; do
    go mod edit -dropreplace "github.com/hashicorp/vault/$m"
  done
  GOFLAGS=-mod=mod go build -trimpath -o "$OUT.partial" .
)
mv "$OUT.partial" "$OUT"
"$BIN" version
