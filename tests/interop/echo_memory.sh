#!/usr/bin/env bash
# Memory under slow readers: 50 clients each POST a 20 MiB body to
# examples/echo_server's /echo as fast as the server takes it while reading
# the echo at 1 MiB/s (stress_client upload: half with Content-Length, half
# chunked). Every echo must come back byte-identical and the server's peak
# RSS (VmHWM; VmRSS is also sampled every 0.1 s) must stay under 64 MiB:
# the echo pauses the upload while its response queue is full, so memory does
# not grow with the body. Takes about 20 s.
#   echo_memory.sh EXAMPLES_BUILD_DIR SOURCE_DIR STRESS_CLIENT SANITIZE
# SANITIZE=1 (an ASan build) skips: ASan's shadow memory and quarantine
# inflate RSS far beyond what the server itself holds.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
usage="usage: echo_memory.sh EXAMPLES_BUILD_DIR SOURCE_DIR STRESS_CLIENT SANITIZE"
bin=${1:?$usage}
client=${3:?$usage}
case "${4:-0}" in
  1 | ON | on | TRUE | true)
    echo "SKIP: an AddressSanitizer build (EMBER_SANITIZE): ASan inflates RSS, so the bound would measure ASan"
    exit 0 ;;
esac
[ -x "$client" ] || { echo "FAIL: $client was not built"; exit 1; }
limit_kib=$((64 * 1024))

start_server ECHO "$bin/echo_server"
echo "echo_server on $ECHO (pid $ECHO_PID)"
status_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$ECHO_PID/status"; }

"$client" upload "$ECHO" --conns 50 --mib 20 --rate 1048576 >"$TMP/client.out" 2>"$TMP/client.err" &
cpid=$!
track_pid "$cpid"
peak=0 samples=0
while kill -0 "$cpid" 2>/dev/null; do
  r=$(status_kib VmRSS)
  [ -n "$r" ] && [ "$r" -gt "$peak" ] && peak=$r
  samples=$((samples + 1))
  [ $samples -lt 1500 ] || { fail "upload still running after 150 s"; break; }
  sleep 0.1
done
rc=0
wait "$cpid" || rc=$?
untrack_pid "$cpid"
hwm=$(status_kib VmHWM)
# VmHWM is updated lazily, so a sample can be higher: take whichever is.
[ "$peak" -gt "$hwm" ] && hwm=$peak
sed 's/^/    /' "$TMP/client.out"
head -n 20 "$TMP/client.err" | sed 's/^/    /'
eq "50 uploads of 20 MiB echoed byte-identical (stress_client exit status)" 0 "$rc"
echo "peak RSS of echo_server: ${hwm} KiB ($((hwm / 1024)) MiB; highest VmRSS sample ${peak} KiB)"
if [ "$hwm" -lt "$limit_kib" ]; then
  pass "peak RSS $((hwm / 1024)) MiB < 64 MiB"
else
  fail "peak RSS ${hwm} KiB, over the 64 MiB bound"
fi
stop_server "$ECHO_PID" echo_server
finish
