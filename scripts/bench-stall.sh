#!/usr/bin/env bash
# The loop's longest stall under the worst body each public endpoint accepts (BENCHMARKS.md,
# "Loop stalls"): builds release, starts the hub on a fresh database pinned to core 0, runs
# scripts/bench_stall.py pinned to core 1, prints its table, and stops the hub by its PID.
#   scripts/bench-stall.sh [--repeat N]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/swift-locked build -c release >/dev/null
hub_core=0
work=$(mktemp -d /tmp/spacehub-stall.XXXXXX)
. scripts/bench-lib.sh
print_machine
SPACEHUB_DB="$work/hub.sqlite" PORT=0 HOST=127.0.0.1 PASSWORD_COST_LOG2=10 ACCESS_LOG=false LOG_LEVEL=error \
    start_server "$work/hub.log" .build/release/spacehub serve
email=$(sed -n 's/.*email:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$work/hub.log" | head -1)
password=$(sed -n 's/.*password:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$work/hub.log" | head -1)
taskset -c 1 python3 scripts/bench_stall.py --port "$port" --admin-email "$email" --admin-password "$password" "$@"
