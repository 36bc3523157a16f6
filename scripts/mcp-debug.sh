#!/usr/bin/env bash
# Looks into a running gateway through its admin API: live traffic, state, heap and CPU.
#
#   scripts/mcp-debug.sh [--url URL] [SUBCOMMAND] [ARGS]
#
#   stream [--raw] [name=value ...]  follow GET /admin/debug/stream, one line per event (the default:
#                                    `mcp-debug.sh server=s` is `mcp-debug.sh stream server=s`);
#                                    filters server=, tool=, principal=, trace=, requestId=, bodies=1;
#                                    --raw prints the JSON events as the gateway sends them
#   sessions [name=value ...]        open client sessions (GET /admin/sessions), most recently active
#                                    first: short id, front, version, client, principal, idle time, calls in
#                                    flight, subscriptions; filters principal=, front=, limit= (default 100)
#   pools                            container pools of per-session docker backends (GET /admin/pools)
#   registry                         servers, their mode, state, backends and tools (GET /admin/servers)
#   health                           readiness and each server's state (GET /health/readiness)
#   upstreams                        connection state per server and backend: state, health,
#                                    connections made/lost/failed, breaker, last refusal
#   heap FILE                        a heap snapshot, streamed to FILE (.heapsnapshot, for DevTools)
#   profile SECONDS FILE             a CPU profile of SECONDS (1-60), written to FILE (.cpuprofile)
#   leak-check [--interval S] [--rounds N] [--min-bytes B]
#                                    heap snapshots S seconds apart (default 10, 3 rounds) while the
#                                    gateway runs its load; prints heap growth and the top 15
#                                    constructors by growth, flags growth of B bytes or more (default
#                                    65536) that persists in every round (scripts/heap-diff.js)
#
# URL defaults to $MCP_FLEET_ADMIN_URL, else http://127.0.0.1:8080 (the management listener's URL
# when the gateway has one). The bearer token comes from $MCP_FLEET_ADMIN_TOKEN, else from the file
# $MCP_FLEET_ADMIN_TOKEN_FILE (the compose stack's secrets/admin_token), so it never shows in `ps`.
# heap, profile and leak-check need the role admin:debug; the others admin:read.
#
# Exit codes: 0 done (health: ready); 1 health: not ready, leak-check: growth persists;
# 2 usage (unknown subcommand or argument, no token); 3 refused (HTTP 401/403); 4 not found
# (HTTP 404: no admin API there, or no such route); 5 any other failure (HTTP error, unreachable).
# shellcheck disable=SC2016 # the single-quoted node scripts are JavaScript; their ${} are not the shell's
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
url="${MCP_FLEET_ADMIN_URL:-http://127.0.0.1:8080}"

usage() {
  sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
}
fail_usage() {
  echo "mcp-debug: $1" >&2
  echo "run 'mcp-debug.sh --help' for the subcommands" >&2
  exit 2
}

while (($#)); do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) break ;;
  esac
done

# --help anywhere (`heap --help` must not write a file named --help)
for arg in "$@"; do
  if [[ "$arg" == -h || "$arg" == --help ]]; then usage; exit 0; fi
done

command="stream"
case "${1:-}" in
  stream | sessions | pools | registry | health | upstreams | heap | profile | leak-check) command="$1"; shift ;;
  "" | --raw | *=*) ;;
  *) fail_usage "unknown subcommand '$1' (stream, sessions, pools, registry, health, upstreams, heap, profile, leak-check)" ;;
esac

token="${MCP_FLEET_ADMIN_TOKEN:-}"
if [[ -z "$token" && -n "${MCP_FLEET_ADMIN_TOKEN_FILE:-}" ]]; then
  token="$(<"$MCP_FLEET_ADMIN_TOKEN_FILE")"
fi
if [[ -z "$token" ]]; then
  echo "mcp-debug: set MCP_FLEET_ADMIN_TOKEN (or MCP_FLEET_ADMIN_TOKEN_FILE) to the gateway's admin token or a credential with admin:read" >&2
  exit 2
fi

# The token goes to curl on stdin (a config line), not on its command line.
authed_curl() {
  printf 'header = "Authorization: Bearer %s"\n' "$token" | curl --no-progress-meter --config - "$@"
}

# request METHOD PATH OUT [curl args]: the answer's body into OUT; on an HTTP error, says which
# status and what the gateway said (its `{ "error" }`), and exits with the documented code.
# Statuses in $ok_statuses (default 200) count as answers (health: 503 is an answer too).
request() {
  local method="$1" path="$2" out="$3" status
  shift 3
  if ! status="$(authed_curl -X "$method" -o "$out" -w '%{http_code}' "$@" "$url$path")"; then
    echo "mcp-debug: $method $url$path: no answer (is the gateway running there? --url or MCP_FLEET_ADMIN_URL)" >&2
    exit 5
  fi
  if [[ " ${ok_statuses:-200} " == *" $status "* ]]; then return 0; fi
  local said
  said="$(node -e 'const fs = require("node:fs"); let t = ""; try { t = fs.readFileSync(process.argv[1], "utf8").slice(0, 2000); } catch {} try { t = JSON.parse(t).error ?? t; } catch {} console.log(String(t).trim());' "$out")"
  rm -f "$out"
  echo "mcp-debug: $method $path: HTTP $status: ${said:-(no body)}" >&2
  case "$status" in
    401 | 403) exit 3 ;;
    404) exit 4 ;;
    *) exit 5 ;;
  esac
}

