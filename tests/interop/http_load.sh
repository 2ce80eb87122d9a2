#!/usr/bin/env bash
# bench/http_load against examples/echo_server /plaintext for 1 s with 8
# connections, plain and pipelined 16 deep: exit 0, one key=value line,
# requests > 0, no errors, no non-2xx, p99 > 0 and p50 <= p99. At a fixed
# rate (-R 2000, and -R 4000 pipelined 4 deep), far below the server's
# capacity, the line also says rate=R and the achieved rps is within 10% of
# it. A path that 404s must count every response as non-2xx; bad arguments
# exit 2 and a refused connect exits 1.
#   http_load.sh EXAMPLES_BUILD_DIR SOURCE_DIR
# http_load is built with the benchmarks (EMBER_BENCH); it is looked for next
# to the examples, in BUILD_DIR/bench.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: http_load.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
load=$(dirname "$bin")/bench/http_load
if [ ! -x "$load" ]; then
  echo "FAIL: $load was not built (configure with -DEMBER_BENCH=ON and build target http_load)"
  exit 1
fi

FORMAT='^requests=[0-9]+ secs=[0-9]+\.[0-9]{2} rps=[0-9]+( rate=[0-9]+)? p50_us=[0-9]+ p90_us=[0-9]+ p99_us=[0-9]+ p999_us=[0-9]+ max_us=[0-9]+ non2xx=[0-9]+ errors=[0-9]+$'

field() { # KEY LINE
  tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"
}

# run_load NAME ARGS...: runs http_load, checks it exits 0 and prints exactly
# one well-formed line, and leaves that line in $LINE (empty on failure).
run_load() {
  local name=$1 out rc=0; shift
  LINE=
  out=$TMP/load.$RANDOM
  timeout 30 "$load" "$@" >"$out" 2>"$out.err" || rc=$?
  sed 's/^/    /' "$out" "$out.err"
  if [ $rc -ne 0 ]; then fail "$name: http_load exited $rc"; return; fi
  if [ "$(wc -l <"$out")" -ne 1 ] || ! grep -Eq "$FORMAT" "$out"; then
    fail "$name: stdout is not one key=value line"; return
  fi
  LINE=$(cat "$out")
  pass "$name: exit 0, one key=value line"
}

check_clean() { # NAME: the checks every run against /plaintext must pass
  local name=$1 requests p50 p99
  [ -n "$LINE" ] || return 0
  requests=$(field requests "$LINE") p50=$(field p50_us "$LINE") p99=$(field p99_us "$LINE")
  if [ "$requests" -gt 0 ]; then pass "$name: $requests requests"; else fail "$name: no requests"; fi
  eq "$name: errors" 0 "$(field errors "$LINE")"
  eq "$name: non-2xx responses" 0 "$(field non2xx "$LINE")"
  if [ "$p99" -gt 0 ] && [ "$p50" -le "$p99" ]; then
    pass "$name: 0 < p99 ($p99 µs), p50 ($p50 µs) <= p99"
  else
    fail "$name: want 0 < p99 and p50 <= p99, got p50=$p50 p99=$p99"
  fi
}

check_rate() { # NAME RATE: a fixed-rate run offered RATE and kept up with it
  local name=$1 want=$2 rps
  [ -n "$LINE" ] || return 0
  eq "$name: rate field" "$want" "$(field rate "$LINE")"
  rps=$(field rps "$LINE")
  if [ $((rps * 10)) -ge $((want * 9)) ] && [ $((rps * 10)) -le $((want * 11)) ]; then
    pass "$name: achieved $rps req/s, within 10% of $want"
  else
    fail "$name: achieved $rps req/s, want within 10% of $want"
  fi
}

start_server ECHO "$bin/echo_server"
echo "echo_server on $ECHO"
host=${ECHO%:*} port=${ECHO##*:}
common=(-H "$host" -P "$port" -c 8 -d 1 -w 0.2)

run_load "http_load -c 8" "${common[@]}" -p 1
check_clean "http_load -c 8"
if [ -n "$LINE" ]; then eq "closed loop: no rate field" "" "$(field rate "$LINE")"; fi
run_load "http_load -c 8 -p 16" "${common[@]}" -p 16
check_clean "http_load -c 8 -p 16"
run_load "http_load -c 8 -R 2000" "${common[@]}" -R 2000
check_clean "http_load -c 8 -R 2000"
check_rate "http_load -c 8 -R 2000" 2000
run_load "http_load -c 8 -p 4 -R 4000" "${common[@]}" -p 4 -R 4000
check_clean "http_load -c 8 -p 4 -R 4000"
check_rate "http_load -c 8 -p 4 -R 4000" 4000

run_load "http_load 404 path" "${common[@]}" --path /no-such-path
if [ -n "$LINE" ]; then
  n=$(field requests "$LINE") bad=$(field non2xx "$LINE")
  if [ "$n" -gt 0 ] && [ "$bad" = "$n" ]; then pass "404 path: all $n responses counted as non-2xx"
  else fail "404 path: $bad non-2xx of $n requests (want all, and > 0)"; fi
  eq "404 path: errors" 0 "$(field errors "$LINE")"
fi

rc=0
"$load" -c 0 -d 1 -P "$port" >/dev/null 2>&1 || rc=$?
eq "http_load -c 0 exits 2" 2 "$rc"
rc=0
"$load" -c 1 -d 1 >/dev/null 2>&1 || rc=$?
eq "http_load without -P exits 2" 2 "$rc"
for bad in 0 -5 10000001 2k; do
  rc=0
  "$load" -c 1 -d 1 -P "$port" -R "$bad" >/dev/null 2>&1 || rc=$?
  eq "http_load -R $bad exits 2" 2 "$rc"
done

stop_server "$ECHO_PID" "echo_server"

# Nothing listens on the port any more.
rc=0
timeout 30 "$load" -H "$host" -P "$port" -c 2 -d 1 -w 0 >/dev/null 2>"$TMP/refused.err" || rc=$?
eq "http_load against a closed port exits 1" 1 "$rc"
if grep -q 'cannot connect' "$TMP/refused.err"; then pass "closed port: says it cannot connect"
else fail "closed port: stderr was '$(cat "$TMP/refused.err")'"; fi

finish
