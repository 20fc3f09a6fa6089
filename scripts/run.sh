#!/usr/bin/env bash
# Installs what the hub needs, builds it (release) and starts it on its embedded default:
# SQLite under ./var/, demo data, http://127.0.0.1:8080. Arguments go to `spacehub serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --runtime
swift build -c release --product spacehub
exec .build/release/spacehub serve "$@"
