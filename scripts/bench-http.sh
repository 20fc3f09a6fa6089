#!/usr/bin/env bash
# HTTP benchmark (BENCHMARKS.md, "HTTP"; issue 2): `wrk -t1 -c64 -d10s` against a small JSON GET,
# the hub pinned to core 0 and wrk to core 1. Builds release, starts the hub on a temporary
# database, then BENCH_REPEATS times per path: wrk's report and the hub's CPU time per request
# (utime + stime from /proc over the run). Stops the hub by its PID. Loopback only.
#
#   scripts/bench-http.sh                                   # the published run
#   BENCH_PATHS=/healthz BENCH_REPEATS=1 scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/.."

paths=${BENCH_PATHS:-"/healthz /api/version"}
repeats=${BENCH_REPEATS:-3}
seconds=${BENCH_SECONDS:-10}
hub_core=${BENCH_HUB_CORE:-0}
tool_core=${BENCH_TOOL_CORE:-1}

scripts/setup.sh >/dev/null
scripts/swift-locked build -c release --product spacehub >/dev/null
work=$(mktemp -d /tmp/spacehub-bench.XXXXXX)
. scripts/bench-lib.sh

# utime + stime of process $1, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

exec 9>/tmp/spacehub-swift-build.lock
flock 9

print_machine
start_server "$work/hub.log" env SPACEHUB_DB="$work/hub.sqlite" ACCESS_LOG=false LOG_LEVEL=warning \
    PASSWORD_COST_LOG2=10 .build/release/spacehub serve --host 127.0.0.1 --port 0
url="http://127.0.0.1:$port"
echo "hub on core $hub_core, wrk on core $tool_core; $url"
echo "response of $paths:"
for path in $paths; do curl -si "$url$path" | sed 's/^/    /'; echo; done
ticks=$(getconf CLK_TCK)
for path in $paths; do
    for r in $(seq "$repeats"); do
        echo
        echo "== $path, run $r (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
        echo "\$ taskset -c $tool_core wrk -t1 -c64 -d${seconds}s $url$path"
        before=$(cpu_ticks "$server_pid")
        taskset -c "$tool_core" wrk -t1 -c64 -d"${seconds}s" "$url$path" | tee "$work/wrk.out"
        after=$(cpu_ticks "$server_pid")
        requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk.out")
        python3 -c "import sys; t = ($after - $before) / $ticks; print(f'hub CPU: {t:.2f} s, {t / $requests * 1e6:.2f} µs per request')"
    done
done
