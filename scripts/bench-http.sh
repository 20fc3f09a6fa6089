#!/usr/bin/env bash
# HTTP benchmark (issue 2): wrk -t1 -c64 -d10s against /healthz, hub pinned to core 0, wrk to core 1.
# Builds release, starts the hub on a temp database, prints wrk's report and the hub's CPU time, stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product spacehub >/dev/null
work=$(mktemp -d /tmp/spacehub-bench.XXXXXX)
port=${PORT:-9180}
SPACEHUB_DB="$work/hub.sqlite" ACCESS_LOG=false LOG_LEVEL=warning PASSWORD_COST_LOG2=10 \
    taskset -c 0 .build/release/spacehub serve --port "$port" >"$work/hub.log" 2>&1 &
hub=$!
trap 'kill "$hub" 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
taskset -c 1 wrk -t1 -c64 -d10s "http://127.0.0.1:$port/healthz"
kill "$hub"; wait "$hub" 2>/dev/null || true
