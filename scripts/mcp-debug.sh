#!/usr/bin/env bash
# Follows a gateway's live traffic (GET /admin/debug/stream) and prints one readable line per event.
#
#   scripts/mcp-debug.sh [--url URL] [--raw] [name=value ...]
#
# URL defaults to $MCP_FLEET_ADMIN_URL, else http://127.0.0.1:8080 (the management listener's URL
# when the gateway has one). The bearer token comes from $MCP_FLEET_ADMIN_TOKEN, else from the file
# $MCP_FLEET_ADMIN_TOKEN_FILE (the compose stack's secrets/admin_token), so it never shows in `ps`.
# Filters go to the stream as they are: server=, tool=, principal=, trace=, requestId=, bodies=1.
# --raw prints the JSON events as the gateway sends them (for jq or a file).
set -euo pipefail

url="${MCP_FLEET_ADMIN_URL:-http://127.0.0.1:8080}"
raw=0
query=()
while (($#)); do
  case "$1" in
    --url) url="${2:?--url needs a value}"; shift 2 ;;
    --raw) raw=1; shift ;;
    -h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *=*) query+=("--data-urlencode" "$1"); shift ;;
    *) echo "mcp-debug: unknown argument '$1' (filters are name=value: server, tool, principal, trace, requestId, bodies)" >&2; exit 2 ;;
  esac
done

token="${MCP_FLEET_ADMIN_TOKEN:-}"
if [[ -z "$token" && -n "${MCP_FLEET_ADMIN_TOKEN_FILE:-}" ]]; then
  token="$(<"$MCP_FLEET_ADMIN_TOKEN_FILE")"
fi
if [[ -z "$token" ]]; then
  echo "mcp-debug: set MCP_FLEET_ADMIN_TOKEN (or MCP_FLEET_ADMIN_TOKEN_FILE) to the gateway's admin token or a credential with admin:read" >&2
  exit 2
fi

# The token goes to curl on stdin (a config line), not on its command line.
stream() {
  printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl --no-progress-meter --fail-with-body -N -G --config - "${query[@]}" "$url/admin/debug/stream"
}

if ((raw)); then
  stream | sed -un 's/^data: //p'
  exit "${PIPESTATUS[0]}"
fi

# Formatting in node (every machine running the gateway has it): time, event, who, what, outcome.
# shellcheck disable=SC2016 # the single quotes keep the JavaScript from the shell
stream | node -e '
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
