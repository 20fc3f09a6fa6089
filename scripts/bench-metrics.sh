#!/usr/bin/env bash
# What /metrics costs (BENCHMARKS.md, "Metrics"): scripts/bench-ws-echo.sh (100 connections,
# windows 1 and 16) and scripts/bench-hammer.sh, run back to back with metrics off and on,
# BENCH_REPEATS times, the order alternating (off, on, then on, off, …) so that drift in the
# machine's other load falls on both. "on" is METRICS_ENABLED=true with the loopback listener,
# scraped once a second the whole time (Prometheus scrapes every 15 s by default). With
# BENCH_BASE=<revision> a third arm runs the hub built from that revision (without the metrics
# code, so without even the counters that run when metrics are off), built once into
# .build-base-<revision>/. The last lines are medians and the on/off ratios.
#
#   scripts/bench-metrics.sh                              # 5 repeats, about 8 minutes
#   BENCH_REPEATS=3 BENCH_BASE=main scripts/bench-metrics.sh
#
# Holds the Swift build lock the whole time (the inner scripts run with BENCH_NO_LOCK=1).
set -euo pipefail
cd "$(dirname "$0")/.."

repeats=${BENCH_REPEATS:-5}
base=${BENCH_BASE:-}

scripts/swift-locked build -c release >/dev/null
hub=$PWD/.build/release/spacehub
base_hub=""
if [ -n "$base" ]; then
    rev=$(git rev-parse --short "$base")
    base_dir=$PWD/.build-base-$rev
    if [ ! -x "$base_dir/.build/release/spacehub" ]; then
        rm -rf "$base_dir"
        mkdir -p "$base_dir"
        git archive "$rev" | tar -x -C "$base_dir"
        scripts/swift-locked build -c release --package-path "$base_dir" >/dev/null
    fi
    base_hub=$base_dir/.build/release/spacehub
fi

exec 9>/tmp/spacehub-swift-build.lock
flock 9

work=$(mktemp -d /tmp/spacehub-bench-metrics.XXXXXX)
scraper=""
finish() {
    if [ -n "$scraper" ]; then kill "$scraper" 2>/dev/null || true; wait "$scraper" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap finish EXIT

metrics_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# One scrape a second, on the load tool's core, whichever hub is up (refused at once when metrics are off).
(while true; do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$metrics_port/metrics" || true; sleep 1; done) 9>&- &
scraper=$!

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources LoadTests || echo ' (with uncommitted changes)')${base:+, base $base}"
echo "date: $(date -u +%Y-%m-%dT%H:%MZ); $repeats repeats; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

run() {
    local mode=$1 binary=$hub
    local -a env=(BENCH_NO_LOCK=1 BENCH_NO_BUILD=1 BENCH_SUMMARIES="$work/$mode")
    case $mode in
        on) env+=(METRICS_ENABLED=true METRICS_HOST=127.0.0.1 METRICS_PORT="$metrics_port") ;;
        base) binary=$base_hub; env+=(BENCH_HUB_CONFIG="$base_dir/config/spacehub.json") ;;
    esac
    echo "== $mode (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    env "${env[@]}" BENCH_HUB="$binary" BENCH_CONNECTIONS=100 BENCH_WINDOWS="1 16" BENCH_REPEATS=1 BENCH_FLOOR=0 \
        scripts/bench-ws-echo.sh 9>&- | grep -E '^(hub|server peak)' || true
    env "${env[@]}" BENCH_HUB="$binary" scripts/bench-hammer.sh 9>&- | grep -E '^  (requests|latency|hub CPU)' || true
}

modes=(off on)
[ -n "$base" ] && modes+=(base)
for r in $(seq "$repeats"); do
    echo
    echo "=== repeat $r of $repeats"
    order=("${modes[@]}")
    if [ $((r % 2)) -eq 0 ]; then order=($(printf '%s\n' "${modes[@]}" | tac)); fi
    for mode in "${order[@]}"; do run "$mode"; done
done

echo
echo "medians over $repeats repeats (best in brackets); CPU is the hub's user+sys time per message or request"
python3 - "$work" "${modes[@]}" <<'EOF'
import collections, os, statistics, sys
work, modes = sys.argv[1], sys.argv[2:]
rows = collections.defaultdict(lambda: collections.defaultdict(list))
for mode in modes:
    path = os.path.join(work, mode)
    if not os.path.exists(path):
        continue
    for line in open(path):
        name, _, *fields = line.split()
        values = dict(field.split("=") for field in fields)
        if name == "hammer":
            key = "hammer"
            rows[key][mode].append((float(values["requests_per_second"]), float(values["hub_cpu_ns_per_request"]) / 1000))
        else:
            key = f"echo window {values['window']}"
            rows[key][mode].append((float(values["messages_per_second"]), float(values["hub_cpu_us_per_message"])))
print(f"{'benchmark':16} {'mode':5} {'rate/s':>20} {'CPU µs':>16} {'CPU vs off':>11} {'rate vs off':>12}")
for key in sorted(rows):
    off = rows[key].get("off")
    for mode in modes:
        runs = rows[key].get(mode)
        if not runs:
            continue
        rate = statistics.median(r for r, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        line = f"{key:16} {mode:5} {rate:>10.0f} ({max(r for r, _ in runs):>7.0f}) {cpu:>7.3f} ({min(c for _, c in runs):.3f})"
        if off and mode != "off":
            off_rate = statistics.median(r for r, _ in off)
            off_cpu = statistics.median(c for _, c in off)
            line += f" {100 * (cpu / off_cpu - 1):>+10.1f}% {100 * (rate / off_rate - 1):>+11.1f}%"
        print(line)
EOF
