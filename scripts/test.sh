#!/usr/bin/env bash
# Installs what the tests need and runs every test: Swift unit and integration tests, the codec
# fuzz targets for a bounded time, the Swift tests again under AddressSanitizer, the
# Autobahn|Testsuite conformance run against the hub's echo endpoint, and the end-to-end suite
# (real hub process, real sockets, fake outside services on 127.0.0.1, headless Chromium) twice:
# on SQLite and on PostgreSQL. A private PostgreSQL cluster (scripts/pg.sh) serves the Swift
# store tests and is removed at exit; the PostgreSQL e2e run starts one of its own. Exits
# non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "PostgreSQL for the Swift store tests (private cluster on loopback)"
pg_dir=$(mktemp -d /tmp/spacehub-test-pg-XXXXXX)
trap 'scripts/pg.sh destroy "$pg_dir"' EXIT
export SPACEHUB_TEST_PG
SPACEHUB_TEST_PG=$(scripts/pg.sh start "$pg_dir")
export SPACEHUB_TEST_PG_ADMIN="postgresql://postgres@127.0.0.1:$(cat "$pg_dir/port")/postgres"

step "swift test (debug, interval-tree invariants checked after every mutation)"
swift build --build-tests -Xswiftc -DHUB_INTERNAL_CHECKS
swift test --skip-build -Xswiftc -DHUB_INTERNAL_CHECKS

step "the whole hub in process again, on PostgreSQL (every read on the read threads, docs/POSTGRESQL.md)"
SPACEHUB_TESTHUB_STORE=postgresql swift test --skip-build -Xswiftc -DHUB_INTERNAL_CHECKS --filter HubServerTests

step "fuzz targets, 25 s each: HTTP request and response parsers, WebSocket decoder, JSON (docs/FUZZING.md)"
scripts/fuzz.sh --seconds 25

step "swift test under AddressSanitizer and LeakSanitizer (docs/FUZZING.md)"
scripts/sanitizers.sh address

step "release build"
swift build -c release

step "Autobahn|Testsuite against /ws/echo"
scripts/autobahn.sh

# The two passes run side by side: most of the suite's time is waiting (for a booking's minute on
# the real clock, for timeouts, for Chromium), so together they take about as long as one. The
# PostgreSQL pass writes to a log shown when it ends.
step "end-to-end tests, on SQLite and (alongside, output below) on PostgreSQL"
pg_log=$(mktemp /tmp/spacehub-e2e-postgresql.XXXXXX.log)
SPACEHUB_BIN="$PWD/.build/release/spacehub" .venv/bin/python -m pytest -q -x Tests/e2e --store postgresql "$@" >"$pg_log" 2>&1 &
pg_pid=$!
sqlite_status=0
SPACEHUB_BIN="$PWD/.build/release/spacehub" .venv/bin/python -m pytest -q -x Tests/e2e --store sqlite "$@" || sqlite_status=$?
pg_status=0
wait "$pg_pid" || pg_status=$?
step "end-to-end tests on PostgreSQL (exit $pg_status)"
cat "$pg_log"
rm -f "$pg_log"
[ "$sqlite_status" -eq 0 ] && [ "$pg_status" -eq 0 ]
