#!/usr/bin/env bash
# The booking hammer (issue 6, BENCHMARKS.md "Booking hammer"): builds release, starts the hub on
# a fresh database (durability full) pinned to core 0, runs `spacehub-load hammer` pinned to
# core 1, prints its report, and stops the hub it started by PID. Arguments go to the hammer:
#
#   scripts/bench-hammer.sh                      # 64 connections, 100 spaces, 10 s
#   scripts/bench-hammer.sh --connections 128    # any `spacehub-load hammer --help` option
#   BENCH_STORE=postgresql scripts/bench-hammer.sh   # on a private PostgreSQL (scripts/pg.sh,
#                                                    # fsync on) pinned to core 0 with the hub
#                                                    # (BENCH_PG_CORES: its cores; on core 1 its
#                                                    # round trips queue behind the load's threads)
#
# On PostgreSQL it also prints the server's CPU time per accepted booking (all its processes).
# While measuring it holds the machine's Swift build lock, so no build from another work tree
# competes for the two cores (BENCH_NO_LOCK=1 skips that). For a script that runs it
# (scripts/bench-metrics.sh): BENCH_HUB is the hub binary, BENCH_NO_BUILD=1 skips the build,
# BENCH_SUMMARIES=FILE appends the hammer's summary line there; the hub inherits the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -n "${BENCH_NO_BUILD:-}" ] || scripts/swift-locked build -c release >/dev/null
hub=${BENCH_HUB:-.build/release/spacehub}
if [ -z "${BENCH_NO_LOCK:-}" ]; then
    exec 9>/tmp/spacehub-swift-build.lock
    flock 9
fi

dir=$(mktemp -d /tmp/spacehub-hammer.XXXXXX)
hub_pid=""
store=${BENCH_STORE:-sqlite}
cleanup() {
    if [ -n "$hub_pid" ] && kill -0 "$hub_pid" 2>/dev/null; then
        kill "$hub_pid"
        wait "$hub_pid" 2>/dev/null || true
    fi
    [ "$store" = postgresql ] && scripts/pg.sh destroy "$pg_dir"
    rm -rf "$dir"
}
trap cleanup EXIT

db="$dir/hub.sqlite"
if [ "$store" = postgresql ]; then
    # A directory of its own under /tmp: the server runs as `postgres` and must reach it.
    pg_dir=$(mktemp -d /tmp/spacehub-hammer-pg.XXXXXX)
    db=$(taskset -c "${BENCH_PG_CORES:-0}" scripts/pg.sh start "$pg_dir" 9>&-)
    export DATABASE_URL="$db"
fi
# User + system CPU clock ticks of the private cluster: the postmaster, its live children, and
# (cutime/cstime) the children it has reaped. Fields after the ")" that ends the command name.
pg_cpu() {
    local postmaster
    postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
    { sed 's/.*) //' "/proc/$postmaster/stat" | awk '{print $12 + $13 + $14 + $15}'
      for p in $(pgrep -P "$postmaster"); do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}'; done
    } | awk '{s += $1} END {print s}'
}

# Members are registered up front and book as fast as they can: lift the per-IP registration
# limit, the hold cap and the booking and write rate limits for this run only.
echo '{"auth": {"rateLimits": {"registerPerMinutePerIp": 10000}}}' >"$dir/config.json"
export RATE_LIMIT_WRITES_PER_IP=1000000 RATE_LIMIT_WRITES_PER_USER=1000000 RATE_LIMIT_BOOKINGS_PER_USER=1000000 \
    RATE_LIMIT_BOOKINGS_PER_IP=1000000 HOLDS_PER_MEMBER_MAX=1000000

SPACEHUB_DB="$dir/hub.sqlite" PORT=0 HOST=127.0.0.1 SPACEHUB_DURABILITY=full PASSWORD_COST_LOG2=10 \
    ACCESS_LOG=false LOG_LEVEL=warning \
    taskset -c 0 "$hub" serve --config "$dir/config.json" >"$dir/hub.log" 2>&1 9>&- &
hub_pid=$!
port=""
for _ in $(seq 200); do
    port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/hub.log")
    [ -n "$port" ] && break
    kill -0 "$hub_pid" 2>/dev/null || { cat "$dir/hub.log"; exit 1; }
    sleep 0.1
done
[ -n "$port" ] || { echo "hub did not start"; cat "$dir/hub.log"; exit 1; }
password=$(sed -n 's/^ *password: *//p' "$dir/hub.log")

echo "hub: pid $hub_pid pinned to core 0, port $port, store $store, durability full; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
[ "$store" = postgresql ] && pg_before=$(pg_cpu)
taskset -c 1 .build/release/spacehub-load hammer --port "$port" --db "$db" --admin-password "$password" \
    --hub-pid "$hub_pid" "$@" 9>&- | tee "$dir/out" || status=$?
if [ "$store" = postgresql ]; then
    pg_after=$(pg_cpu)
    accepted=$(psql -qtA "$db" -c "SELECT COUNT(*) FROM bookings")
    ticks=$(getconf CLK_TCK)
    echo "PostgreSQL CPU time: $(awk -v t=$((pg_after - pg_before)) -v h="$ticks" 'BEGIN {printf "%.2f", t / h}') s for" \
         "$accepted bookings in the database: $(awk -v t=$((pg_after - pg_before)) -v h="$ticks" -v n="$accepted" \
         'BEGIN {printf "%.0f", t / h * 1e6 / n}') µs per booking (whole run, setup included)"
fi
if [ -n "${BENCH_SUMMARIES:-}" ]; then echo "hammer $(grep '^summary' "$dir/out")" >>"$BENCH_SUMMARIES"; fi
echo "hub CPU time: $(ps -o times= -p "$hub_pid" | tr -d ' ') s (user+sys, whole life)"
exit $status
