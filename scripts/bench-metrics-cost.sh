#!/usr/bin/env bash
# The measurement behind /metrics being hand-written (BENCHMARKS.md, "Metrics"): builds
# scripts/metrics-cost (its own package, with apple/swift-metrics and swift-server/swift-prometheus,
# not part of the hub's build) in release and runs it pinned to one core, holding the build lock
# so no other build competes. About a minute after the first build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/swift-locked build -c release --package-path scripts/metrics-cost --scratch-path .build-metrics-cost >/dev/null
exec 9>/tmp/spacehub-swift-build.lock
flock 9
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "commit: $(git rev-parse --short HEAD)"
taskset -c "${BENCH_CORE:-1}" .build-metrics-cost/release/metrics-cost 9>&-
