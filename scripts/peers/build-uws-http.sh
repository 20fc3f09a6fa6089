#!/usr/bin/env bash
# Builds the HTTP peer of `scripts/bench-http.sh`: uWebSockets (the C++ server most WebSocket and
# HTTP benchmarks are held against) serving `GET /healthz` like the hub does
# (`scripts/peers/uws-http-server.cpp`), single-threaded, no TLS, epoll, -O3 -flto. Clones the two
# repositories at the commits below (or takes bare git directories of them as arguments) and
# writes `.build-peers/uws-http/server`, then prints its path.
#
#   scripts/peers/build-uws-http.sh
#   scripts/peers/build-uws-http.sh <uWebSockets.git> <uSockets.git>    # local copies
#   BENCH_PEER=$(scripts/peers/build-uws-http.sh | tail -1) scripts/bench-http.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

UWS_COMMIT=66dcff3dd48f0c19dd1703426365d062039321d0  # 2026-08-18
US_COMMIT=86097c490263ab662d62e8e7b541390bdec7d149   # the uSockets that uWebSockets commit pins
out=.build-peers/uws-http
src=$out/src
rm -rf "$src"
mkdir -p "$src/uWebSockets" "$src/uSockets" "$src/obj"
if [ $# -ge 2 ]; then
    git --git-dir="$1" archive "$UWS_COMMIT" | tar -x -C "$src/uWebSockets"
    git --git-dir="$2" archive "$US_COMMIT" | tar -x -C "$src/uSockets"
else
    git clone -q https://github.com/uNetworking/uWebSockets "$src/uWebSockets.git"
    git -C "$src/uWebSockets.git" archive "$UWS_COMMIT" | tar -x -C "$src/uWebSockets"
    git clone -q https://github.com/uNetworking/uSockets "$src/uSockets.git"
    git -C "$src/uSockets.git" archive "$US_COMMIT" | tar -x -C "$src/uSockets"
fi
# One compile at a time on the machine's build lock (scripts/swift-locked takes the same).
lock="flock /tmp/spacehub-swift-build.lock"
(cd "$src/obj" && $lock gcc -std=c11 -O3 -flto -DLIBUS_NO_SSL -I../uSockets/src -c \
    ../uSockets/src/*.c ../uSockets/src/eventing/*.c ../uSockets/src/crypto/*.c)
$lock g++ -std=c++20 -O3 -flto -DLIBUS_NO_SSL -DUWS_NO_ZLIB -I"$src/uWebSockets/src" -I"$src/uSockets/src" \
    scripts/peers/uws-http-server.cpp "$src"/obj/*.o -o "$out/server"
echo "$PWD/$out/server"
