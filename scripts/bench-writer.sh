#!/usr/bin/env bash
# Durable booking commits through the group-commit writer (issue 4, BENCHMARKS.md "Writer"):
# builds release, runs `spacehub-load writer` (64 producers, durability full, 10 s), then a
# short second run under strace that counts the fsync/fdatasync calls per commit group.
# Arguments go to both runs:
#
#   scripts/bench-writer.sh                  # the recorded configuration
#   scripts/bench-writer.sh --producers 128  # any `spacehub-load writer --help` option
#
# While measuring it holds the machine's Swift build lock, so no build from another work tree
# competes for the two cores (BENCH_NO_LOCK=1 skips that).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/swift-locked build -c release --product spacehub-load >/dev/null
if [ -z "${BENCH_NO_LOCK:-}" ]; then
    exec 9>/tmp/spacehub-swift-build.lock
    flock 9
fi

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
.build/release/spacehub-load writer --producers 64 --seconds 10 --durability full "$@" 9>&- || status=$?

if command -v strace >/dev/null; then
    trace=$(mktemp /tmp/spacehub-writer-strace.XXXXXX)
    echo
    echo "fsync count (3 s under strace, which slows every system call: counts only, not speed):"
    strace -f -c --seccomp-bpf -e trace=fsync,fdatasync -o "$trace" \
        .build/release/spacehub-load writer --producers 64 --seconds 3 --warmup 0 --durability full "$@" 9>&- \
        | grep -E "committed bookings|fsyncs" || true
    grep -E "fsync|fdatasync|total" "$trace" || true
    rm -f "$trace"
fi
exit $status
