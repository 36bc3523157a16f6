#!/bin/sh
# mcp-stdio-wrapper.sh: the entrypoint for a stdio MCP server in a container.
#
#   mcp-stdio-wrapper.sh memory|filesystem|everything [ARGS...]   a reference server baked into the image
#   mcp-stdio-wrapper.sh -- COMMAND [ARGS...]                       any other stdio server
#
# stdout belongs to the MCP protocol (the gateway attaches to it), so the wrapper never writes
# there: its own messages go to stderr, which stays separate. The server runs in its own session
# and process group with the container's stdin; TERM, INT and HUP are forwarded to that group, and
# the wrapper exits with the server's exit code (128+N when signal N killed it).
#
# Environment: MCP_SERVERS_DIR (where the reference packages live), FILESYSTEM_ROOT (the
# filesystem server's directory when no ARGS are given, default /data).
set -u

servers=${MCP_SERVERS_DIR:-/opt/mcp-servers/node_modules/@modelcontextprotocol}

say() { printf 'mcp-stdio-wrapper: %s\n' "$*" >&2; }

usage() {
  say "usage: mcp-stdio-wrapper.sh memory|filesystem|everything [ARGS...] | -- COMMAND [ARGS...]"
}

name=${1:-}
case "$name" in
  memory)
    shift
    set -- node "$servers/server-memory/dist/index.js" "$@"
    ;;
  filesystem)
    shift
    [ "$#" -gt 0 ] || set -- "${FILESYSTEM_ROOT:-/data}"
    set -- node "$servers/server-filesystem/dist/index.js" "$@"
    ;;
  everything)
    shift
    set -- node "$servers/server-everything/dist/index.js" stdio "$@"
    ;;
  --)
    shift
    if [ "$#" -eq 0 ]; then
      usage
      exit 64
    fi
    name=$1
    ;;
  *)
    say "unknown server '${name}'"
    usage
    exit 64
    ;;
esac

# When the wrapper is the container's main process (its parent is PID 1 or none), health-check.sh
# treats the container as a stdio server and checks this pid instead of an HTTP port.
pidfile=${TMPDIR:-/tmp}/mcp-stdio-wrapper.pid
if [ "$PPID" -le 1 ]; then
  echo "$$" 2>/dev/null >"$pidfile" || say "cannot write $pidfile; the health check will probe HTTP instead"
fi

# A non-interactive shell gives background jobs /dev/null as stdin unless redirected explicitly.
exec 3<&0
if command -v setsid >/dev/null 2>&1; then
  setsid "$@" <&3 3<&- &
  group=yes
else
  "$@" <&3 3<&- &
  group=no
fi
child=$!
exec 3<&-
say "started ${name} (pid ${child})"

# True when process $1 ignores the signal whose bit in the lowest hex digit of SigIgn is $2
# (1 = HUP, 2 = INT).
# shellcheck disable=SC2317  # reached through the traps below
ignores() {
  ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$1/status" 2>/dev/null)
  [ -n "$ign" ] || return 1
  [ $((0x${ign#"${ign%?}"} & $2)) -ne 0 ]
}

interrupted=0
# shellcheck disable=SC2317  # reached through the traps below
forward() {
  interrupted=1
  sig=$1
  # Shells start background jobs with SIGINT ignored (node resets it; other programs may not):
  # a child that cannot receive INT is asked to stop with TERM instead.
  if [ "$sig" = INT ] && ignores "$child" 2; then
    say "${name} ignores SIGINT; sending SIGTERM instead"
    sig=TERM
  fi
  say "forwarding SIG${sig} to ${name} (pid ${child})"
  if [ "$group" = yes ]; then
    kill -s "$sig" -- "-$child" 2>/dev/null || kill -s "$sig" "$child" 2>/dev/null
  else
    kill -s "$sig" "$child" 2>/dev/null
  fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT
trap 'forward HUP' HUP

# `wait` returns early (status > 128) when a trapped signal arrives; wait again until the child
# itself has ended, so its real exit status is the one reported.
while :; do
  interrupted=0
  wait "$child"
  status=$?
  [ "$interrupted" = 1 ] || break
  if ! kill -0 "$child" 2>/dev/null; then
    wait "$child"
    again=$?
    [ "$again" = 127 ] || status=$again
    break
  fi
done

[ "$PPID" -le 1 ] && rm -f "$pidfile" 2>/dev/null
say "${name} exited with status ${status}"
exit "$status"
