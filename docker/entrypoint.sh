#!/bin/sh
# Entrypoint of the mcp-fleet images: prepares the environment, then execs the command (so the
# command gets the signals, and its exit code is the container's).
#
# - Secrets from files: for every VAR_FILE=/run/secrets/NAME (a compose or swarm secret), VAR is
#   set to the file's contents and VAR_FILE is unset (other *_FILE variables are left alone). The gateway config then uses ${VAR}; the
#   secret never appears in the image, the compose file or `docker inspect`.
# - A copy of stderr (the JSON logs) in MCP_FLEET_LOG_DIR, when set: one file per container,
#   <MCP_FLEET_SERVICE>-<hostname>.log, rotated copy-truncate style to .1 once it exceeds
#   MCP_FLEET_LOG_MAX_BYTES (default 10 MiB; checked at start and every minute). `docker logs`
#   keeps the full stream either way.
set -eu

say() { printf 'entrypoint: %s\n' "$*" >&2; }

for var in $(env | sed -n 's|^\([A-Za-z_][A-Za-z0-9_]*\)_FILE=/run/secrets/.*|\1|p'); do
  file=
  eval "file=\${${var}_FILE}"
  if [ ! -r "$file" ]; then
    say "${var}_FILE names ${file}, which is missing or not readable by uid $(id -u) (a compose secret file must be readable by that uid)"
    exit 78
  fi
  value=$(cat "$file")
  export "$var=$value"
  unset "${var}_FILE"
done

if [ -n "${MCP_FLEET_LOG_DIR:-}" ]; then
  log_file="${MCP_FLEET_LOG_DIR}/${MCP_FLEET_SERVICE:-mcp-fleet}-$(cat /proc/sys/kernel/hostname).log"
  max_bytes=${MCP_FLEET_LOG_MAX_BYTES:-10485760}
  rotate() {
    if [ -f "$log_file" ] && [ "$(wc -c <"$log_file")" -gt "$max_bytes" ]; then
      cp "$log_file" "$log_file.1" && : >"$log_file"
    fi
  }
  if mkdir -p "$MCP_FLEET_LOG_DIR" 2>/dev/null && touch "$log_file" 2>/dev/null; then
    rotate
    fifo=$(mktemp -u "${TMPDIR:-/tmp}/mcp-fleet-log.XXXXXX")
    mkfifo "$fifo"
    tee -a "$log_file" <"$fifo" >&2 &
    exec 2>"$fifo"
    rm -f "$fifo"
    (while sleep 60; do rotate; done) >/dev/null 2>&1 </dev/null &
  else
    say "cannot write ${log_file}; logging to stderr only"
  fi
fi

exec "$@"
