#!/usr/bin/env bash
# A test CA and certificates for the tests and the compose stack's TLS (openssl, EC P-256: fast).
#
#   scripts/gen-test-certs.sh [--days N] [--client NAME[=SAN]]... OUT_DIR [SERVER_NAME]...
#
# Writes into OUT_DIR (created if missing):
#   ca.crt, ca.key          the CA; reused when both already exist, so running the script again
#                           rotates the leaf certificates (new keys, new serials) under the same CA
#   server.crt, server.key  a server certificate for localhost, 127.0.0.1 and ::1, plus every
#                           SERVER_NAME (an IP address becomes an IP SAN, anything else a DNS SAN)
#   client-NAME.crt/.key    per --client: subject CN=NAME, and the subjectAltName SAN when given in
#                           openssl's syntax, e.g. --client alice=URI:spiffe://fleet/alice,email:a@x.org
# Keys are mode 0600. Not a production PKI: the CA key lies next to the certificates.
set -euo pipefail

usage() {
  sed -n '4p' "$0" | sed 's/^# *//' >&2
  exit 2
}

days=365
clients=()
while [ $# -gt 0 ]; do
  case "$1" in
    --days)
      [ $# -ge 2 ] || usage
      days=$2
      shift 2
      ;;
    --client)
      [ $# -ge 2 ] || usage
      if [[ ! "${2%%=*}" =~ ^[A-Za-z0-9_.@-]+$ ]]; then
        echo "gen-test-certs: --client name must be of A-Z a-z 0-9 _ . @ - (got ${2%%=*})" >&2
        exit 2
      fi
      clients+=("$2")
      shift 2
      ;;
    --help | -h) usage ;;
    --*)
      echo "gen-test-certs: unknown option $1" >&2
      usage
      ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage
out=$1
shift
case "$days" in '' | *[!0-9]*) echo "gen-test-certs: --days takes a whole number (got $days)" >&2 && exit 2 ;; esac

mkdir -p "$out"
umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

serial() { echo "0x$(openssl rand -hex 16)"; }

# newkey FILE: an EC P-256 private key.
newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

# leaf NAME SUBJECT EXTENSIONS: NAME.key and NAME.crt signed by the CA.
leaf() {
  local name=$1 subject=$2 extensions=$3
  newkey "$work/$name.key"
  openssl req -new -key "$work/$name.key" -subj "$subject" -out "$work/$name.csr"
  printf '%s\n' "$extensions" >"$work/$name.ext"
  openssl x509 -req -in "$work/$name.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -set_serial "$(serial)" \
    -days "$days" -sha256 -extfile "$work/$name.ext" -out "$work/$name.crt" 2>/dev/null
  # moved into place whole, so a watcher never reads a half-written pair
  install -m 0644 "$work/$name.crt" "$out/$name.crt.new"
  install -m 0600 "$work/$name.key" "$out/$name.key.new"
  mv -f "$out/$name.key.new" "$out/$name.key"
  mv -f "$out/$name.crt.new" "$out/$name.crt"
}

if [ ! -s "$out/ca.crt" ] || [ ! -s "$out/ca.key" ]; then
  newkey "$out/ca.key"
  openssl req -x509 -new -key "$out/ca.key" -subj "/CN=mcp-fleet test CA $(openssl rand -hex 4)" -days "$((days + 1))" -sha256 \
    -set_serial "$(serial)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" -out "$out/ca.crt"
  chmod 0644 "$out/ca.crt"
fi

sans="DNS:localhost,IP:127.0.0.1,IP:::1"
for name in "$@"; do
  if [[ "$name" =~ ^[0-9.]+$ || "$name" == *:* ]]; then sans="$sans,IP:$name"; else sans="$sans,DNS:$name"; fi
done
leaf server "/CN=${1:-localhost}" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$sans
authorityKeyIdentifier=keyid"

for spec in "${clients[@]}"; do
  cn=${spec%%=*}
  san=
  [ "$cn" = "$spec" ] || san=${spec#*=}
  leaf "client-$cn" "/CN=$cn" "basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth
authorityKeyIdentifier=keyid${san:+
subjectAltName=$san}"
done

echo "gen-test-certs: wrote $out (server SANs $sans${clients[*]:+; clients ${clients[*]}})"
