#!/usr/bin/env bash
# Runs Autobahn|Testsuite (all cases but 12.* and 13.*, permessage-deflate) against the release
# hub's /ws/echo endpoint and writes the summary to docs/CONFORMANCE.md when it passes.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/spacehub
[ -x "$binary" ] || scripts/swift-locked build -c release
# ../shared sits beside the main checkout; a linked work tree (git worktree) finds it through the
# common git directory. AUTOBAHN_CHECK overrides both.
checker=${AUTOBAHN_CHECK:-../shared/tools/autobahn-check}
if [ ! -e "$checker" ]; then
    checker="$(cd "$(git rev-parse --git-common-dir)/.." && pwd)/../shared/tools/autobahn-check"
fi
work=$(mktemp -d /tmp/spacehub-autobahn.XXXXXX)
port=${AUTOBAHN_PORT:-9181}
SPACEHUB_DB="$work/hub.sqlite" SPACEHUB_ECHO=true ACCESS_LOG=false LOG_LEVEL=warning PASSWORD_COST_LOG2=10 \
    "$binary" serve --host 127.0.0.1 --port "$port" >"$work/hub.log" 2>&1 &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null || true' EXIT
rc=0
python3 "$checker" ${AUTOBAHN_ARGS:-} --url "ws://127.0.0.1:$port/ws/echo" --report-dir "$work/report" | tee "$work/summary.txt" || rc=$?
kill "$hub_pid" 2>/dev/null || true
wait "$hub_pid" 2>/dev/null || true
if [ "$rc" -eq 0 ] && [ "${AUTOBAHN_WRITE_DOC:-0}" = 1 ]; then
    # A hand-written "## Notes" section at the end of the old file survives regeneration.
    notes=$(sed -n '/^## Notes/,$p' docs/CONFORMANCE.md 2>/dev/null || true)
    mkdir -p docs
    {
        echo "# WebSocket conformance (Autobahn|Testsuite)"
        echo
        echo "Command: \`${AUTOBAHN_ARGS:+AUTOBAHN_ARGS=\"$AUTOBAHN_ARGS\" }scripts/autobahn.sh\` (runs"
        echo "\`../shared/tools/autobahn-check ${AUTOBAHN_ARGS:+$AUTOBAHN_ARGS }--url ws://127.0.0.1:$port/ws/echo\` against the release"
        echo "build with \`conformance.echo\` on). Cases 12.* and 13.* (permessage-deflate) are excluded: the hub"
        echo "negotiates no extensions. Run on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD)."
        echo
        echo '```'
        grep -v "^autobahn-check: \\[" "$work/summary.txt"
        echo '```'
        if [ -n "$notes" ]; then
            echo
            echo "$notes"
        fi
    } > docs/CONFORMANCE.md
fi
# The reports stay for a failed run, to read; a passing run leaves nothing behind.
if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "autobahn: reports kept in $work/report"; fi
exit "$rc"
