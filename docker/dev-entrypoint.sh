#!/bin/sh
# dev-entrypoint.sh COMMAND [ARGS...]: development only (docker-compose.dev.yml). Runs COMMAND and
# restarts it whenever a file under WATCH_PATHS changes. A restarted bridge loses its upstream
# sessions; the front gateway reconnects to it, so client sessions with the gateway stay open.
#
# Polls (name, size and mtime of every file, every WATCH_INTERVAL seconds, default 1) rather than
# relying on inotify, which does not see changes made through some hosts' bind mounts. A command
# that exits on its own is started again at the next change. TERM/INT stop it and exit.
set -u

watch_paths=${WATCH_PATHS:-/app/dist}
interval=${WATCH_INTERVAL:-1}
grace=${STOP_GRACE_SECONDS:-10}
child=

say() { printf 'dev-entrypoint: %s\n' "$*" >&2; }

if [ "$#" -eq 0 ]; then
  say "usage: dev-entrypoint.sh COMMAND [ARGS...]"
  exit 64
fi

snapshot() {
  # shellcheck disable=SC2086  # WATCH_PATHS is a space-separated list
  find $watch_paths -type f -exec stat -c '%n %s %y' {} + 2>/dev/null | md5sum
}

# Running, not a zombie waiting to be reaped (kill -0 succeeds on those).
# shellcheck disable=SC2317  # also reached through the traps below
alive() {
  grep -q '^State:[[:space:]]*[^Z]' "/proc/$1/status" 2>/dev/null
}

start() {
  "$@" &
  child=$!
  say "started (pid ${child}): $*"
}

# shellcheck disable=SC2317  # also reached through the traps below
stop() {
  [ -n "$child" ] || return 0
  kill -s TERM "$child" 2>/dev/null
  waited=0
  while alive "$child" && [ "$waited" -lt "$((grace * 10))" ]; do
    sleep 0.1
    waited=$((waited + 1))
  done
  kill -s KILL "$child" 2>/dev/null
  wait "$child" 2>/dev/null
  child=
}

trap 'stop; exit 143' TERM
trap 'stop; exit 130' INT

last=$(snapshot)
say "watching ${watch_paths} every ${interval}s"
start "$@"
while :; do
  sleep "$interval" &
  wait $!
  now=$(snapshot)
  if [ "$now" != "$last" ]; then
    # let a burst of writes (a tsc rebuild) settle before restarting
    while :; do
      sleep "$interval"
      again=$(snapshot)
      [ "$again" = "$now" ] && break
      now=$again
    done
    last=$now
    say "files changed under ${watch_paths}: restarting"
    stop
    start "$@"
  elif [ -n "$child" ] && ! alive "$child"; then
    wait "$child"
    say "exited with status $?; it starts again when a watched file changes"
    child=
  fi
done
