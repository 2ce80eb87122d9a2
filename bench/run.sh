#!/usr/bin/env bash
# make bench: every benchmark, in one run. $1 = a Release build directory.
# The machine is shared and noisy: programs pin the server and the load
# generator to different cores and report medians; compare ratios, not
# absolute numbers.
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)

echo "== timer wheel (bench_timer)"
taskset -c 1 "$build/bench/bench_timer"

echo
echo "== HTTP parser (bench_parse)"
taskset -c 1 "$build/bench/bench_parse"

echo
echo "== Memory per idle keep-alive connection, ember vs nginx (bench/idle_conns.sh)"
bash "$here/idle_conns.sh" "$build"

echo
echo "== TCP echo ping-pong, 64-byte messages (bench/tcp_echo.sh)"
bash "$here/tcp_echo.sh" "$build"

echo
echo "== TechEmpower plaintext: ember vs nginx vs Go (bench/tfb.sh)"
bash "$here/tfb.sh" "$build"

echo
echo "== Where plaintext CPU goes, ember vs nginx (bench/cpu_split.sh)"
bash "$here/cpu_split.sh" "$build"

echo
echo "== HTTPS: handshakes, keep-alive and idle memory, ember vs nginx (bench/tls.sh, bench/tls_idle.sh)"
bash "$here/tls.sh" "$build"
bash "$here/tls_idle.sh" "$build"

echo
echo "== DNS lookups, c-ares on ember's loop vs getaddrinfo in 4 threads (bench/dns.sh)"
bash "$here/dns.sh" "$build"

echo
echo "== HTTP client: ember's loop client vs libcurl multi, Go net/http and wrk (bench/http_client.sh)"
bash "$here/http_client.sh" "$build"

echo
echo "== WebSocket echo, ember vs libwebsockets, gorilla and node ws; idle memory, plain and with permessage-deflate; masking and UTF-8 (bench/ws.sh, bench/ws_idle.sh, bench_ws_mask)"
bash "$here/ws.sh" "$build"
bash "$here/ws_idle.sh" "$build"
DEFLATE=1 bash "$here/ws_idle.sh" "$build"
taskset -c 1 "$build/bench/bench_ws_mask"
