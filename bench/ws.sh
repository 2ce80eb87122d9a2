#!/usr/bin/env bash
# WebSocket echo: ember's echo_server (GET /ws, one worker) against three
# echo servers that are the usual references, each on one core:
# libwebsockets (bench/ws_anchor_lws, C), gorilla/websocket
# (bench/ws_anchor_gorilla.go, GOMAXPROCS=1) and node ws
# (bench/ws_anchor_node.js). Every server pinned to core 0, the load
# (bench/ws_load: CONNS connections, one TEXT message in flight each,
# every echo checked) pinned to core 1. For each message size in SIZES,
# first plain, then with permessage-deflate offered (rows of servers that
# do not negotiate it are left out, said so): RUNS rounds that interleave
# the servers (A B C D A B C D ...), after one warm-up run each; medians of
# messages/s, server CPU µs per message (utime+stime of the server
# process, all threads, over the measured seconds: the robust figure on a
# shared machine), and p50/p99 latency; ratios to libwebsockets.
# Deflate runs use each server's own defaults for level and context
# takeover (node: threshold 64, as ember's min_size). A run in which
# ws_load saw an error, a wrong echo or a connection left waiting (stalled)
# is reported under its row: libwebsockets 4.1.6 (Debian 12) now and then
# loses the first compressed 16 KiB message of a new connection ("inflate
# -3: invalid distance too far back" in its log), so its 16 KiB deflate
# rows may count a few idle connections of 64. Messages/s follows how much
# of the shared core each server gets (Go's extra threads get more); server
# CPU per message is the figure to compare.
# A fifth row, floor (bench/ws_floor.c), is the least any echo server must
# do per message (one recv, unmask, UTF-8 check, one send; nothing else):
# what it costs is the kernel's share, which no server design goes below
# on this machine. It does not do permessage-deflate.
# If echo_server does not answer the upgrade on /ws (a tree without ws),
# ember's row is skipped and the script says why.
#   bench/ws.sh <build dir>     RUNS=3 SECS=5 CONNS=64 SIZES="20 16384"
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} SECS=${SECS:-5} WARM=${WARM:-1} CONNS=${CONNS:-64} SIZES=${SIZES:-20 16384}
SERVERS=${SERVERS:-ember lws gorilla node floor}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

load=$build/bench/ws_load
[ -x "$load" ] || { echo "ws.sh: $load not built" >&2; exit 1; }

# Until something accepts TCP on port $1 (10 s at most).
wait_listen() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

gobin=""
if [[ " $SERVERS " == *" gorilla "* ]] && command -v go >/dev/null; then
  gobin=$tmp/ws_anchor_gorilla
  (cd "$here" && GO111MODULE=off GOPATH="$tmp/gopath:/usr/share/gocode" GOCACHE="$tmp/gocache" \
     GOFLAGS='' GOPROXY=off go build -o "$gobin" ws_anchor_gorilla.go) || gobin=""
fi

# start <server> <deflate 0|1>: starts it on core 0, sets pid_of and
# port_of; returns 1 with the reason in $why when it cannot run.
declare -A pid_of port_of
start() {
  local s=$1 z=$2 port dz=() err
  [ "$z" = 1 ] && dz=(--deflate)
  port=$(free_port)
  case $s in
    ember)
      [ -x "$build/examples/echo_server" ] || { why="examples/echo_server not built"; return 1; }
      taskset -c 0 "$build/examples/echo_server" --port "$port" --workers 1 >/dev/null &
      ;;
    lws)
      [ -x "$build/bench/ws_anchor_lws" ] || { why="not built (libwebsockets-dev missing)"; return 1; }
      taskset -c 0 "$build/bench/ws_anchor_lws" "$port" "${dz[@]}" >/dev/null &
      ;;
    gorilla)
      [ -n "$gobin" ] || { why="not built (golang-go, golang-github-gorilla-websocket-dev)"; return 1; }
      GOMAXPROCS=1 taskset -c 0 "$gobin" -port "$port" ${dz:+-deflate} >/dev/null &
      ;;
    floor)
      [ "$z" = 1 ] && { why="it does no permessage-deflate"; return 1; }
      [ -x "$build/bench/ws_floor" ] || { why="bench/ws_floor not built"; return 1; }
      taskset -c 0 "$build/bench/ws_floor" "$port" >/dev/null &
      ;;
    node)
      node -e "try{require('ws')}catch(e){require('/usr/share/nodejs/ws')}" 2>/dev/null ||
        { why="node or node ws (Debian node-ws) missing"; return 1; }
      taskset -c 0 node "$here/ws_anchor_node.js" "$port" "${dz[@]}" >/dev/null &
      ;;
  esac
  pids+=($!)
  pid_of[$s,$z]=$! port_of[$s,$z]=$port
  wait_listen "$port" || { why="did not start"; kill "$!" 2>/dev/null; return 1; }
  # the upgrade itself, one connection and a few echoes
  if ! err=$("$load" -p "$port" -c 1 -d 0.2 -w 0 -s 20 2>&1 >/dev/null); then
    why="no WebSocket echo on /ws: $(head -n 1 <<<"${err:-ws_load failed}")"
    kill "${pid_of[$s,$z]}" 2>/dev/null
    return 1
  fi
}

