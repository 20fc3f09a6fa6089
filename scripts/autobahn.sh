#!/usr/bin/env bash
# Runs Autobahn|Testsuite (all cases but 12.* and 13.*, permessage-deflate) against the release
# hub's /ws/echo endpoint and writes the summary to docs/CONFORMANCE.md when it passes.
#
#   scripts/autobahn.sh                                  the default selection
#   AUTOBAHN_ARGS="--cases '1.*,2.*'" scripts/autobahn.sh   options for scripts/autobahn/run.py
#   AUTOBAHN_WRITE_DOC=1 scripts/autobahn.sh             also rewrite docs/CONFORMANCE.md
#   AUTOBAHN_PORT=9181                                   the hub's loopback port
#
# The suite installs itself into .cache/autobahn/ on first use (scripts/autobahn/README.md).
# The last line is `autobahn: N passed, M failed`; the exit status is 0 only when M is 0.
set -euo pipefail
cd "$(dirname "$0")/.."
binary=.build/release/spacehub
[ -x "$binary" ] || scripts/swift-locked build -c release
# AUTOBAHN_ARGS is split like a shell command line: quotes work, nothing is globbed or run.
extra=()
if [ -n "${AUTOBAHN_ARGS:-}" ]; then
    split=$(python3 -c 'import shlex, sys; print("\n".join(shlex.split(sys.argv[1])))' "$AUTOBAHN_ARGS")
    [ -z "$split" ] || mapfile -t extra <<<"$split"
fi
work=$(mktemp -d /tmp/spacehub-autobahn.XXXXXX)
port=${AUTOBAHN_PORT:-9181}
SPACEHUB_DB="$work/hub.sqlite" SPACEHUB_ECHO=true ACCESS_LOG=false LOG_LEVEL=warning PASSWORD_COST_LOG2=10 \
    "$binary" serve --host 127.0.0.1 --port "$port" >"$work/hub.log" 2>&1 &
hub_pid=$!
trap 'kill "$hub_pid" 2>/dev/null || true' EXIT
rc=0
python3 scripts/autobahn/run.py "${extra[@]}" --url "ws://127.0.0.1:$port/ws/echo" --report-dir "$work/report" \
    | tee "$work/summary.txt" || rc=$?
if [ "$rc" -ne 0 ] && ! kill -0 "$hub_pid" 2>/dev/null; then
    echo "autobahn: the hub had stopped; the end of $work/hub.log:" >&2
    tail -n 20 "$work/hub.log" >&2
fi
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
        echo "\`scripts/autobahn/run.py ${AUTOBAHN_ARGS:+$AUTOBAHN_ARGS }--url ws://127.0.0.1:$port/ws/echo\` against the release"
        echo "build with \`conformance.echo\` on; the suite installs itself into \`.cache/autobahn/\` on first use,"
        echo "see \`scripts/autobahn/README.md\`). Cases 12.* and 13.* (permessage-deflate) are excluded: the hub"
        echo "negotiates no extensions. Run on $(date -u +%Y-%m-%d) at commit $(git rev-parse --short HEAD)."
        echo
        echo '```'
        sed '/./,$!d' "$work/summary.txt"  # without the leading blank line
        echo '```'
        if [ -n "$notes" ]; then
            echo
            echo "$notes"
        fi
    } > docs/CONFORMANCE.md
fi
# The reports stay for a failed run, to read; a passing run leaves nothing behind.
if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "autobahn: reports kept in $work" >&2; fi
exit "$rc"
