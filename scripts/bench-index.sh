#!/usr/bin/env bash
# The availability index at building scale (issue 4, BENCHMARKS.md "Availability index"):
# builds release and runs `spacehub-load index` (1,000,000 bookings on 1,000 resources).
# Arguments go to the benchmark (`spacehub-load index --help`). While measuring it holds the
# machine's Swift build lock (BENCH_NO_LOCK=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/swift-locked build -c release --product spacehub-load >/dev/null
if [ -z "${BENCH_NO_LOCK:-}" ]; then
    exec 9>/tmp/spacehub-swift-build.lock
    flock 9
fi
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
exec .build/release/spacehub-load index "$@" 9>&-
