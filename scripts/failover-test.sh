#!/usr/bin/env bash
# The failover measurement (also `npm run bench:failover`): three server replicas in containers
# behind the gateway and two gateway replicas behind haproxy, one of each killed under steady load;
# prints failed calls and recovery time, the health endpoint's latency and the pool's reuse
# (bench/failover.ts). Needs the images (`npm run docker:build`); installs haproxy and redis-server
# from Debian when missing. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/use-node24.sh
npm run build >/dev/null
exec node dist/bench/failover.js "$@"
