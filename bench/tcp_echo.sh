#!/usr/bin/env bash
# TCP echo ping-pong, 64-byte messages, 1 and 64 connections: the ember loop
# server against a blocking thread-per-connection server, with the same
# ember-loop client. Server on core 0, client on core 1; 3 runs of ~3 s,
# median msgs/s. ratio = server / thread server at the same conns.
#   bash bench/tcp_echo.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: tcp_echo.sh BUILD_DIR}
bin=$build/bench/bench_tcp_echo
[ -x "$bin" ] || { echo "tcp_echo.sh: $bin not built" >&2; exit 1; }
secs=${SECS:-3}
runs=${RUNS:-3}
tmp=$(mktemp -d)
spid=""
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

start_server() { # $1 = ember-server | thread-server
    taskset -c 0 "$bin" "$1" >"$tmp/addr" &
    spid=$!
    for _ in $(seq 1 100); do
        addr=$(sed -n 's/^listening on //p' "$tmp/addr")
        [ -n "$addr" ] && return 0
        sleep 0.05
    done
    echo "tcp_echo.sh: $1 did not start" >&2
    exit 1
}
stop_server() { kill "$spid"; wait "$spid" 2>/dev/null || true; spid=""; }

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A result
for server in ember-server thread-server; do
    start_server "$server"
    for conns in 1 64; do
        for _ in $(seq 1 "$runs"); do
            taskset -c 1 "$bin" client "$addr" "$conns" "$secs"
        done | median >"$tmp/m"
        result[$server,$conns]=$(cat "$tmp/m")
    done
    stop_server
done

printf '%-14s %5s %12s %6s\n' server conns msgs_per_s ratio
for server in ember-server thread-server; do
    for conns in 1 64; do
        m=${result[$server,$conns]}
        ref=${result[thread-server,$conns]}
        printf '%-14s %5s %12s %6s\n' "${server%-server}" "$conns" "$m" \
            "$(awk -v a="$m" -v b="$ref" 'BEGIN { printf "%.2f", a / b }')"
    done
done
