#!/usr/bin/env bash
# HTTP benchmark (BENCHMARKS.md, "HTTP"; issue 2): `wrk -t1 -c64 -d10s` against a small JSON GET,
# the hub pinned to core 0 and wrk to core 1. Builds release, starts the hub on a temporary
# database, then BENCH_REPEATS times per path: wrk's report and the hub's CPU time per request
# (utime + stime from /proc over the run). Stops the hub by its PID. Loopback only.
#
#   scripts/bench-http.sh                                   # the published run
#   BENCH_PATHS=/healthz BENCH_REPEATS=1 scripts/bench-http.sh
#   BENCH_HUB=/tmp/other/spacehub BENCH_NO_BUILD=1 scripts/bench-http.sh   # another build, as is
#   BENCH_PEER=$(scripts/peers/build-uws-http.sh | tail -1) scripts/bench-http.sh
#       # and uWebSockets serving /healthz in the same run, each hub run followed by one of it
set -euo pipefail
cd "$(dirname "$0")/.."

paths=${BENCH_PATHS:-"/healthz /api/version"}
repeats=${BENCH_REPEATS:-3}
seconds=${BENCH_SECONDS:-10}
hub_core=${BENCH_HUB_CORE:-0}
tool_core=${BENCH_TOOL_CORE:-1}

hub=${BENCH_HUB:-.build/release/spacehub}
if [ -z "${BENCH_NO_BUILD:-}" ]; then
    scripts/setup.sh >/dev/null
    scripts/swift-locked build -c release --product spacehub >/dev/null
fi
work=$(mktemp -d /tmp/spacehub-bench.XXXXXX)
. scripts/bench-lib.sh

# utime + stime of process $1, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

exec 9>/tmp/spacehub-swift-build.lock
flock 9

print_machine
start_server "$work/hub.log" env SPACEHUB_DB="$work/hub.sqlite" ACCESS_LOG=false LOG_LEVEL=warning \
    PASSWORD_COST_LOG2=10 "$hub" serve --host 127.0.0.1 --port 0
hub_pid=$server_pid
url="http://127.0.0.1:$port"
echo "hub on core $hub_core, wrk on core $tool_core; $url"
peer_url=""
if [ -n "${BENCH_PEER:-}" ]; then
    # The peer serves /healthz only; it runs on the hub's core too, idle while the hub is measured.
    peer_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    taskset -c "$hub_core" "$BENCH_PEER" "$peer_port" >"$work/peer.log" 2>&1 &
    peer_pid=$!
    for _ in $(seq 50); do curl -sf "http://127.0.0.1:$peer_port/healthz" >/dev/null && break; sleep 0.1; done
    peer_url="http://127.0.0.1:$peer_port"
    echo "peer $BENCH_PEER on core $hub_core; $peer_url"
fi
stop_peer() { if [ -n "${peer_pid:-}" ]; then kill "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true; fi; }
trap 'stop_peer; finish' EXIT
echo "response of $paths:"
for path in $paths; do curl -si "$url$path" | sed 's/^/    /'; echo; done
[ -z "$peer_url" ] || { echo "peer's response of /healthz:"; curl -si "$peer_url/healthz" | sed 's/^/    /'; echo; }
ticks=$(getconf CLK_TCK)

# measure <label> <pid> <url>: one wrk run, then the server's CPU time per request.
measure() {
    echo "\$ taskset -c $tool_core wrk -t1 -c64 -d${seconds}s $3"
    local before after requests
    before=$(cpu_ticks "$2")
    taskset -c "$tool_core" wrk -t1 -c64 -d"${seconds}s" "$3" | tee "$work/wrk.out"
    after=$(cpu_ticks "$2")
    requests=$(sed -n 's/^ *\([0-9]*\) requests in.*/\1/p' "$work/wrk.out")
    python3 -c "t = ($after - $before) / $ticks; print(f'$1 CPU: {t:.2f} s, {t / $requests * 1e6:.2f} µs per request')"
}

for path in $paths; do
    for r in $(seq "$repeats"); do
        echo
        echo "== $path, run $r (loadavg $(cut -d' ' -f1-3 /proc/loadavg))"
        measure hub "$hub_pid" "$url$path"
        if [ -n "$peer_url" ] && [ "$path" = /healthz ]; then
            echo "-- the peer, same path"
            measure peer "$peer_pid" "$peer_url$path"
        fi
    done
done
