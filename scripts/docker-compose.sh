#!/usr/bin/env bash
# Runs Docker Compose with the arguments given: v2 (`docker compose`) when installed, else v1
# (`docker-compose`). Before `up`, `create` or `run` it checks that every service's image exists
# locally or can be pulled, and otherwise names the service and the image and says how to build
# it, where compose itself would only report a failed pull.
#   scripts/docker-compose.sh [GLOBAL OPTIONS] COMMAND [ARGS...]
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
  compose=(docker-compose)
else
  echo "docker-compose.sh: neither 'docker compose' (v2) nor 'docker-compose' (v1) is installed" >&2
  exit 127
fi

# Global options come before the command; these take a value.
global=()
command=
while [ "$#" -gt 0 ]; do
  case "$1" in
    -f | --file | -p | --project-name | --project-directory | --env-file | --profile | -c | --context | -H | --host | --ansi | --log-level | --parallel | --progress)
      global+=("$1" "$2")
      shift 2
      ;;
    -*)
      global+=("$1")
      shift
      ;;
    *)
      command=$1
      break
      ;;
  esac
done

case "$command" in
  up | create | run)
    missing=0
    # a service a profile holds only when that profile is on (--profile, COMPOSE_PROFILES), as compose starts it
    active=",${COMPOSE_PROFILES:-},"
    for ((i = 0; i < ${#global[@]}; i++)); do
      [ "${global[i]}" = --profile ] && active+="${global[i + 1]},"
    done
    while read -r service image profiles; do
      [ -n "$image" ] || continue
      if [ -n "$profiles" ]; then
        on=0
        for p in ${profiles//,/ }; do case "$active" in *",$p,"*) on=1 ;; esac; done
        [ "$on" = 1 ] || continue
      fi
      if ! docker image inspect "$image" >/dev/null 2>&1 && ! docker pull --quiet "$image" >/dev/null 2>&1; then
        echo "docker-compose.sh: service '$service' needs image '$image', which is not on this machine and cannot be pulled; build the mcp-fleet images with 'npm run docker:build' (tags: version and dev), or set MCP_FLEET_TAG to a tag that exists" >&2
        missing=1
      fi
    done < <("${compose[@]}" "${global[@]}" config | awk '
      function flush() { if (service != "") print service, image, profiles; service = ""; image = ""; profiles = "" }
      /^services:/ { in_services = 1; next }
      /^[^ ]/ { flush(); in_services = 0; in_profiles = 0 }
      in_services && /^  [^ ]/ { flush(); service = $1; sub(/:$/, "", service); in_profiles = 0 }
      in_services && /^    [^ -]/ { in_profiles = ($1 == "profiles:") }
      in_services && /^    image:/ { image = $2 }
      in_services && in_profiles && /^ *- / { profiles = profiles (profiles == "" ? "" : ",") $2 }
      END { flush() }')
    [ "$missing" = 0 ] || exit 1
    ;;
esac

exec "${compose[@]}" "${global[@]}" "$@"
