#!/usr/bin/env bash
# Fan-out benchmark (BENCHMARKS.md, "Fan-out"; issue 7). Builds release, then BENCH_REPEATS times:
# creates a temporary database with a bench admin (`spacehub admin create`), starts the hub on it
# pinned to core 0, runs `spacehub-load fanout` pinned to core 1 (10,000 WebSocket subscribers,
# bookings over REST at each rate of BENCH_RATES, 0 = saturation; the hub's CPU time from /proc),
# and stops the hub by its PID. Then, for each stage, the same load tool against
# scripts/fanout-floor.c, a minimal C broadcaster (one write per subscriber per round), at the
# same event rate and batch: its CPU per delivery is the kernel's share on this machine at this
# moment. The last lines are medians and bests per rate. Loopback only.
#
#   scripts/bench-fanout.sh                                       # the published run
#   BENCH_RATES=20 BENCH_REPEATS=1 BENCH_SECONDS=5 scripts/bench-fanout.sh
#   BENCH_SUBSCRIBERS=1000 BENCH_FLOOR=0 BENCH_BUILD=0 scripts/bench-fanout.sh  # quick look
#   BENCH_HUB=/path/to/other/spacehub BENCH_BUILD=0 scripts/bench-fanout.sh     # another build
#
# While measuring it holds the build lock of scripts/swift-locked, so no Swift build from another
# work tree competes for the two cores; other load on the machine shows in the loadavg lines.
set -euo pipefail
cd "$(dirname "$0")/.."

subscribers=${BENCH_SUBSCRIBERS:-10000}
rates=${BENCH_RATES:-"5,10,20,0"}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-3}
connections=${BENCH_CONNECTIONS:-64}
repeats=${BENCH_REPEATS:-3}
durability=${BENCH_DURABILITY:-full}
build=${BENCH_BUILD:-1}
floor=${BENCH_FLOOR:-1}
hub_core=${BENCH_HUB_CORE:-0}
tool_core=${BENCH_TOOL_CORE:-1}

if [ "$build" = 1 ]; then scripts/swift-locked build -c release >/dev/null; fi
hub=${BENCH_HUB:-.build/release/spacehub}
load=.build/release/spacehub-load
work=$(mktemp -d /tmp/spacehub-fanout.XXXXXX)
if [ "$floor" = 1 ]; then cc -O2 -o "$work/fanout-floor" scripts/fanout-floor.c -lcrypto; fi
admin_email=bench-admin@example.com
export SPACEHUB_ADMIN_PASSWORD="bench-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')"

. scripts/bench-lib.sh

# Starts the hub on database $1, pinned to the hub core; sets server_pid and port.
start_hub() {
    local db=$1 log=$work/hub.log
    env SPACEHUB_DB="$db" PASSWORD_COST_LOG2=10 "$hub" admin create --email "$admin_email" --name "Bench Admin" \
        --role super_admin >/dev/null
    start_server "$log" env SPACEHUB_DB="$db" SPACEHUB_DURABILITY="$durability" ACCESS_LOG=false LOG_LEVEL=warning \
        PASSWORD_COST_LOG2=10 "$hub" serve --host 127.0.0.1 --port 0
}

# Starts the floor pinned to the hub core, sending $1 rounds/s of $2 events; sets server_pid and port.
start_floor() {
    start_server "$work/floor.log" "$work/fanout-floor" 0 "$1" "$2"
}

# Bounds the load tool: connecting (≤ 120 s), every stage, the drain (≤ 15 s), and slack.
stages=$(echo "$rates" | tr ',' '\n' | wc -l)
limit=$((120 + stages * (warmup + seconds) + 15 + 60))

exec 9>/tmp/spacehub-swift-build.lock
flock 9

