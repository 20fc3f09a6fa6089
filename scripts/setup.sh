#!/usr/bin/env bash
# Installs what SpaceHub needs to build, run and test on Debian: the C libraries (libpq among
# them), the load tool wrk, PostgreSQL (the tests start private clusters with scripts/pg.sh),
# headless Chromium for the browser tests, gcc and the libc headers for the Autobahn
# runtime's C accelerator (scripts/autobahn/install.sh), nginx for the reverse-proxy tests
# (Tests/e2e/test_proxy.py starts its own on loopback), the TypeScript compiler that checks
# /client/spacehub.d.ts (Debian's node-typescript: npm's registry is not needed; its nodejs also
# runs `node --check` on the pages' scripts, Tests/e2e/test_web_files.py), and a Python
# virtualenv (.venv/) with the test-only packages. Idempotent and quiet when everything is
# already there.
#
#   scripts/setup.sh            build + run + test dependencies
#   scripts/setup.sh --runtime  only what building and running the hub needs
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_packages=(libuv1-dev libsqlite3-dev libssl-dev libpq-dev pkg-config)
test_packages=(chromium chromium-driver wrk gcc libc6-dev nginx node-typescript postgresql postgresql-contrib)

packages=("${runtime_packages[@]}")
[ "${1:-}" = "--runtime" ] || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $sudo_cmd apt-get update -qq >/dev/null
    $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts nginx.service on install where systemd runs; the tests start their own
    # nginx on loopback, so the system one this script just installed is stopped and disabled.
    if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
        $sudo_cmd systemctl disable --now nginx.service >/dev/null 2>&1 || true
    fi
    # Likewise Debian's own PostgreSQL cluster: the tests start a private one (scripts/pg.sh).
    if [[ " ${missing[*]} " == *" postgresql "* ]] && [ -d /run/systemd/system ]; then
        $sudo_cmd systemctl disable --now postgresql.service >/dev/null 2>&1 || true
    fi
fi

[ "${1:-}" = "--runtime" ] && exit 0

# Python packages for the end-to-end tests (real peers: WebSocket client, SMTP server,
# ICS parser, Selenium). Kept in a private virtualenv so the system stays untouched.
requirements=scripts/requirements-test.txt
stamp=.venv/.requirements.sha
want=$(sha256sum "$requirements" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "setup: preparing .venv for the tests"
    python3 -m venv .venv
    .venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"
    echo "$want" > "$stamp"
fi
