#!/usr/bin/env bash
# Starts the release tarball (scripts/package.sh) in a minimal Debian root that has nothing but
# `debootstrap --variant=minbase` and the hub's runtime libraries, as an operator would install
# it (docs/DEPLOY.md): unpacked under /opt/spacehub, run as a `spacehub` user. From outside the
# root it checks that every library the binary needs resolves there, that /healthz and
# /api/version answer, that `spacehub --version` prints the packaged version, and that the
# systemd units verify against the unpacked files; then stops the hub by its pid (SIGTERM,
# graceful exit 0). Needs root (debootstrap, chroot, mounts) and, the first time, Debian's mirror.
#
# The root is cached in .cache/package-root/ (rebuilt when the suite or library list changes),
# so only the first run pays for debootstrap; docs/DEPLOY.md records the measured times.
#
#   scripts/test-package.sh                 package (incremental build), then test
#   PACKAGE=dist/x.tar.gz scripts/test-package.sh   test that tarball
#   DEBIAN_MIRROR=http://… scripts/test-package.sh  another mirror
set -euo pipefail
cd "$(dirname "$0")/.."

suite=bookworm
runtime_packages=(libuv1 libsqlite3-0 libssl3)
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache="$PWD/.cache/package-root"
base="$cache/$suite-minbase"
started=$(date +%s)

say() { printf '==> %s\n' "$*"; }
fail() { printf 'test-package: FAIL: %s\n' "$*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "needs root (debootstrap, chroot, mount namespaces)"
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null

# MARK: the package
if [ -z "${PACKAGE:-}" ]; then
    scripts/package.sh
    version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/HubServer/App/Hub.swift)
    PACKAGE="dist/spacehub-$version-linux-$(uname -m).tar.gz"
