#!/usr/bin/env bash
# Host firewall rules from the network policy (docker/security-policies.yml), in one dedicated
# iptables chain (MCP-FLEET) hooked into DOCKER-USER when Docker made it, else into FORWARD.
# The chain only refuses: what the policy allows returns to the rules after it (Docker's own),
# every other new connection from or to a fleet address is rejected. Running it again replaces
# the chain in one step (iptables-restore) and hooks it once.
#
#   iptables/mcp-rules.sh --project mcp-fleet            # addresses of the running stack
#   iptables/mcp-rules.sh --address gateway=172.20.0.2 --address memory=172.20.0.3,172.20.0.4
#   iptables/mcp-rules.sh --dry-run ...                  # print the rules and the hook, change nothing
#   iptables/mcp-rules.sh --delete                       # unhook and remove the chain
#
# Options: --policy FILE (default docker/security-policies.yml), --chain NAME (default MCP-FLEET),
# --parent CHAIN (default DOCKER-USER if it exists, else FORWARD). Containers on one bridge pass
# FORWARD only with br_netfilter (bridge-nf-call-iptables=1), which Docker turns on.
# Needs root, iptables, and node with the checkout built (npm run build): the rules are rendered
# by dist/pipeline/firewall-cli.js, which validates the policy.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
chain=MCP-FLEET
parent=
mode=apply
render=()

die() {
  printf 'mcp-rules: %s\n' "$*" >&2
  exit 2
}

while [ "$#" -gt 0 ]; do
  case "$1" in
    --dry-run) mode=dry-run ;;
    --delete) mode=delete ;;
    --chain) chain=${2:?--chain needs a name} && shift ;;
    --parent) parent=${2:?--parent needs a chain} && shift ;;
    --policy | --address | --project) render+=("$1" "${2:?$1 needs a value}") && shift ;;
    *) die "unknown option $1 (see the header of $0)" ;;
  esac
  shift
done

command -v iptables >/dev/null 2>&1 || die "iptables is not installed (apt-get install -y iptables)"
if [ -z "$parent" ]; then
  if iptables -n -L DOCKER-USER >/dev/null 2>&1; then parent=DOCKER-USER; else parent=FORWARD; fi
fi

if [ "$mode" = delete ]; then
  while iptables -C "$parent" -j "$chain" 2>/dev/null; do iptables -D "$parent" -j "$chain"; done
  if iptables -n -L "$chain" >/dev/null 2>&1; then
    iptables -F "$chain"
    iptables -X "$chain"
  fi
  echo "mcp-rules: chain $chain removed (unhooked from $parent)"
  exit 0
fi

cli="$root/dist/pipeline/firewall-cli.js"
[ -f "$cli" ] || die "$cli is missing; run npm run build first"
rules=$(node "$cli" --chain "$chain" "${render[@]}") || exit 2

if [ "$mode" = dry-run ]; then
  printf '%s\n' "$rules"
  echo "# hook: iptables -I $parent 1 -j $chain"
  exit 0
fi

printf '%s\n' "$rules" | iptables-restore --noflush
iptables -C "$parent" -j "$chain" 2>/dev/null || iptables -I "$parent" 1 -j "$chain"
echo "mcp-rules: chain $chain applied ($(grep -c "^-A " <<<"$rules") rules), hooked into $parent"
