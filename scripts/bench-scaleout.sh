#!/usr/bin/env bash
# Scale-out benchmark (BENCHMARKS.md, "Scale-out"; issue 20): 1, 2 and 3 hubs on one private
# PostgreSQL (scripts/pg.sh, fsync on), all on this machine.
#
# For each hub count (BENCH_NODES, default "1 2 3"), on a fresh database:
#   - the booking hammer (`spacehub-load hammer`) spreads its connections over every hub:
#     accepted bookings/s, request latency, each hub's CPU time per request, PostgreSQL's CPU
#     time per booking;
#   - the fan-out run (`spacehub-load fanout`) spreads BENCH_SUBSCRIBERS WebSocket subscribers
#     over every hub and books through the first at each rate of BENCH_RATES: deliveries/s and
#     commit→delivery latency (the event's commit time on the first hub to its arrival at a
#     subscriber of any hub), complete or not.
# Nothing is pinned: three hubs, PostgreSQL and the load tool share the two cores, so the hubs
# compete with each other; BENCHMARKS.md says what changes on separate machines. Hubs are
# stopped by their PIDs; loopback only.
#
#   scripts/bench-scaleout.sh
#   BENCH_NODES="1 3" BENCH_SECONDS=5 BENCH_SUBSCRIBERS=3000 BENCH_NO_BUILD=1 scripts/bench-scaleout.sh
#   BENCH_PARTS=fanout BENCH_SUBSCRIBERS=300 BENCH_RATES=20 scripts/bench-scaleout.sh   # latency, light load
set -euo pipefail
cd "$(dirname "$0")/.."

nodes=${BENCH_NODES:-"1 2 3"}
seconds=${BENCH_SECONDS:-10}
connections=${BENCH_CONNECTIONS:-64}
subscribers=${BENCH_SUBSCRIBERS:-10000}
rates=${BENCH_RATES:-"20,0"}
parts=${BENCH_PARTS:-"hammer fanout"}

[ -n "${BENCH_NO_BUILD:-}" ] || scripts/swift-locked build -c release >/dev/null
hub=${BENCH_HUB:-.build/release/spacehub}
load=.build/release/spacehub-load
exec 9>/tmp/spacehub-swift-build.lock
flock 9

work=$(mktemp -d /tmp/spacehub-scaleout.XXXXXX)
pg_dir=$(mktemp -d /tmp/spacehub-scaleout-pg.XXXXXX)
pids=()
stop_hubs() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    pids=()
}
cleanup() {
    stop_hubs
    scripts/pg.sh destroy "$pg_dir" 9>&- || true
    rm -rf "$work"
}
trap cleanup EXIT

. scripts/bench-lib.sh
trap cleanup EXIT
url=$(scripts/pg.sh start "$pg_dir" 9>&-)
port_of_pg=$(cat "$pg_dir/port")
admin_url="postgresql://postgres@127.0.0.1:$port_of_pg/postgres"

# User + system CPU ticks of the cluster: the postmaster, its children, and those it reaped.
pg_cpu() {
    local postmaster
    postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
    { sed 's/.*) //' "/proc/$postmaster/stat" | awk '{print $12 + $13 + $14 + $15}'
      for p in $(pgrep -P "$postmaster"); do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | awk '{print $12 + $13}'; done
    } | awk '{s += $1} END {print s}'
}

# Starts $2 hubs on a new database named $1; sets ports, pids, password and database.
start_hubs() {
    local name=$1 count=$2
    psql -qtA "$admin_url" -c "CREATE DATABASE $name OWNER spacehub" >/dev/null
    database="${url%/*}/$name"
    echo '{"auth": {"rateLimits": {"registerPerMinutePerIp": 10000}}}' >"$work/config.json"
    ports=()
    for i in $(seq "$count"); do
        log="$work/$name-$i.log"
        DATABASE_URL="$database" SPACEHUB_DB="$work/unused-$i.sqlite" PORT=0 HOST=127.0.0.1 PASSWORD_COST_LOG2=10 \
            ACCESS_LOG=false LOG_LEVEL=warning "$hub" serve --config "$work/config.json" >"$log" 2>&1 9>&- &
        pids+=($!)
        local port=""
        for _ in $(seq 200); do
            port=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log")
            [ -n "$port" ] && break
            sleep 0.1
        done
        [ -n "$port" ] || { echo "hub $i did not start"; cat "$log"; exit 1; }
        ports+=("$port")
        if [ "$i" = 1 ]; then password=$(sed -n "s/^ *password: *//p" "$log"); fi
    done
}

joined() { local IFS=,; echo "$*"; }

print_machine
echo "PostgreSQL: $(psql -qtA "$admin_url" -c 'SHOW server_version'), fsync on, private cluster; nothing pinned"
for n in $nodes; do
  if [[ " $parts " == *" hammer "* ]]; then
    echo
    echo "===== $n hub(s): booking hammer, $connections connections spread over the hubs, $seconds s"
    start_hubs "hammer_$n" "$n"
    others=("${ports[@]:1}")
    other_pids=("${pids[@]:1}")
    before=$(pg_cpu)
    "$load" hammer --port "${ports[0]}" --db "$database" --admin-password "$password" --hub-pid "${pids[0]}" \
        --also-ports "$(joined "${others[@]}")" --also-pids "$(joined "${other_pids[@]}")" \
        --connections "$connections" --seconds "$seconds" 9>&- | grep -v '^threshold\|requests/s >= ' || true
    after=$(pg_cpu)
    accepted=$(psql -qtA "$database" -c "SELECT COUNT(*) FROM bookings")
    echo "  PostgreSQL CPU: $(awk -v t=$((after - before)) -v h="$(getconf CLK_TCK)" -v n="$accepted" \
        'BEGIN {printf "%.0f", t / h * 1e6 / n}') µs per booking (whole run, set-up included; $accepted bookings)"
    stop_hubs
  fi
  if [[ " $parts " == *" fanout "* ]]; then
    echo
    echo "===== $n hub(s): fan-out, $subscribers subscribers spread over the hubs, bookings through hub 1 at $rates/s"
    start_hubs "fanout_$n" "$n"
    others=("${ports[@]:1}")
    SPACEHUB_ADMIN_PASSWORD="$password" timeout 600 "$load" fanout --port "${ports[0]}" \
        --also-ports "$(joined "${others[@]}")" --admin-email admin@spacehub.local --subscribers "$subscribers" \
        --rates "$rates" --seconds "$seconds" --hub-pid "${pids[0]}" 9>&- | sed "/^thresholds/,/^  hub peak/{/^thresholds/d;/^    stage/d}" | grep -v "^summary" || true
    for i in "${!pids[@]}"; do
        echo "  hub $((i + 1)) CPU time: $(ps -o times= -p "${pids[$i]}" | tr -d ' ') s (whole life)"
    done
    stop_hubs
  fi
done
