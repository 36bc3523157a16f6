#!/bin/sh
# secrets-init.sh: gives a container its secrets as files at start, then execs the real command.
#
#   secrets-init.sh COMMAND [ARGS...]
#
# Sources, read once at start:
# - NAME_FILE=/path (other than VAULT_TOKEN_FILE): the file's contents (a compose or swarm secret, or a file the mcp-fleet
#   gateway mounted for a docker server's secret env entry) become $SECRETS_DIR/NAME.
# - NAME_VAULT=MOUNT/PATH#FIELD: FIELD of the HashiCorp Vault (or OpenBao) KV v2 secret at
#   MOUNT/PATH becomes $SECRETS_DIR/NAME, read with curl from VAULT_ADDR with the token in the file
#   VAULT_TOKEN_FILE (the token goes to curl in a header file, never on a command line); jq or
#   node extracts the field. VAULT_CACERT names a CA bundle, VAULT_NAMESPACE a namespace.
# Each file is written with mode 0400 into SECRETS_DIR (default /run/app-secrets, exported to the
# command), which must be a
# tmpfs (docker run --tmpfs /run/app-secrets, compose `tmpfs:`) so no secret touches a disk; set
# SECRETS_INIT_ALLOW_DISK=1 to accept another file system. With SECRETS_INIT_EXPORT=1 each NAME is
# also exported to the command's environment, for programs that read only variables (the value is
# then in the process environment inside the container, still not in `docker inspect`).
# A source that cannot be read stops the container (exit 78) with a message naming it, never the value.
set -eu

dir=${SECRETS_DIR:-/run/app-secrets}
# the command learns where its secrets are
export SECRETS_DIR="$dir"

say() { printf 'secrets-init: %s\n' "$*" >&2; }
fail() {
  say "$*"
  exit 78
}

[ "$#" -gt 0 ] || fail "usage: secrets-init.sh COMMAND [ARGS...]"
umask 077

[ -d "$dir" ] || fail "SECRETS_DIR ${dir} does not exist (mount a tmpfs there)"
fstype=$(awk -v d="$dir" '$2 == d { t = $3 } END { print t }' /proc/mounts)
if [ "$fstype" != tmpfs ] && [ "${SECRETS_INIT_ALLOW_DISK:-}" != 1 ]; then
  fail "SECRETS_DIR ${dir} is not a tmpfs (it is ${fstype:-on the file system of its parent}); mount one there, or set SECRETS_INIT_ALLOW_DISK=1"
fi

# Writes stdin to $dir/$1 with mode 0400, replacing an older copy.
store() {
  rm -f "$dir/$1"
  cat >"$dir/$1"
  chmod 0400 "$dir/$1"
}

# Exports $dir/$1 as the variable $1 when asked to (in this shell: not in a pipeline's subshell).
offer() {
  if [ "${SECRETS_INIT_EXPORT:-}" = 1 ]; then
    value=$(cat "$dir/$1")
    export "$1=$value"
  fi
  count=$((count + 1))
}

names() {
  env | sed -n "s/^\\([A-Za-z_][A-Za-z0-9_]*\\)_$1=.*/\\1/p" | sort -u
}

count=0
for name in $(names FILE); do
  # VAULT_TOKEN_FILE is this script's own credential for NAME_VAULT, not a secret for the command
  [ "$name" != VAULT_TOKEN ] || continue
  eval "file=\${${name}_FILE}"
  # shellcheck disable=SC2154  # set by the eval above
  [ -r "$file" ] || fail "${name}_FILE names ${file}, which is missing or not readable by uid $(id -u)"
  store "$name" <"$file"
  offer "$name"
done

vault_field() {
  if command -v jq >/dev/null 2>&1; then
    jq -ej --arg f "$1" '.data.data[$f] | strings'
  elif command -v node >/dev/null 2>&1; then
    node -e 'let t="";process.stdin.on("data",c=>t+=c).on("end",()=>{const v=JSON.parse(t)?.data?.data?.[process.argv[1]];if(typeof v!=="string")process.exit(1);process.stdout.write(v)})' "$1"
  fi
}

vault_names=$(names VAULT)
if [ -n "$vault_names" ]; then
  [ -n "${VAULT_ADDR:-}" ] || fail "NAME_VAULT needs VAULT_ADDR"
  [ -n "${VAULT_TOKEN_FILE:-}" ] || fail "NAME_VAULT needs VAULT_TOKEN_FILE"
  command -v curl >/dev/null 2>&1 || fail "reading Vault needs curl in the image"
  command -v jq >/dev/null 2>&1 || command -v node >/dev/null 2>&1 || fail "reading Vault needs jq or node in the image"
  [ -r "$VAULT_TOKEN_FILE" ] || fail "VAULT_TOKEN_FILE ${VAULT_TOKEN_FILE} is missing or not readable by uid $(id -u)"
  headers="$dir/.vault-headers"
  {
    printf 'X-Vault-Token: %s\n' "$(cat "$VAULT_TOKEN_FILE")"
    [ -z "${VAULT_NAMESPACE:-}" ] || printf 'X-Vault-Namespace: %s\n' "$VAULT_NAMESPACE"
  } >"$headers"
  for name in $vault_names; do
    eval "ref=\${${name}_VAULT}"
    # shellcheck disable=SC2154  # set by the eval above
    case "$ref" in
      */*'#'?*) ;;
      *) fail "${name}_VAULT is ${ref}; expected MOUNT/PATH#FIELD" ;;
    esac
    where=${ref%%#*}
    field=${ref#*#}
    mount=${where%%/*}
    path=${where#*/}
    if ! answer=$(curl -sS --fail --max-time 10 ${VAULT_CACERT:+--cacert "$VAULT_CACERT"} -H "@$headers" "${VAULT_ADDR%/}/v1/${mount}/data/${path}" 2>&1); then
      rm -f "$headers"
      fail "${name}_VAULT: cannot read ${where} from ${VAULT_ADDR}: ${answer}"
    fi
    if ! printf '%s' "$answer" | vault_field "$field" >"$dir/.field"; then
      rm -f "$headers" "$dir/.field"
      fail "${name}_VAULT: Vault secret ${where} has no string field \"${field}\""
    fi
    store "$name" <"$dir/.field"
    rm -f "$dir/.field"
    offer "$name"
  done
  rm -f "$headers"
fi

say "wrote ${count} secret file(s) to ${dir}"
exec "$@"
