#!/usr/bin/env bash
# Builds the release tarball operators install (docs/DEPLOY.md):
#   dist/spacehub-<version>-linux-<arch>.tar.gz   and its .sha256
# holding bin/spacehub (release, Swift runtime linked in: --static-swift-stdlib), config/,
# deploy/ (nginx, systemd, logrotate), docs/DEPLOY.md, README.md and BUILD (commit, toolchain).
# On the target only the C libraries remain: libuv1 libsqlite3-0 libssl3 (Debian 12 names).
# The build has its own scratch path, so it leaves .build/ (tests, benchmarks) alone.
#
#   scripts/package.sh        build and pack
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(sed -n 's/.*static let version = "\(.*\)".*/\1/p' Sources/HubServer/App/Hub.swift)
[ -n "$version" ] || { echo "package: no version in Sources/HubServer/App/Hub.swift" >&2; exit 1; }
arch=$(uname -m)
name="spacehub-$version-linux-$arch"
scratch=.build-package

scripts/setup.sh --runtime
scripts/swift-locked build -c release --static-swift-stdlib --product spacehub --scratch-path "$scratch"
binary="$scratch/release/spacehub"

stage=$(mktemp -d "${TMPDIR:-/tmp}/spacehub-package.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"
mkdir -p "$root/bin" "$root/docs"
install -m 0755 "$binary" "$root/bin/spacehub"
# Debug sections only: the symbol table stays, so a crash still prints named frames.
strip --strip-debug "$root/bin/spacehub"
cp -R config deploy "$root/"
cp docs/DEPLOY.md "$root/docs/"
cp deploy/README.md "$root/README.md"
commit=$(git rev-parse HEAD)
git diff --quiet HEAD -- || commit="$commit (with uncommitted changes)"
{
    echo "spacehub $version"
    echo "commit: $commit"
    echo "built on: $(. /etc/os-release && echo "$PRETTY_NAME") $arch"
    echo "toolchain: $(swift --version 2>/dev/null | head -n 1)"
    echo "needs: $(readelf -d "$root/bin/spacehub" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')"
} > "$root/BUILD"

mkdir -p dist
# Same bytes for the same tree: sorted names, fixed owner, mtimes of the commit.
mtime=$(git log -1 --format=%ct)
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$mtime" -C "$stage" -czf "dist/$name.tar.gz" "$name"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "package: dist/$name.tar.gz ($(du -h "dist/$name.tar.gz" | cut -f1); binary $(du -h "$root/bin/spacehub" | cut -f1))"
