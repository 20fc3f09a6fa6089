#!/usr/bin/env bash
# WebSocket echo benchmark (BENCHMARKS.md, "WebSocket echo"). Builds release, then for each
# connection count and window: starts the hub with /ws/echo pinned to core 0, runs
# `spacehub-load ws-echo` pinned to core 1 (reading the hub's CPU time from /proc), stops the hub
# by its PID; then does the same against scripts/ws-echo-floor.c, a minimal C epoll echo server
# whose CPU per message is the kernel's share on this machine at this moment. Each pair repeats
# BENCH_REPEATS times; the last lines are medians and bests.
#
#   scripts/bench-ws-echo.sh                                  # the published run
#   BENCH_CONNECTIONS=100 BENCH_WINDOWS=1 BENCH_REPEATS=1 BENCH_SECONDS=5 scripts/bench-ws-echo.sh
#   BENCH_FLOOR=0 scripts/bench-ws-echo.sh                    # hub only
#
# For a script that runs it (scripts/bench-metrics.sh): BENCH_HUB is the hub binary, BENCH_NO_BUILD=1
# skips the build, BENCH_NO_LOCK=1 the lock (the caller holds it), BENCH_SUMMARIES=FILE appends
# each run's summary line there, BENCH_HUB_CONFIG is the hub's --config (an older build refuses
# keys of a newer config/spacehub.json). The hub inherits the environment (METRICS_*, …).
#
# While measuring it holds the build lock of scripts/swift-locked, so no Swift build from another
# work tree competes for the two cores; other load on the machine shows in the loadavg lines.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=${BENCH_CONNECTIONS:-"100 1000"}
windows=${BENCH_WINDOWS:-"1 16"}
seconds=${BENCH_SECONDS:-6}
repeats=${BENCH_REPEATS:-5}
floor=${BENCH_FLOOR:-1}
hub_core=${BENCH_HUB_CORE:-0}
tool_core=${BENCH_TOOL_CORE:-1}

[ -n "${BENCH_NO_BUILD:-}" ] || scripts/swift-locked build -c release >/dev/null
hub=${BENCH_HUB:-.build/release/spacehub}
load=.build/release/spacehub-load
work=$(mktemp -d /tmp/spacehub-bench.XXXXXX)
if [ "$floor" = 1 ]; then
    cc -O2 -o "$work/ws-echo-floor" scripts/ws-echo-floor.c -lcrypto
fi

. scripts/bench-lib.sh

# run NAME CONNECTIONS WINDOW PATH: one measured run against the started server.
run() {
    local name=$1 n=$2 w=$3 path=$4
    echo
    echo "== $name, $n connections, window $w (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "\$ taskset -c $tool_core $load ws-echo --port $port --path $path --connections $n --window $w --seconds $seconds --hub-pid $server_pid"
    taskset -c "$tool_core" "$load" ws-echo --port "$port" --path "$path" --connections "$n" --window "$w" \
        --seconds "$seconds" --hub-pid "$server_pid" | tee "$work/out" | grep -v '^summary'
    echo "$name $(grep '^summary' "$work/out")" >>"$work/summaries"
    if [ -n "${BENCH_SUMMARIES:-}" ]; then echo "$name $(grep '^summary' "$work/out")" >>"$BENCH_SUMMARIES"; fi
    echo "server peak RSS: $(awk '/VmHWM/ {print $2, $3}' "/proc/$server_pid/status")"
}

if [ -z "${BENCH_NO_LOCK:-}" ]; then
    exec 9>/tmp/spacehub-swift-build.lock
    flock 9
fi

print_machine
echo "hub on core $hub_core, load tool on core $tool_core, $seconds s measured after 2 s warm-up, $repeats repeats"
for n in $connections; do
    for w in $windows; do
        for r in $(seq "$repeats"); do
            start_server "$work/hub.log" env SPACEHUB_DB="$work/hub-$n-$w-$r.sqlite" SPACEHUB_ECHO=true \
                ACCESS_LOG=false LOG_LEVEL=warning PASSWORD_COST_LOG2=10 "$hub" serve --host 127.0.0.1 --port 0 \
                ${BENCH_HUB_CONFIG:+--config "$BENCH_HUB_CONFIG"}
            run hub "$n" "$w" /ws/echo
            stop_server
            if [ "$floor" = 1 ]; then
                start_server "$work/floor.log" "$work/ws-echo-floor" 0
                run floor "$n" "$w" /
                stop_server
            fi
        done
    done
done

echo
echo "over $repeats repeats: median (best); other load on the machine drags medians more than bests"
python3 - "$work/summaries" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, _, *fields = line.split()
    values = dict(field.split("=") for field in fields)
    runs[(name, int(values["connections"]), int(values["window"]))].append(values)
print(f"{'server':6} {'conns':>5} {'window':>6} {'msg/s':>20} {'p50 µs':>8} {'p99 µs':>8} {'CPU µs/msg':>14}")
for (name, n, w), values in sorted(runs.items(), key=lambda item: (item[0][1], item[0][2], item[0][0])):
    def column(key):
        return [float(v[key]) for v in values]
    rate, cpu = column("messages_per_second"), column("hub_cpu_us_per_message")
    print(f"{name:6} {n:>5} {w:>6} {statistics.median(rate):>10.0f} ({max(rate):>7.0f})"
          f" {statistics.median(column('p50_us')):>8.0f} {statistics.median(column('p99_us')):>8.0f}"
          f" {statistics.median(cpu):>6.2f} ({min(cpu):.2f})")
EOF
