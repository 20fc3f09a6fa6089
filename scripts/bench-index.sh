#!/usr/bin/env bash
# The availability index at building scale (issue 4, BENCHMARKS.md "Availability index" and
# "Start-up rebuild"): builds release, then
#   1. `spacehub-load index`: 1,000,000 bookings on 1,000 resources, in memory;
#   2. `spacehub-load rebuild`: the same workload written to a SQLite file, and the read + index
#      build the hub does at start timed on it;
#   3. the hub itself started on that file (by PID, stopped right after it listens): its own
#      "availability index rebuilt" log line and the time until it listens.
# While measuring it holds the machine's Swift build lock (BENCH_NO_LOCK=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/swift-locked build -c release >/dev/null
if [ -z "${BENCH_NO_LOCK:-}" ]; then
    exec 9>/tmp/spacehub-swift-build.lock
    flock 9
fi

dir=$(mktemp -d /tmp/spacehub-index-bench.XXXXXX)
hub_pid=""
cleanup() {
    if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then
        kill "$hub_pid"
        wait "$hub_pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
}
trap cleanup EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
.build/release/spacehub-load index 9>&- || status=$?
echo
.build/release/spacehub-load rebuild --path "$dir/rebuild.sqlite" --keep 9>&- || status=$?

echo
echo "the hub starting on that file:"
started=$(date +%s%N)
# Its own directory: a started hub writes mail files under ./var.
(cd "$dir" && SPACEHUB_DB="$dir/rebuild.sqlite" PORT=0 HOST=127.0.0.1 LOG_LEVEL=info ACCESS_LOG=false \
    exec "$root/.build/release/spacehub" serve >"$dir/hub.log" 2>&1 9>&-) &
hub_pid=$!
for _ in $(seq 600); do
    grep -q "listening on" "$dir/hub.log" && break
    kill -0 "$hub_pid" 2>/dev/null || { cat "$dir/hub.log"; exit 1; }
    sleep 0.05
done
listening=$(date +%s%N)
# The hub's own log line: "availability index rebuilt bookings=… ms=… spaces=…".
grep -o "availability index rebuilt.*" "$dir/hub.log" | sed 's/^/  /' || echo "  (the hub logged no rebuild line)"
echo "  process start to listening: $(( (listening - started) / 1000000 )) ms"
exit $status
