#!/usr/bin/env bash
# Memory per idle WebSocket: N connections (default 10000) each do the
# upgrade, send one 20-byte TEXT message, get its echo and stay open, idle
# (bench/ws_load --hold). The server's RSS (VmRSS of the process, all
# threads) before the first connection and after the last echo (settled for
# a second), divided by N, for ember's echo_server (GET /ws, one worker),
# libwebsockets (bench/ws_anchor_lws), gorilla/websocket (GOMAXPROCS=1) and
# node ws, one after the other, plain. ember's row appears once echo_server
# answers the upgrade on /ws; until then the script says why it is skipped.
# DEFLATE=1: the same with permessage-deflate offered by every connection
# and turned on in each server (each one's defaults for context takeover:
# ember keeps a compression context per connection only while a message
# is being compressed unless takeover is negotiated); rows of servers that
# did not negotiate it say so.
#   bench/ws_idle.sh <build dir> [N]      SERVERS="ember lws gorilla node" DEFLATE=0
set -euo pipefail
build=${1:-build-bench}
n=${2:-10000}
here=$(cd "$(dirname "$0")" && pwd)
SERVERS=${SERVERS:-ember lws gorilla node}
DEFLATE=${DEFLATE:-0}
dz=() lz=()
[ "$DEFLATE" = 1 ] && dz=(--deflate) lz=(--deflate)
ulimit -n $((n + 1024))
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

load=$build/bench/ws_load
[ -x "$load" ] || { echo "ws_idle.sh: $load not built" >&2; exit 1; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
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

measure() { # $1 = name, $2 = server pid, $3 = port
  local name=$1 pid=$2 port=$3 before after err
  wait_listen "$port" || { echo "$name: did not start"; return 0; }
  if ! err=$("$load" -p "$port" -c 1 -d 0.1 -w 0 -s 20 2>&1 >/dev/null); then
    echo "($name: skipped: no WebSocket echo on /ws: $(head -n 1 <<<"${err:-ws_load failed}"))"
    return 0
  fi
  sleep 1
  before=$(rss_kb "$pid")
  mkfifo "$tmp/hold.$name"
  "$load" -p "$port" -c "$n" -s 20 --hold "${lz[@]}" <"$tmp/hold.$name" >"$tmp/out.$name" 2>"$tmp/err.$name" &
  local cpid=$!
  exec {hold}>"$tmp/hold.$name"
  for _ in $(seq 1 1200); do grep -q ready "$tmp/out.$name" 2>/dev/null && break; sleep 0.1; done
  if ! grep -q "ready conns=$n errors=0 mismatches=0" "$tmp/out.$name"; then
    echo "$name: not all $n connections got their echo: $(cat "$tmp/out.$name") $(head -n 3 "$tmp/err.$name")"
    exec {hold}>&-
    wait "$cpid" || true
    return 0
  fi
  sleep 1
  after=$(rss_kb "$pid")
  exec {hold}>&-
  wait "$cpid" || true
  local z
  z=$(grep -o 'deflate=[01]' "$tmp/out.$name" | head -n 1)
  awk -v n="$n" -v b="$before" -v a="$after" -v s="$name" -v z="${z:-deflate=0}" \
    'BEGIN {printf "%-8s idle_ws %6d  %s  rss_before_kb %7d  rss_after_kb %7d  bytes_per_conn %6.0f\n", s, n, z, b, a, (a - b) * 1024 / n}'
}

for s in $SERVERS; do
  port=$(free_port)
  case $s in
    ember)
      [ -x "$build/examples/echo_server" ] || { echo "(ember: examples/echo_server not built)"; continue; }
      "$build/examples/echo_server" --port "$port" --workers 1 >/dev/null &
      ;;
    lws)
      [ -x "$build/bench/ws_anchor_lws" ] || { echo "(lws: not built: libwebsockets-dev missing)"; continue; }
      "$build/bench/ws_anchor_lws" "$port" "${dz[@]}" >/dev/null &
      ;;
    gorilla)
      [ -n "$gobin" ] || { echo "(gorilla: not built: golang-go, golang-github-gorilla-websocket-dev)"; continue; }
      GOMAXPROCS=1 "$gobin" -port "$port" ${dz:+-deflate} >/dev/null &
      ;;
    node)
      node -e "try{require('ws')}catch(e){require('/usr/share/nodejs/ws')}" 2>/dev/null ||
        { echo "(node: node or node ws missing)"; continue; }
      node "$here/ws_anchor_node.js" "$port" "${dz[@]}" >/dev/null &
      ;;
  esac
  pids+=($!)
  measure "$s" "$!" "$port"
  kill "${pids[-1]}" 2>/dev/null || true
  wait "${pids[-1]}" 2>/dev/null || true
done
