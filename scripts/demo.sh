#!/usr/bin/env bash
# make demo: start ember's servers from examples/ on free loopback ports,
# talk to them, show what came back, and stop them (SIGTERM, graceful).
#   - echo_server (HTTP/1.1): ember's own client (echo_client) sends a plain
#     GET, two pipelined requests, a chunked upload and a 404; then curl.
#   - the TCP and UDP echo servers with their clients.
set -euo pipefail
bin=${1:-build}/examples

start_server() { # $1 = program; sets pid and addr
  local out
  out=$(mktemp)
  "$bin/$1" --port 0 >"$out" &
  pid=$!
  addr=""
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$out" | head -n1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  rm -f "$out"
  [ -n "$addr" ] || { echo "$1 did not start" >&2; exit 1; }
  echo "== $1 listening on $addr"
}

stop_server() { # $1 = program
  kill -TERM "$pid"; wait "$pid"
  echo "== $1 stopped cleanly (SIGTERM)"
  echo
}

start_server echo_server
"$bin/echo_client" "$addr"
echo "-- curl -i http://$addr/plaintext"
curl -s -i "http://$addr/plaintext"; echo
echo "-- curl --data-binary 'hello ember' http://$addr/echo"
curl -s --data-binary 'hello ember' "http://$addr/echo"; echo
stop_server echo_server

for base in tcp_echo udp_echo; do
  start_server "${base}_server"
  "$bin/${base}_client" "$addr" 5
  stop_server "${base}_server"
done