fi
[ -f "$PACKAGE" ] || fail "no package at $PACKAGE"
name=$(basename "$PACKAGE" .tar.gz)
version=${name#spacehub-}
version=${version%-linux-*}

# MARK: the minimal root, made once
mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
want="$suite minbase ${runtime_packages[*]}"
if [ "$(cat "$base/.spacehub-root" 2>/dev/null)" != "$want" ]; then
    say "debootstrap --variant=minbase --include=${runtime_packages[*]} $suite (first run only)"
    rm -rf "$base" "$base.new"
    t0=$(date +%s)
    debootstrap --variant=minbase --include="$(IFS=,; echo "${runtime_packages[*]}")" "$suite" "$base.new" "$mirror" \
        > "$cache/debootstrap.log" 2>&1 || { tail -n 20 "$cache/debootstrap.log" >&2; fail "debootstrap"; }
    chroot "$base.new" useradd --system --home-dir /var/lib/spacehub --shell /usr/sbin/nologin spacehub
    chroot "$base.new" apt-get clean
    echo "$want" > "$base.new/.spacehub-root"
    mv "$base.new" "$base"
    say "root made in $(( $(date +%s) - t0 )) s: $(du -sh "$base" | cut -f1)"
fi

# MARK: install as docs/DEPLOY.md says
say "unpacking $PACKAGE into $base/opt/spacehub"
rm -rf "$base/opt/spacehub" "$base/var/lib/spacehub"
mkdir -p "$base/opt/spacehub"
tar -xzf "$PACKAGE" -C "$base/opt/spacehub"
ln -sfn "$name" "$base/opt/spacehub/current"
install -d -m 0700 "$base/var/lib/spacehub"
chroot "$base" chown spacehub:spacehub /var/lib/spacehub
binary=/opt/spacehub/current/bin/spacehub

# MARK: libraries
needed=$(readelf -d "$base$binary" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p')
say "the binary needs: $(echo $needed)"
resolved=$(chroot "$base" ldd "$binary")
if grep -q "not found" <<<"$resolved"; then echo "$resolved" >&2; fail "a library is missing in the root"; fi
if grep -qi "swift\|foundation" <<<"$resolved"; then echo "$resolved" >&2; fail "the Swift runtime is not linked in"; fi
for library in $needed; do
    # "libuv.so.1 => /lib/x86_64-linux-gnu/libuv.so.1 (0x…)", or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    path=$(awk -v lib="$library" '$1 == lib && $2 == "=>" { print $3 } $1 ~ "/" lib "$" { print $1 }' <<<"$resolved")
    [ -n "$path" ] || fail "ldd does not list $library"
    # /lib is a symlink to usr/lib on Debian 12; dpkg knows each file by the path its package
    # ships, which is either.
    real=$(chroot "$base" readlink -f "$path")
    owner=""
    for candidate in "$path" "$real" "${real#/usr}"; do
        owner=$(chroot "$base" dpkg -S "$candidate" 2>/dev/null) && break
    done
    [ -n "$owner" ] || fail "$library ($real) belongs to no package"
    printf '    %-24s %-44s %s\n' "$library" "$real" "${owner%%:*}"
done

# MARK: the units name files that exist
# The root has no systemd (nothing but the runtime), so the host's systemd-analyze reads the
# packaged units with /opt/spacehub/current pointing into the root.
if command -v systemd-analyze >/dev/null; then
    units=$(mktemp -d "${TMPDIR:-/tmp}/spacehub-units.XXXXXX")
    for unit in spacehub.service spacehub-backup.service spacehub-backup.timer; do
        sed "s|/opt/spacehub/current|$base/opt/spacehub/current|g" "$base/opt/spacehub/current/deploy/systemd/$unit" > "$units/$unit"
    done
    verified=$(systemd-analyze verify "$units"/* 2>&1) || { echo "$verified" >&2; rm -rf "$units"; fail "systemd-analyze verify"; }
    rm -rf "$units"
    [ -z "$verified" ] || { echo "$verified" >&2; fail "systemd-analyze verify warned"; }
    say "systemd units verify (ExecStart is the packaged binary)"
fi

# MARK: run it from outside
say "$binary --version"
# Bounded: a binary without the option would take it for `serve` and start.
printed=$(timeout 10 chroot --userspec=spacehub:spacehub "$base" /usr/bin/env -i PATH=/usr/bin:/bin "$binary" --version 2>&1) || true
echo "    $printed"
version_ok=no
grep -qF "$version" <<<"$printed" && version_ok=yes

log=$(mktemp "${TMPDIR:-/tmp}/spacehub-package-run.XXXXXX")
pidfile=$(mktemp "${TMPDIR:-/tmp}/spacehub-package-pid.XXXXXX")
# A private mount namespace: /proc and /dev inside the root vanish with the hub.
unshare --mount --propagation private --fork -- /bin/sh -c '
    root=$1; pidfile=$2; binary=$3
    mount -t proc proc "$root/proc" && mount --rbind /dev "$root/dev" || exit 97
    echo $$ > "$pidfile"
    exec chroot --userspec=spacehub:spacehub "$root" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/var/lib/spacehub \
        SPACEHUB_DB=/var/lib/spacehub/spacehub.sqlite HOST=127.0.0.1 PORT=0 \
        "$binary" serve --config /opt/spacehub/current/config/spacehub.json
' sh "$base" "$pidfile" "$binary" > "$log" 2>&1 &
outer=$!
hub=""
stop_hub() {
    [ -n "$hub" ] && kill -0 "$hub" 2>/dev/null && kill -TERM "$hub"
    for _ in $(seq 1 300); do kill -0 "$outer" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$outer" 2>/dev/null; then [ -n "$hub" ] && kill -KILL "$hub" 2>/dev/null; wait "$outer" || true; return 1; fi
    wait "$outer"
}
trap 'stop_hub >/dev/null 2>&1 || true; rm -f "$log" "$pidfile"' EXIT

port=""
for _ in $(seq 1 300); do
    [ -z "$hub" ] && [ -s "$pidfile" ] && hub=$(cat "$pidfile")
    port=$(sed -n 's|.*listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log")
    [ -n "$port" ] && break
    kill -0 "$outer" 2>/dev/null || { cat "$log" >&2; fail "the hub exited during start"; }
    sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; fail "the hub did not start within 30 s"; }
say "hub pid $hub listening on 127.0.0.1:$port (inside $base)"

health=$(curl -sS --max-time 5 "http://127.0.0.1:$port/healthz") || fail "/healthz unreachable"
[ "$health" = '{"status":"ok"}' ] || fail "/healthz answered $health"
api=$(curl -sS --max-time 5 "http://127.0.0.1:$port/api/version")
grep -qF "\"version\":\"$version\"" <<<"$api" || fail "/api/version answered $api, want $version"
say "/healthz $health; /api/version $api"
owner=$(chroot "$base" stat -c '%U %a' /var/lib/spacehub/spacehub.sqlite)
[ "$owner" = "spacehub 600" ] || fail "the database is '$owner', not the spacehub user's alone"

say "SIGTERM to $hub"
set +e
stop_hub
status=$?
set -e
[ "$status" -eq 0 ] || { cat "$log" >&2; fail "the hub exited $status after SIGTERM"; }
! grep -qF "$base/proc" /proc/mounts || fail "a mount of the root outlived the hub"
[ "$version_ok" = yes ] || fail "'spacehub --version' printed '$printed', not $version"
say "passed in $(( $(date +%s) - started )) s"
