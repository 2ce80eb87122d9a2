#!/usr/bin/env bash
# make demo: start the TCP and UDP echo servers from examples/ on free
# loopback ports, talk to them with the matching clients, show what came
# back, and stop the servers (SIGTERM, graceful).
set -euo pipefail
bin=${1:-build}/examples

demo_pair() { # $1 = base name
  local base=$1 out pid addr=""
  out=$(mktemp)
  "$bin/${base}_server" --port 0 >"$out" &
  pid=$!
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$out" | head -n1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  echo "== ${base}_server listening on $addr"
  "$bin/${base}_client" "$addr" 5
  kill -TERM "$pid"; wait "$pid"
  echo "== ${base}_server stopped cleanly (SIGTERM)"
  rm -f "$out"
}

demo_pair tcp_echo
demo_pair udp_echo
