#!/usr/bin/env bash
# Idle-connection memory benchmark (BENCHMARKS.md, "Idle connections"; issue 7). Builds release,
# then BENCH_REPEATS times: starts the hub on a temporary database pinned to core 0, runs
# `spacehub-load idle` pinned to core 1 (warm-up connections, the hub's VmRSS, then as many
# subscribed idle WebSocket clients as the open-file limit allows, idle for a few seconds, VmRSS
# again), and stops the hub by its PID. The last lines are the median and best bytes per
# connection. Loopback only.
#
#   scripts/bench-idle.sh                                          # the published run
#   BENCH_CONNECTIONS=5000 BENCH_REPEATS=1 BENCH_BUILD=0 scripts/bench-idle.sh
#
# While measuring it holds the build lock of scripts/swift-locked, so no Swift build from another
# work tree competes for the two cores.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=${BENCH_CONNECTIONS:-}  # empty: the load tool's default (open-file limit less 1,000)
idle=${BENCH_IDLE_SECONDS:-5}
repeats=${BENCH_REPEATS:-3}
build=${BENCH_BUILD:-1}
hub_core=${BENCH_HUB_CORE:-0}
tool_core=${BENCH_TOOL_CORE:-1}

if [ "$build" = 1 ]; then scripts/swift-locked build -c release >/dev/null; fi
hub=.build/release/spacehub
load=.build/release/spacehub-load
work=$(mktemp -d /tmp/spacehub-idle.XXXXXX)

. scripts/bench-lib.sh

start_hub() {
    local db=$1 log=$work/hub.log
    start_server "$log" env SPACEHUB_DB="$db" ACCESS_LOG=false LOG_LEVEL=info PASSWORD_COST_LOG2=10 \
        "$hub" serve --host 127.0.0.1 --port 0
}

exec 9>/tmp/spacehub-swift-build.lock
flock 9

print_machine
args=(--idle-seconds "$idle")
if [ -n "$connections" ]; then args+=(--connections "$connections"); fi
for r in $(seq "$repeats"); do
    start_hub "$work/hub-$r.sqlite"
    sleep 1  # start-up finished: demo data seeded, timers armed
    echo
    echo "== run $r (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "\$ taskset -c $tool_core $load idle --port $port --hub-pid $server_pid ${args[*]}"
    timeout 300 taskset -c "$tool_core" "$load" idle --port "$port" --hub-pid "$server_pid" "${args[@]}" \
        | tee "$work/out" | grep -v '^summary'
    grep '^summary' "$work/out" >>"$work/summaries"
    echo "hub: $(grep -m1 'open file limit' "$work/hub.log" | sed 's/.*spacehub: //')"
    stop_server
done

echo
echo "over $repeats repeats: median (best)"
python3 - "$work/summaries" <<'EOF'
import statistics, sys
runs = [dict(field.split("=") for field in line.split()[1:]) for line in open(sys.argv[1])]
per = [int(r["bytes_per_connection"]) for r in runs]
print(f"connections {runs[0]['connections']}: {statistics.median(per):.0f} ({min(per)}) bytes per connection,"
      f" RSS {statistics.median(int(r['rss_before_kib']) for r in runs) / 1024:.1f} MiB before,"
      f" {statistics.median(int(r['rss_after_kib']) for r in runs) / 1024:.1f} MiB after")
EOF
