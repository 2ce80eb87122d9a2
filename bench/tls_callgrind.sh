#!/usr/bin/env bash
# Instructions per handshake (or per keep-alive request) of the server,
# ember's bench/tls_server and nginx, under callgrind: repeatable on a
# loaded machine, where CPU time is not. Each server runs under valgrind
# (nginx with master_process off); a warm-up, the counters zeroed, N
# handshakes from bench/tls_handshake, a dump. keepalive and pipe16: 16
# connections do their handshakes first (tls_handshake -k), the counters
# are zeroed, then requests for N/100 seconds (1 or 16 pipelined).
#   bench/tls_callgrind.sh <build dir> [full13|full12|resume13|keepalive|pipe16] [N] [ec|rsa]
# Prints "server mode Ir_per_op" lines; the dumps stay in $OUT (default
# /tmp/tls_callgrind) for callgrind_annotate.
set -euo pipefail
build=${1:-build-bench}
mode=${2:-full13}
n=${3:-300}
kind=${4:-ec}
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-/tmp/tls_callgrind}
mkdir -p "$out"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=bench/tls_lib.sh
source "$here/tls_lib.sh"

smode=no-tickets v=13 flags=()
case $mode in
  full13) ;;
  full12) v=12 ;;
  resume13) smode=tickets flags=(-r) ;;
  keepalive) smode=tickets flags=(-k -P 1) ;;
  pipe16) smode=tickets flags=(-k -P 16) ;;
  *) echo "unknown mode $mode"; exit 2 ;;
esac

measure() { # $1 = name, $2 = pid of the valgrind'ed server, $3 = port
  local ops f
  if [ "${flags[0]:-}" = -k ]; then
    rm -f "$tmp/go"; mkfifo "$tmp/go"
    "$build/bench/tls_handshake" -p "$3" -c 16 -v "$v" -d $((n / 100)) "${flags[@]}" \
      <"$tmp/go" >"$tmp/out" &
    local cpid=$!
    exec {go}>"$tmp/go"
    for _ in $(seq 1 600); do grep -q ready "$tmp/out" 2>/dev/null && break; sleep 0.1; done
    callgrind_control -z "$2" >/dev/null 2>&1
    echo >&"$go"
    wait "$cpid"
    exec {go}>&-
    ops=$(kv "$(tail -n1 "$tmp/out")" conns)
  else
    "$build/bench/tls_handshake" -p "$3" -c 4 -n 20 -v "$v" "${flags[@]}" >/dev/null
    callgrind_control -z "$2" >/dev/null 2>&1
    "$build/bench/tls_handshake" -p "$3" -c 4 -n "$n" -v "$v" "${flags[@]}" >/dev/null
    ops=$n
  fi
  callgrind_control -d "$2" >/dev/null 2>&1
  sleep 1
  f=$(find "$out" -name "$1.*.1" | head -n1)
  awk -v ops="$ops" -v s="$1" -v m="$mode" '/^summary:|^totals:/ {t=$2} END {printf "%-6s %-9s ops %6d  Ir_per_op %9.0f\n", s, m, ops, t / ops}' "$f"
}

make_cert "$kind"
rm -f "$out"/ember.* "$out"/nginx.*
port=$(free_port)
valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$out/ember.%p" \
  "$build/bench/tls_server" "$port" "$tmp/$kind.crt" "$tmp/$kind.key" "$smode" >/dev/null 2>&1 &
pids+=($!)
epid=$!
for _ in $(seq 1 300); do curl -sk -o /dev/null "https://127.0.0.1:$port/plaintext" && break; sleep 0.2; done
measure ember "$epid" "$port"
kill "$epid"; wait "$epid" 2>/dev/null || true

port=$(free_port)
start_nginx_tls "$port" 0 "$kind" "$smode" 2>/dev/null || true # started below under valgrind instead
kill "${pids[-1]}" 2>/dev/null; wait "${pids[-1]}" 2>/dev/null || true
sed -i 's|^daemon off;|daemon off; master_process off;|' "$ngx_dir/nginx.conf"
valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$out/nginx.%p" \
  nginx -c "$ngx_dir/nginx.conf" -p "$ngx_dir" >/dev/null 2>&1 &
pids+=($!)
npid=$!
for _ in $(seq 1 300); do curl -sk -o /dev/null "https://127.0.0.1:$port/plaintext" && break; sleep 0.2; done
measure nginx "$npid" "$port"
kill "$npid"; wait "$npid" 2>/dev/null || true