print_machine
echo "hub on core $hub_core (durability $durability), load tool on core $tool_core; $subscribers subscribers,"
echo "rates $rates bookings/s (0 = saturation), $connections booking connections, $seconds s measured after $warmup s, $repeats repeats"
for r in $(seq "$repeats"); do
    start_hub "$work/hub-$r.sqlite"
    echo
    echo "== hub, run $r (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
    echo "\$ taskset -c $tool_core $load fanout --port $port --admin-email $admin_email --subscribers $subscribers" \
        "--connections $connections --rates $rates --warmup-seconds $warmup --seconds $seconds --hub-pid $server_pid"
    timeout "$limit" taskset -c "$tool_core" "$load" fanout --port "$port" --admin-email "$admin_email" \
        --subscribers "$subscribers" --connections "$connections" --rates "$rates" --warmup-seconds "$warmup" \
        --seconds "$seconds" --hub-pid "$server_pid" | tee "$work/out" | grep -v '^summary'
    grep '^summary' "$work/out" | sed 's/^summary/hub/' >>"$work/summaries"
    stop_server
    [ "$floor" = 1 ] || continue
    # The floor at each stage's event rate: one event per round at a steady rate; at saturation,
    # the hub's committed rate in rounds of as many events as the hub sent per write.
    grep '^summary' "$work/out" >"$work/stages"
    while read -r line; do
        rate=$(echo "$line" | sed -n 's/.* rate=\([0-9.]*\).*/\1/p')
        booked=$(echo "$line" | sed -n 's/.* bookings_per_second=\([0-9.]*\).*/\1/p')
        per_read=$(echo "$line" | sed -n 's/.* events_per_read=\([0-9.]*\).*/\1/p')
        if [ "$rate" = 0 ]; then
            batch=$(python3 -c "print(max(1, round($per_read)))")
            rounds=$(python3 -c "print(round($booked / $batch, 2))")
        else
            batch=1
            rounds=$rate
        fi
        start_floor "$rounds" "$batch"
        echo
        echo "== floor, run $r: $rounds rounds/s of $batch events (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
        timeout 200 taskset -c "$tool_core" "$load" fanout --port "$port" --server-events --subscribers "$subscribers" \
            --rates "$rate" --warmup-seconds "$warmup" --seconds "$seconds" --hub-pid "$server_pid" </dev/null \
            | tee "$work/floor-out" | grep -E 'stage 1, |deliveries:|latency:|per event|server CPU|completeness'
        grep '^summary' "$work/floor-out" | sed 's/^summary/floor/' >>"$work/summaries"
        stop_server
    done <"$work/stages"
done

echo
echo "over $repeats repeats: median (best); other load on the machine drags medians more than bests"
python3 - "$work/summaries" <<'EOF'
import collections, statistics, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, *fields = line.split()
    values = dict(field.split("=") for field in fields)
    runs[(float(values["rate"]), name)].append(values)
print(f"{'rate':>10} {'server':>6} {'bookings/s':>16} {'deliveries/s':>24} {'ev/write':>8} {'p50 ms':>16} {'p99 ms':>16}"
      f" {'CPU µs/delivery':>16}")
for (rate, name) in sorted(runs, key=lambda key: (key[0] == 0, key[0], key[1] != "hub")):
    values = runs[(rate, name)]
    def column(key):
        return [float(v[key]) for v in values if v.get(key, "n/a") != "n/a"]
    booked, delivered = column("bookings_per_second"), column("deliveries_per_second")
    p50, p99, cpu, batch = column("p50_ms"), column("p99_ms"), column("hub_cpu_us_per_delivery"), column("events_per_read")
    label = "saturation" if rate == 0 else f"{rate:.0f}/s"
    print(f"{label:>10} {name:>6} {statistics.median(booked):>8.1f} ({max(booked):>5.1f})"
          f" {statistics.median(delivered):>13,.0f} ({max(delivered):>9,.0f}) {statistics.median(batch):>8.2f}"
          f" {statistics.median(p50):>7.1f} ({min(p50):>6.1f}) {statistics.median(p99):>7.1f} ({min(p99):>6.1f})"
          f" {statistics.median(cpu):>7.2f} ({min(cpu):.2f})")
    incomplete = [v["complete"] for v in values if v["complete"].split("/")[0] != v["complete"].split("/")[1]]
    if incomplete:
        print(f"{'':>10} deliveries missing in some runs: {', '.join(incomplete)}")
EOF
