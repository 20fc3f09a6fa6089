#!/usr/bin/env bash
# Where a booking request's hub CPU goes: runs the booking hammer (scripts/bench-hammer.sh, SQLite
# unless BENCH_STORE says otherwise), samples the hub with `perf record` for PROFILE_SECONDS
# (default 8) in the middle of it, and prints each part's share of the hub's samples (all its
# threads), inclusive of what it calls. The parts are named by function (scripts/profile_parts.py);
# BENCHMARKS.md "Where a booking request's CPU goes" records a run.
#
#   scripts/profile-hammer.sh                      # perf.data and the breakdown in a temp dir
#   BENCH_STORE=postgresql BENCH_PG_CORES=0 scripts/profile-hammer.sh
#
# Needs `perf` (linux-perf) and permission to sample the hub's process (kernel.perf_event_paranoid
# <= 2 for one's own processes). Sends traffic to 127.0.0.1 only; stops by itself.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v perf >/dev/null || { echo "perf is not installed (apt-get install linux-perf)"; exit 1; }
seconds=${PROFILE_SECONDS:-8}
dir=$(mktemp -d /tmp/spacehub-profile-XXXXXX)
[ -n "${BENCH_NO_BUILD:-}" ] || scripts/swift-locked build -c release >/dev/null

# The hammer runs long enough to sample its middle: from 3 s after the hub started (its setup,
# registering members and creating spaces, takes about 2 s; the load tool's own output is
# buffered until it ends, so it cannot say when), for `seconds`.
BENCH_NO_BUILD=1 scripts/bench-hammer.sh --seconds $((seconds + 4)) >"$dir/hammer.out" 2>&1 &
bench=$!
hub=""
for _ in $(seq 100); do
    hub=$(sed -n 's/^hub: pid \([0-9]*\) .*/\1/p' "$dir/hammer.out")
    [ -n "$hub" ] && break
    sleep 0.1
done
[ -n "$hub" ] || { cat "$dir/hammer.out"; echo "the hammer did not start"; exit 1; }
sleep 3
perf record -F 1999 -g -p "$hub" -o "$dir/perf.data" -- sleep "$seconds" 2>&1 | tail -1
wait "$bench" || true  # the hammer exits 1 when its 10,000/s threshold is missed
grep -E '^  (requests|latency|hub CPU):' "$dir/hammer.out"
perf script -i "$dir/perf.data" 2>/dev/null | swift demangle --simplified >"$dir/stacks.txt"
python3 scripts/profile_parts.py "$dir/stacks.txt"
echo "perf data and stacks: $dir"
