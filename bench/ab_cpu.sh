#!/usr/bin/env bash
# Before/after on one machine: the server CPU per request of two builds of
# examples/echo_server (say the last release and a change), GET /plaintext
# over 64 connections, alternated ROUNDS times so that drift on a shared
# machine hits both alike; server on core 1, bench/http_load on core 0.
# Prints every run, then the medians and their ratio. With WS=SIZE, the
# same for a WebSocket echo of SIZE-byte TEXT messages on GET /ws (64
# connections of bench/ws_load, the server's CPU per message).
#   bench/ab_cpu.sh <old build dir> <new build dir> [pipeline depth, default 1]
#   WS=16384 bench/ab_cpu.sh <old build dir> <new build dir>
set -euo pipefail
old=${1:?usage: ab_cpu.sh OLD_BUILD NEW_BUILD [DEPTH]}
new=${2:?usage: ab_cpu.sh OLD_BUILD NEW_BUILD [DEPTH]}
depth=${3:-1}
ROUNDS=${ROUNDS:-7} SECS=${SECS:-4}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
load=$new/bench/http_load
unit=req per=request what="depth $depth"
[ -n "${WS:-}" ] && unit=messages per=message what="ws $WS B"

one() { # $1 = build: prints "rps cpu_us_per_req"
  local port pid t0 t1 out
  port=$(free_port)
  taskset -c 1 "$1/examples/echo_server" --port "$port" >/dev/null 2>&1 & pid=$!
  pids+=("$pid")
  wait_port "$port"
  if [ -n "${WS:-}" ]; then
    out=$(taskset -c 0 "$new/bench/ws_load" -p "$port" -c 64 -s "$WS" -d "$SECS" -w 1 --server-pid "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    echo "$(kv "$out" rate) $(kv "$out" server_cpu_us_per_msg)"
    return
  fi
  taskset -c 0 "$load" -c 64 -p "$depth" -w 0 -d 1 -P "$port" >/dev/null # warm-up
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 0 "$load" -c 64 -p "$depth" -w 0 -d "$SECS" -P "$port")
  t1=$(cpu_ticks "$pid")
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v t=$((t1 - t0)) -v r="$(kv "$out" requests)" -v rps="$(kv "$out" rps)" -v clk="$clk" \
    'BEGIN { printf "%d %.3f\n", rps, t * 1e6 / clk / r }'
}

for i in $(seq 1 "$ROUNDS"); do
  for v in old new; do
    b=$old; [ "$v" = new ] && b=$new
    read -r rps us < <(one "$b")
    echo "$v round $i: $rps $unit/s, $us us CPU per $per"
    echo "$us" >>"$tmp/$v.us"
    echo "$rps" >>"$tmp/$v.rps"
  done
done
o=$(median <"$tmp/old.us") n=$(median <"$tmp/new.us")
echo "$what: median CPU per $per old $o us, new $n us, new/old $(awk -v a="$n" -v b="$o" 'BEGIN { printf "%.3f", a / b }');" \
  "median $unit/s old $(median <"$tmp/old.rps"), new $(median <"$tmp/new.rps")"