# run <server> <deflate> <size> -> "rate cpu_us p50 p99 deflate_negotiated bad"
# (bad: 1 when ws_load saw errors, wrong echoes or stalled connections)
run() {
  local s=$1 z=$2 size=$3 out flags=() bad=0
  [ "$z" = 1 ] && flags=(--deflate)
  out=$(taskset -c 1 "$load" -p "${port_of[$s,$z]}" -c "$CONNS" -s "$size" -d "$SECS" -w "$WARM" \
          --server-pid "${pid_of[$s,$z]}" "${flags[@]}") || { bad=1; echo "ws.sh: bad run of $s: $out" >&2; }
  echo "$(kv "$out" rate) $(kv "$out" server_cpu_us_per_msg) $(kv "$out" p50_us) $(kv "$out" p99_us)" \
       "$(kv "$out" deflate) $bad"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a / b; else print "-"}'; }
col_median() { tr ' ' '\n' <<<"$1" | grep . | median; }

printf 'WebSocket echo: bench/ws_load -c %s on core 1, each server on core 0 (medians of %s runs of %s s)\n' \
  "$CONNS" "$RUNS" "$SECS"
printf '%-8s %6s %-7s %10s %7s %10s %7s %9s %9s\n' server size deflate msgs_per_s rate/lws \
  cpu_us_msg cpu/lws p50_us p99_us
for z in 0 1; do
  up=""
  for s in $SERVERS; do
    why=""
    if start "$s" "$z"; then
      up="$up $s"
    else
      echo "($s, deflate $z: skipped: $why)"
    fi
  done
  for size in $SIZES; do
    declare -A rate=() cpu=() p50=() p99=() neg=() nbad=()
    for s in $up; do run "$s" "$z" "$size" >/dev/null; done # warm-up
    for _ in $(seq 1 "$RUNS"); do
      for s in $up; do
        read -r a b c d e f < <(run "$s" "$z" "$size")
        rate[$s]+="$a " cpu[$s]+="$b " p50[$s]+="$c " p99[$s]+="$d " neg[$s]=$e
        nbad[$s]=$((${nbad[$s]:-0} + f))
      done
    done
    lr=$(col_median "${rate[lws]:-}") lc=$(col_median "${cpu[lws]:-}")
    for s in $up; do
      if [ "$z" = 1 ] && [ "${neg[$s]}" != 1 ]; then
        echo "($s did not negotiate permessage-deflate: row left out)"
        continue
      fi
      r=$(col_median "${rate[$s]}") c=$(col_median "${cpu[$s]}")
      printf '%-8s %6s %-7s %10s %7s %10s %7s %9s %9s\n' "$s" "$size" "$([ "$z" = 1 ] && echo on || echo off)" \
        "$r" "$(ratio "$r" "${lr:-0}")" "$c" "$(ratio "$c" "${lc:-0}")" \
        "$(col_median "${p50[$s]}")" "$(col_median "${p99[$s]}")"
      [ "${nbad[$s]}" = 0 ] ||
        echo "  ($s: ${nbad[$s]} of $RUNS runs had errors, wrong echoes or stalled connections: see above)"
    done
  done
  for s in $up; do kill "${pid_of[$s,$z]}" 2>/dev/null || true; done
done
