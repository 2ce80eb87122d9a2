#!/usr/bin/env bash
# stress_client against examples/echo_server (2 workers): 200 connections of
# deferred (/delay), streamed (/stream) and echoed (POST /echo, Content-Length
# and chunked) requests, some read slowly, about one in five reset at a random
# moment, and SIGTERM (a graceful shutdown) halfway through. Every request
# must complete byte-exact or end in a clean close once the shutdown began
# (stress_client checks that); the server must exit 0 with nothing on stderr
# from AddressSanitizer, LeakSanitizer or UBSan (under `make asan`).
#   stress.sh EXAMPLES_BUILD_DIR SOURCE_DIR STRESS_CLIENT
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: stress.sh EXAMPLES_BUILD_DIR SOURCE_DIR STRESS_CLIENT}
client=${3:?usage: stress.sh EXAMPLES_BUILD_DIR SOURCE_DIR STRESS_CLIENT}
[ -x "$client" ] || { echo "FAIL: $client was not built"; exit 1; }
need timeout

start_server ECHO "$bin/echo_server" --workers 2
echo "echo_server on $ECHO (pid $ECHO_PID)"

rc=0
timeout 120 "$client" stress "$ECHO" --conns 200 --secs 16 --kill "$ECHO_PID" --seed "$RANDOM" \
  >"$TMP/client.out" 2>"$TMP/client.err" || rc=$?
sed 's/^/    /' "$TMP/client.out"
head -n 40 "$TMP/client.err" | sed 's/^/    /'
eq "stress_client: every request exact or cleanly closed (exit status)" 0 "$rc"

# The client sent SIGTERM; the server finishes what it holds (10 s at most)
# and, under ASan, checks for leaks on the way out.
for _ in $(seq 1 600); do kill -0 "$ECHO_PID" 2>/dev/null || break; sleep 0.05; done
if kill -0 "$ECHO_PID" 2>/dev/null; then
  fail "echo_server still running 30 s after SIGTERM"
  kill -KILL "$ECHO_PID" 2>/dev/null || true
fi
src=0
wait "$ECHO_PID" 2>/dev/null || src=$?
untrack_pid "$ECHO_PID"
eq "echo_server exits 0 after a graceful shutdown under load" 0 "$src"
if grep -Eq 'Sanitizer|runtime error:' "$ECHO_ERR"; then
  fail "sanitizer report from echo_server:"; head -n 60 "$ECHO_ERR"
else
  pass "no sanitizer report from echo_server"
fi
finish
