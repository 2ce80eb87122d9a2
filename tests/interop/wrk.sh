#!/usr/bin/env bash
# wrk against examples/echo_server /plaintext for 2 s with 16 connections,
# plain and pipelined 16 deep (bench/tfb/pipeline.lua), on 1 and 2 workers:
# no socket errors, no non-2xx responses, more than 1000 requests, and the
# bytes read must be whole responses (requests x response size, plus at most
# the responses still in flight when wrk stopped).
#   wrk.sh EXAMPLES_BUILD_DIR SOURCE_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: wrk.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
src=${2:?usage: wrk.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
need wrk curl
pipeline=$src/bench/tfb/pipeline.lua
[ -f "$pipeline" ] || { echo "FAIL: $pipeline is missing"; exit 1; }

CONNS=16 DEPTH=16

# wrk takes one script: this one loads the given one (if any) and prints
# wrk's exact counters at the end, so nothing is parsed from rounded text.
cat >"$TMP/report.lua" <<'EOF'
local inner = os.getenv("EMBER_WRK_SCRIPT")
if inner and inner ~= "" then dofile(inner) end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("EMBER requests=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d\n",
    summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout))
end
EOF

run_wrk() { # NAME ADDR LUA_SCRIPT_OR_EMPTY MAX_IN_FLIGHT_PER_CONN
  local name=$1 addr=$2 script=$3 inflight=$4 log line
  log=$TMP/wrk.$RANDOM.log
  if ! EMBER_WRK_SCRIPT=$script timeout 60 wrk -t2 -c$CONNS -d2s -s "$TMP/report.lua" \
      "http://$addr/plaintext" >"$log" 2>&1; then
    fail "$name: wrk failed: $(cat "$log")"; return
  fi
  sed 's/^/    /' "$log"
  line=$(grep '^EMBER ' "$log" || true)
  [ -n "$line" ] || { fail "$name: wrk printed no summary"; return; }
  local requests=0 bytes=0 connect=0 read=0 write=0 status=0 timeout=0
  eval "$(echo "${line#EMBER }" | tr ' ' '\n' | sed 's/^/local /')"
  # Also the human-readable lines wrk prints only when something went wrong.
  if grep -q 'Socket errors' "$log"; then fail "$name: $(grep 'Socket errors' "$log" | sed 's/^ *//')"; fi
  if grep -q 'Non-2xx' "$log"; then fail "$name: $(grep 'Non-2xx' "$log" | sed 's/^ *//')"; fi
  eq "$name: socket errors (connect read write timeout)" "0 0 0 0" "$connect $read $write $timeout"
  eq "$name: non-2xx responses" 0 "$status"
  if [ "$requests" -gt 1000 ]; then pass "$name: $requests requests (> 1000)"
  else fail "$name: only $requests requests in 2 s (want > 1000)"; fi
  local lo=$((requests * RESP)) hi=$(((requests + CONNS * inflight) * RESP))
  if [ "$bytes" -ge "$lo" ] && [ "$bytes" -le "$hi" ]; then
    pass "$name: $bytes bytes read = whole $RESP-byte responses"
  else
    fail "$name: read $bytes bytes for $requests responses of $RESP bytes (want $lo..$hi)"
  fi
}

for workers in 1 2; do
  start_server ECHO "$bin/echo_server" --workers $workers
  echo "echo_server --workers $workers on $ECHO"
  # One response's size on the wire (the Date header has a fixed width).
  RESP=$(curl -sS --max-time 10 -o /dev/null -w '%{size_header} %{size_download}' "http://$ECHO/plaintext" |
    awk '{ print $1 + $2 }')
  [ "${RESP:-0}" -gt 13 ] || { fail "GET /plaintext before wrk failed"; finish; }
  run_wrk "wrk ($workers worker(s))" "$ECHO" "" 1
  run_wrk "wrk pipelined x$DEPTH ($workers worker(s))" "$ECHO" "$pipeline" $DEPTH
  out=$(curl -sS --max-time 10 "http://$ECHO/plaintext") || true
  eq "echo_server answers after wrk ($workers worker(s))" "Hello, World!" "$out"
  stop_server "$ECHO_PID" "echo_server --workers $workers"
done

finish