tmp="$(mktemp -d "${TMPDIR:-/tmp}/mcp-debug.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT


# show BODY: formats the JSON on stdin with BODY, a node function body of `d` (the parsed answer).
show() {
  node -e "((d) => { $1 })(JSON.parse(require('node:fs').readFileSync(0, 'utf8')));"
}

stream_events() {
  local raw=0 query=()
  while (($#)); do
    case "$1" in
      --raw) raw=1; shift ;;
      --url) url="${2:?--url needs a value}"; shift 2 ;; # after the filters too, as before subcommands
      *=*) query+=("--data-urlencode" "$1"); shift ;;
      *) fail_usage "unknown argument '$1' (filters are name=value: server, tool, principal, trace, requestId, bodies)" ;;
    esac
  done
  follow() {
    authed_curl --fail-with-body -N -G "${query[@]}" "$url/admin/debug/stream"
  }
  if ((raw)); then
    follow | sed -un 's/^data: //p'
    exit "${PIPESTATUS[0]}"
  fi
  # Formatting in node (every machine running the gateway has it): time, event, who, what, outcome.
  follow | node -e '
    const rl = require("node:readline").createInterface({ input: process.stdin });
    const pick = (e, keys) => keys.filter((k) => e[k] !== undefined).map((k) => `${k}=${typeof e[k] === "string" ? e[k] : JSON.stringify(e[k])}`);
    const known = ["at", "type", "server", "backend", "method", "tool", "outcome", "ms", "principal", "client", "trace", "requestId"];
    rl.on("line", (line) => {
      if (!line.startsWith("data: ")) {
        if (line.startsWith("{")) console.error(line); // an error answer (curl --fail-with-body)
        return;
      }
      let e;
      try { e = JSON.parse(line.slice(6)); } catch { return console.log(line.slice(6)); }
      const time = typeof e.at === "string" ? e.at.slice(11, 23) : "";
      const rest = Object.keys(e).filter((k) => !known.includes(k));
      const head = [time, String(e.type).padEnd(14), ...pick(e, ["server", "backend", "tool"]), ...(e.tool ? [] : pick(e, ["method"]))];
      const tail = [...pick(e, ["outcome", "ms"]), ...pick(e, ["principal", "requestId", "trace"]), ...pick(e, rest)];
      console.log([...head, ...tail].join(" "));
    });
  '
  exit "${PIPESTATUS[0]}"
}

