#!/usr/bin/env bash
# Memory per idle TLS keep-alive connection: N connections (default 5000)
# each complete a TLS 1.3 handshake (ECDSA P-256, no tickets), send one
# request, read its response and stay open (bench/tls_handshake -H). The
# server's RSS (VmRSS) before and after, divided by N, for ember's
# bench/tls_server and nginx (worker_processes 1) with the same
# certificate, in one run; then the ratio.
#   bench/tls_idle.sh <build dir> [N]
set -euo pipefail
build=${1:-build-bench}
n=${2:-5000}
here=$(cd "$(dirname "$0")" && pwd)
ulimit -n $((n + 1024))
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=bench/tls_lib.sh
source "$here/tls_lib.sh"

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

declare -A per_conn
measure() { # $1 = name, $2 = server pid (whose RSS counts), $3 = port
  local name=$1 pid=$2 port=$3 before after
  before=$(rss_kb "$pid")
  mkfifo "$tmp/hold.$name"
  taskset -c 1 "$build/bench/tls_handshake" -p "$port" -c 64 -v 13 -H "$n" \
    <"$tmp/hold.$name" >"$tmp/out.$name" &
  local cpid=$!
  exec {hold}>"$tmp/hold.$name"
  for _ in $(seq 1 1200); do grep -q ready "$tmp/out.$name" 2>/dev/null && break; sleep 0.1; done
  grep -q "ready $n errors=0" "$tmp/out.$name" || { echo "$name: client: $(cat "$tmp/out.$name")"; exit 1; }
  sleep 0.5
  after=$(rss_kb "$pid")
  exec {hold}>&-
  wait "$cpid"
  per_conn[$name]=$(awk -v n="$n" -v b="$before" -v a="$after" 'BEGIN {printf "%.0f", (a - b) * 1024 / n}')
  printf '%-8s idle_tls_conns %6d  rss_before_kb %7d  rss_after_kb %7d  bytes_per_conn %6d\n' \
    "$name" "$n" "$before" "$after" "${per_conn[$name]}"
}

make_cert ec
port=$(free_port)
start_ember_tls "$port" 0 ec no-tickets
measure ember "$ember_pid" "$port"
stop_pid "$ember_pid"

port=$(free_port)
start_nginx_tls "$port" 0 ec no-tickets $((n + 512))
measure nginx "$ngx_pid" "$port"
awk -v e="${per_conn[ember]}" -v g="${per_conn[nginx]}" \
  'BEGIN {printf "ember/nginx bytes per idle TLS connection: %.2f\n", e / g}'
