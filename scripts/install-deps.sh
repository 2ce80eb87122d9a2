#!/usr/bin/env bash
# Installs the Debian 12 packages ember needs for a given purpose, only if
# some are missing. As root it runs apt-get; otherwise it prints the exact
# command to run and fails.
#   scripts/install-deps.sh build   compiler, cmake, cmocka, libraries,
#                                   curl, wrk, nginx, testssl.sh, go, python
#                                   websockets, node ws and chromium for
#                                   tests/interop, and doxygen for ctest's
#                                   docs_doxygen
#   scripts/install-deps.sh asan    + clang and its sanitizer runtime
#   scripts/install-deps.sh fuzz    + afl++
#   scripts/install-deps.sh docs    + graphviz (include graphs in make docs)
#   scripts/install-deps.sh bench   + wrk, nginx, go, strace, libcurl-dev (the
#                                   client bench's anchor only), and the
#                                   WebSocket anchors: libwebsockets-dev,
#                                   gorilla/websocket, node ws
set -euo pipefail

build_pkgs="build-essential cmake pkg-config libcmocka-dev libc-ares-dev libssl-dev openssl zlib1g-dev libpsl-dev publicsuffix curl wrk nginx-light testssl.sh valgrind iproute2 iptables doxygen golang-go python3-websockets node-ws chromium"
pkgs="$build_pkgs"
for purpose in "${@:-build}"; do
  case "$purpose" in
    build) ;;
    asan) pkgs="$pkgs clang libclang-rt-14-dev" ;;
    fuzz) pkgs="$pkgs clang afl++" ;;
    docs) pkgs="$pkgs doxygen graphviz" ;;
    bench) pkgs="$pkgs wrk nginx-light golang-go curl util-linux python3 procps iproute2 strace libcurl4-openssl-dev libwebsockets-dev golang-github-gorilla-websocket-dev node-ws" ;;
    *) echo "install-deps: unknown purpose '$purpose'" >&2; exit 2 ;;
  esac
done

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "ember needs these Debian packages:$missing" >&2
  echo "run: sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