no_args() {
  if (($#)); then fail_usage "$command takes no arguments (got '$1')"; fi
}

# heap_to FILE: a heap snapshot streamed to FILE (a partial file is removed).
heap_to() {
  request POST /admin/debug/heap-snapshot "$1.part"
  mv "$1.part" "$1"
}

case "$command" in
  stream) stream_events "$@" ;;
  sessions)
    query=()
    for arg in "$@"; do
      [[ "$arg" == *=* ]] || fail_usage "sessions takes filters as name=value (principal=, front=, limit=), not '$arg'"
      query+=("--data-urlencode" "$arg")
    done
    request GET /admin/sessions "$tmp/answer" -G "${query[@]}"
    show '
      if (d.total === 0) return console.log("no open client sessions");
      const idle = (at) => `${Math.max(0, Math.round((Date.now() - Date.parse(at)) / 1000))}s`;
      const client = (c) => [c.name ?? "?", c.version ?? ""].join(" ").trim();
      console.log("id".padEnd(10), "front".padEnd(16), "version".padEnd(11), "client".padEnd(24), "principal".padEnd(24), " idle", "in-flight", "subs");
      for (const s of d.sessions)
        console.log(s.id.padEnd(10), s.front.padEnd(16), (s.protocolVersion ?? "-").padEnd(11), client(s.client).slice(0, 24).padEnd(24), s.principal.slice(0, 24).padEnd(24), idle(s.lastActivity).padStart(5), String(s.inFlight).padStart(9), String(s.subscriptions).padStart(4));
      if (d.sessions.length < d.total) console.log(`${d.sessions.length} of ${d.total} sessions shown (limit=${d.limit})`);' <"$tmp/answer"
    ;;
  pools)
    no_args "$@"
    request GET /admin/pools "$tmp/answer"
    show '
      if (d.pools.length === 0) return console.log("no container pools (no per-session docker backend has one)");
      console.log("server/backend".padEnd(32), "warm", "busy", " max", "waiting");
      for (const p of d.pools) console.log(`${p.server}/${p.backend}`.padEnd(32), String(p.warm).padStart(4), String(p.busy).padStart(4), String(p.max).padStart(4), String(p.waiting).padStart(7));' <"$tmp/answer"
    ;;
  registry)
    no_args "$@"
    request GET /admin/servers "$tmp/answer"
    show '
      for (const s of d.servers) {
        console.log(`${s.name}  mode=${s.mode} state=${s.state} backends=${s.backends.length} tools=${s.tools.length}`);
        for (const b of s.backends) console.log(`  ${b.id}  ${b.transport} ${b.target}  weight=${b.weight} state=${b.state} tools=${b.tools}`);
        if (s.tools.length) console.log(`  tools: ${s.tools.join(", ")}`);
      }
      if (d.servers.length === 0) console.log("no servers");' <"$tmp/answer"
    ;;
  health)
    no_args "$@"
    ok_statuses="200 503" request GET /health/readiness "$tmp/health"
    show '
      console.log(`status ${d.status}`);
      for (const [name, s] of Object.entries(d.servers ?? {})) {
        console.log(`${name}  state=${s.state} required=${s.required}${s.lastError ? ` lastError=${JSON.stringify(s.lastError)}` : ""}${s.reason ? ` (${s.reason})` : ""}`);
        for (const [id, b] of Object.entries(s.backends)) console.log(`  ${id}  state=${b.state}${b.health ? ` health=${b.health.state ?? JSON.stringify(b.health)}` : ""}${b.breaker ? ` breaker=${b.breaker.state}` : ""}`);
      }
      process.exitCode = d.status === "ready" ? 0 : 1;' <"$tmp/health"
    ;;
  upstreams)
    no_args "$@"
    request GET /admin/servers "$tmp/answer"
    show '
      console.log("server/backend".padEnd(32), "state".padEnd(10), "health".padEnd(9), "connected lost failed", " breaker");
      for (const s of d.servers)
        for (const b of s.backends) {
          const c = b.connections ?? { connected: 0, lost: 0, failed: 0 };
          const extra = [b.refused ? `refused: ${b.refused}` : "", b.mismatch ? `mismatch: ${b.mismatch}` : "", b.pool ? `pool ${JSON.stringify(b.pool)}` : ""].filter(Boolean).join("  ");
          console.log(`${s.name}/${b.id}`.padEnd(32), b.state.padEnd(10), (b.health?.state ?? "-").padEnd(9), String(c.connected).padStart(9), String(c.lost).padStart(4), String(c.failed).padStart(6), ` ${b.breaker?.state ?? "-"}`, extra);
        }' <"$tmp/answer"
    ;;
  heap)
    (($# == 1)) || fail_usage "heap takes one argument: the file to write (e.g. gateway.heapsnapshot)"
    heap_to "$1"
    echo "wrote $1 ($(wc -c <"$1" | tr -d ' ') bytes); open it in Chrome DevTools (Memory), or: node $here/heap-diff.js --summary $1"
    ;;
  profile)
    (($# == 2)) || fail_usage "profile takes two arguments: SECONDS (1-60) and the file to write (e.g. gateway.cpuprofile)"
    [[ "$1" =~ ^[0-9]+$ ]] || fail_usage "profile SECONDS must be a whole number (1-60), not '$1'"
    request POST "/admin/debug/cpu-profile?seconds=$1" "$2.part"
    mv "$2.part" "$2"
    echo "wrote $2 ($(wc -c <"$2" | tr -d ' ') bytes, $1 s); open it in Chrome DevTools (Performance)"
    ;;
  leak-check)
    interval=10 rounds=3 min_bytes=65536
    while (($#)); do
      case "$1" in
        --interval) interval="${2:-}"; shift 2 || true ;;
        --rounds) rounds="${2:-}"; shift 2 || true ;;
        --min-bytes) min_bytes="${2:-}"; shift 2 || true ;;
        *) fail_usage "unknown leak-check argument '$1' (--interval S, --rounds N, --min-bytes B)" ;;
      esac
    done
    [[ "$interval" =~ ^[0-9]+$ ]] || fail_usage "--interval takes whole seconds, not '$interval'"
    [[ "$rounds" =~ ^[0-9]+$ && "$rounds" -ge 1 ]] || fail_usage "--rounds takes a whole number of 1 or more, not '$rounds'"
    [[ "$min_bytes" =~ ^[0-9]+$ ]] || fail_usage "--min-bytes takes a whole number, not '$min_bytes'"
    snapshots=()
    for ((i = 0; i <= rounds; i++)); do
      if ((i > 0)); then sleep "$interval"; fi
      heap_to "$tmp/$i.heapsnapshot"
      echo "snapshot $i/$rounds: $(wc -c <"$tmp/$i.heapsnapshot" | tr -d ' ') bytes" >&2
      snapshots+=("$tmp/$i.heapsnapshot")
    done
    # heap-diff's own 1 is the verdict; any other failure of it is this script's 5
    node "$here/heap-diff.js" --interval "$interval" --min-bytes "$min_bytes" "${snapshots[@]}" || { rc=$?; exit $((rc == 1 ? 1 : 5)); }
    ;;
esac
