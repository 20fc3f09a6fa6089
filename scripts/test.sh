#!/usr/bin/env bash
# Installs what the tests need and runs every test: Swift unit and integration tests, the codec
# fuzz targets for a bounded time, the Swift tests again under AddressSanitizer, the
# Autobahn|Testsuite conformance run against the hub's echo endpoint, and the end-to-end suite
# (real hub process, real sockets, real SQLite, fake outside services on 127.0.0.1, headless
# Chromium). Exits non-zero on the first failing stage.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n==> %s\n' "$*"; }

step "swift test (debug, interval-tree invariants checked after every mutation)"
swift build --build-tests -Xswiftc -DHUB_INTERNAL_CHECKS
swift test --skip-build -Xswiftc -DHUB_INTERNAL_CHECKS

step "fuzz targets, 25 s each: HTTP request and response parsers, WebSocket decoder, JSON (docs/FUZZING.md)"
scripts/fuzz.sh --seconds 25

step "swift test under AddressSanitizer and LeakSanitizer (docs/FUZZING.md)"
scripts/sanitizers.sh address

step "release build"
swift build -c release

step "Autobahn|Testsuite against /ws/echo"
scripts/autobahn.sh

step "end-to-end tests"
SPACEHUB_BIN="$PWD/.build/release/spacehub" .venv/bin/python -m pytest -q -x Tests/e2e "$@"
