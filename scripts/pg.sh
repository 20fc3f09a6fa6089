#!/usr/bin/env bash
# A private PostgreSQL cluster for tests and benchmarks: initdb into a directory of its own,
# listening on a free loopback port (and a socket in that directory), fsync on. Nothing else on
# the machine is touched; the system's own cluster, if any, is left alone.
#
#   scripts/pg.sh start DIR     initdb (if DIR is new) and start; prints the DATABASE_URL
#   scripts/pg.sh stop DIR      stop (fast shutdown) and leave DIR for inspection
#   scripts/pg.sh url DIR       print the DATABASE_URL of a running cluster
#   scripts/pg.sh crash DIR     stop at once (`-m immediate`: no checkpoint, as a crash or a cut
#                               power supply would leave it); `start` recovers from the WAL
#   scripts/pg.sh destroy DIR   stop and remove DIR
#
# Run as root (CI containers), the cluster belongs to the `postgres` account Debian's package
# creates: PostgreSQL refuses to run as root.
set -euo pipefail

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg.sh: PostgreSQL server binaries not found (scripts/setup.sh installs postgresql)" >&2; exit 1; }

command=${1:?usage: scripts/pg.sh start|stop|url|destroy DIR}
dir=${2:?usage: scripts/pg.sh start|stop|url|destroy DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

as_owner() {
    # From a directory the owner may enter (the caller's may be private to root).
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

url() {
    local port
    port=$(cat "$dir/port")
    echo "postgresql://spacehub:spacehub@127.0.0.1:$port/spacehub"
}

case "$command" in
start)
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; exit 1; }
        # A free port, chosen by the kernel.
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' >"$dir/port"
        cat >>"$dir/data/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
port = $(cat "$dir/port")
unix_socket_directories = '$dir'
fsync = on
synchronous_commit = on
max_connections = 200
shared_buffers = 128MB
log_min_messages = warning
log_min_error_statement = panic
EOF
        fresh=1
    fi
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 start >/dev/null
    if [ -n "${fresh:-}" ]; then
        as_owner "$bin/psql" -q -h "$dir" -p "$(cat "$dir/port")" -U postgres -d postgres -v ON_ERROR_STOP=1 \
            -c "CREATE ROLE spacehub LOGIN PASSWORD 'spacehub'" -c "CREATE DATABASE spacehub OWNER spacehub" >/dev/null
        # btree_gist needs a superuser to create; the hub's migration then finds it.
        as_owner "$bin/psql" -q -h "$dir" -p "$(cat "$dir/port")" -U postgres -d spacehub -v ON_ERROR_STOP=1 \
            -c "CREATE EXTENSION IF NOT EXISTS btree_gist" >/dev/null
    fi
    url
    ;;
stop)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
    ;;
url)
    url
    ;;
crash)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null
    ;;
destroy)
    [ -f "$dir/data/postmaster.pid" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "pg.sh: unknown command $command" >&2
    exit 2
    ;;
esac
