# Shared by the benchmark scripts (sourced, not run): one server process at a time, pinned to
# $hub_core, stopped by its PID on exit, when the script's temporary directory $work (if set) is
# removed too. Loopback only.

# A benchmark is one client doing what thousands would: the hub's per-address and per-user limits
# (config/README.md, rate limits) are lifted for the hubs these scripts start.
export RATE_LIMIT_WRITES_PER_IP=1000000 RATE_LIMIT_WRITES_PER_USER=1000000 RATE_LIMIT_WS_CONNECTS_PER_IP=1000000 \
    RATE_LIMIT_WS_MESSAGES=1000000 RATE_LIMIT_BOOKINGS_PER_USER=1000000 RATE_LIMIT_BOOKINGS_PER_IP=1000000 \
    HOLDS_PER_MEMBER_MAX=1000000

server_pid=
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=
    fi
}
finish() {
    stop_server
    if [ -n "${work:-}" ]; then rm -rf "$work"; fi
}
trap finish EXIT

# Starts "$@" pinned to the hub core, logging to $1, and waits for its "listening on
# http://…:PORT" line; sets server_pid and port.
start_server() {
    local log=$1
    shift
    taskset -c "$hub_core" "$@" >"$log" 2>&1 &
    server_pid=$!
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$log" | head -1)
        [ -n "$port" ] && return 0
        sleep 0.1
    done
    echo "server did not start:"
    cat "$log"
    exit 1
}

# The machine, commit and date lines every benchmark report starts with.
print_machine() {
    echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), Linux $(uname -r)"
    echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- Sources LoadTests || echo ' (with uncommitted changes)')"
    echo "date: $(date -u +%Y-%m-%dT%H:%MZ); open-file hard limit $(ulimit -Hn)"
}
