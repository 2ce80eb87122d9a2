#!/usr/bin/env bash
# Memory per idle keep-alive connection: N connections (default 10000) each
# send one request, get the response and stay open. The server's RSS
# (VmRSS of the process, all threads) before and after, divided by N, for
# ember's echo_server and for nginx (worker_processes 1) in the same run.
#   bench/idle_conns.sh <build dir> [N]
set -euo pipefail
build=${1:-build-bench}
n=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)
ulimit -n $((n + 1024))
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

measure() { # $1 = name, $2 = server pid (whose RSS counts), $3 = port
  local name=$1 pid=$2 port=$3 before after
  for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/plaintext" && break; sleep 0.1; done
  before=$(rss_kb "$pid")
  mkfifo "$tmp/hold.$name"
  "$build/bench/bench_idle_client" "127.0.0.1:$port" "$n" <"$tmp/hold.$name" >"$tmp/out.$name" &
  local cpid=$!
  exec {hold}>"$tmp/hold.$name"
  for _ in $(seq 1 600); do grep -q ready "$tmp/out.$name" 2>/dev/null && break; sleep 0.1; done
  grep -q ready "$tmp/out.$name" || { echo "$name: client did not finish"; exit 1; }
  sleep 0.5
  after=$(rss_kb "$pid")
  exec {hold}>&-
  wait "$cpid"
  awk -v n="$n" -v b="$before" -v a="$after" -v s="$name" \
    'BEGIN {printf "%-8s idle_conns %6d  rss_before_kb %7d  rss_after_kb %7d  bytes_per_conn %6.0f\n", s, n, b, a, (a - b) * 1024 / n}'
}

port=$(free_port)
"$build/examples/echo_server" --port "$port" --workers 1 >/dev/null & pids+=($!)
measure ember "${pids[-1]}" "$port"

port=$(free_port)
start_nginx "$port" "" "s|worker_connections 4096|worker_connections $((n + 512))|"
measure nginx "$ngx_pid" "$port"
