#!/usr/bin/env bash
# The floor under the booking hammer on PostgreSQL (BENCHMARKS.md "PostgreSQL"): bookings as SQL
# only, no hub, no HTTP. pgbench runs one transaction per attempt, as a careful application
# would without the hub's index: lock the space's row, insert the booking, let an exclusion
# constraint (btree_gist) refuse an overlap (`ON CONFLICT DO NOTHING` counts it as rejected),
# commit with fsync on. Server pinned to core 0 (where the hub runs in the hammer), pgbench to
# core 1; 16 clients, 100 spaces, 30-minute slots over 60 days, 10 s.
#
#   scripts/bench-pg-baseline.sh               # 16 clients, 10 s
#   scripts/bench-pg-baseline.sh 32 20         # clients, seconds
#
# It starts a private cluster (scripts/pg.sh) and removes it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-16}
seconds=${2:-10}

exec 9>/tmp/spacehub-swift-build.lock
flock 9

dir=$(mktemp -d /tmp/spacehub-pgbench.XXXXXX)
trap 'scripts/pg.sh destroy "$dir"' EXIT
url=$(taskset -c 0 scripts/pg.sh start "$dir" 9>&-)
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)

psql -q "$url" -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE spaces (id integer PRIMARY KEY, name text NOT NULL);
INSERT INTO spaces SELECT n, 'room ' || n FROM generate_series(1, 100) AS n;
CREATE TABLE bookings (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    space_id integer NOT NULL REFERENCES spaces(id),
    during tstzrange NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    EXCLUDE USING gist (space_id WITH =, during WITH &&)
);
SQL
cat >"$dir/book.sql" <<'SQL'
\set space random(1, 100)
\set slot random(0, 2879)
BEGIN;
SELECT id FROM spaces WHERE id = :space FOR UPDATE;
INSERT INTO bookings (space_id, during)
    VALUES (:space, tstzrange(timestamptz '2027-01-04 00:00+00' + :slot * interval '30 minutes',
                              timestamptz '2027-01-04 00:00+00' + (:slot + 1) * interval '30 minutes'))
    ON CONFLICT DO NOTHING;
COMMIT;
SQL
echo "pgbench: $clients clients, $seconds s, server on core 0 (fsync on), pgbench on core 1; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
taskset -c 1 "$bin/pgbench" -n -c "$clients" -j 2 -T "$seconds" -f "$dir/book.sql" "$url" 9>&- | tee "$dir/out" \
    | grep -E "^(tps|latency average|number of transactions actually processed)"
attempts=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$dir/out")
accepted=$(psql -qtA "$url" -c "SELECT COUNT(*) FROM bookings")
awk -v a="$attempts" -v b="$accepted" -v s="$seconds" \
    'BEGIN {printf "summary attempts_per_second=%d accepted_per_second=%d\n", a / s, b / s}'
