#!/usr/bin/env bash
# curl against examples/echo_server and examples/stream_server: keep-alive,
# HTTP/1.0 (with and without keep-alive), chunked and Content-Length uploads
# echoed byte for byte, Expect: 100-continue, a rate-limited streamed
# download, 404/405, HEAD, and graceful shutdown.
#   curl.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: curl.sh EXAMPLES_BUILD_DIR}
need curl sha256sum timeout

C=(curl -sS --max-time 30)

start_server ECHO "$bin/echo_server"
base=http://$ECHO
echo "echo_server on $ECHO"

# --- keep-alive: three URLs in one curl run share one connection ----------
out=$("${C[@]}" -v -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
  "$base/plaintext" "$base/plaintext" "$base/plaintext" 2>"$TMP/ka.err") || true
eq "keep-alive: 3 requests, 1 connect" "200:1 200:0 200:0 " "$out"
n=$(grep -c "Re-using existing connection" "$TMP/ka.err" || true)
eq "keep-alive: curl -v reports reuse twice" 2 "$n"

# --- keep-alive across methods: GET, POST, 404, GET on one connection ------
out=$("${C[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/plaintext" \
  --next -sS -o /dev/null -w '%{http_code}:%{num_connects} ' --data-binary 'abc' "$base/echo" \
  --next -sS -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/missing" \
  --next -sS -o "$TMP/last" -w '%{http_code}:%{num_connects} ' "$base/plaintext") || true
eq "keep-alive: GET, POST, 404, GET on one connection" "200:1 200:0 404:0 200:0 " "$out"
eq "keep-alive: last body" "Hello, World!" "$(cat "$TMP/last" 2>/dev/null)"

# --- HTTP/1.0 ---------------------------------------------------------------
out=$("${C[@]}" -0 -D "$TMP/h10.h" -o /dev/null -o "$TMP/h10.b" -w '%{http_code}:%{num_connects} ' \
  "$base/plaintext" "$base/plaintext") || true
eq "HTTP/1.0 without keep-alive: a new connection per request" "200:1 200:1 " "$out"
eq "HTTP/1.0 body" "Hello, World!" "$(cat "$TMP/h10.b" 2>/dev/null)"
check "HTTP/1.0 response says 'Connection: close'" grep -qi '^Connection: close' "$TMP/h10.h"
check "HTTP/1.0 response is not chunked" bash -c "! grep -qi '^Transfer-Encoding' '$TMP/h10.h'"
# The server itself must close: read to EOF on a raw socket.
raw10() {
  local port=${ECHO##*:}
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET /plaintext HTTP/1.0\r\nHost: x\r\n\r\n' >&3
  timeout 5 cat <&3 >"$TMP/raw10"
  local rc=$?
  exec 3<&-
  return $rc
}
if raw10; then
  check "HTTP/1.0 raw: server closes after the response" grep -q 'Hello, World!$' "$TMP/raw10"
else
  fail "HTTP/1.0 raw: server kept the connection open (no EOF within 5 s): $(head -c 200 "$TMP/raw10")"
fi

out=$("${C[@]}" -0 -H 'Connection: keep-alive' -v -D "$TMP/h10k.h" -o /dev/null -o "$TMP/h10k.b" \
  -w '%{http_code}:%{num_connects} ' "$base/plaintext" "$base/plaintext" 2>"$TMP/h10k.err") || true
eq "HTTP/1.0 + Connection: keep-alive: 2 requests, 1 connect" "200:1 200:0 " "$out"
check "HTTP/1.0 + keep-alive: response says 'Connection: keep-alive'" grep -qi '^Connection: keep-alive' "$TMP/h10k.h"
eq "HTTP/1.0 + keep-alive: body" "Hello, World!" "$(cat "$TMP/h10k.b" 2>/dev/null)"
out=$("${C[@]}" -0 -o "$TMP/h10p.b" -w '%{http_code}' --data-binary 'one point oh' "$base/echo") || true
eq "HTTP/1.0 POST /echo status" 200 "$out"
eq "HTTP/1.0 POST /echo body" "one point oh" "$(cat "$TMP/h10p.b" 2>/dev/null)"

# --- chunked upload of 1 MiB random data -----------------------------------
head -c 1048576 /dev/urandom >"$TMP/r1m"
out=$("${C[@]}" -v -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-ember-test' \
  --data-binary @"$TMP/r1m" -D "$TMP/ch.h" -o "$TMP/ch.b" -w '%{http_code}' "$base/echo" 2>"$TMP/ch.err") || true
eq "chunked upload: status" 200 "$out"
check "chunked upload: request really went chunked" grep -qi '^> Transfer-Encoding: chunked' "$TMP/ch.err"
same_file "chunked upload 1 MiB echoed" "$TMP/r1m" "$TMP/ch.b"
check "chunked upload: Content-Type echoed" grep -qi '^Content-Type: application/x-ember-test' "$TMP/ch.h"

# --- 5 MiB Content-Length upload (curl adds Expect: 100-continue) ---------
head -c 5242880 /dev/urandom >"$TMP/r5m"
out=$("${C[@]}" -v --data-binary @"$TMP/r5m" -o "$TMP/cl.b" -w '%{http_code}' "$base/echo" 2>"$TMP/cl.err") || true
eq "5 MiB Content-Length upload: status" 200 "$out"
same_file "5 MiB Content-Length upload echoed" "$TMP/r5m" "$TMP/cl.b"
check "5 MiB upload: curl sent 'Expect: 100-continue'" grep -qi '^> Expect: 100-continue' "$TMP/cl.err"
check "5 MiB upload: server answered '100 Continue'" grep -q '^< HTTP/1.1 100 Continue' "$TMP/cl.err"

# --- Expect: 100-continue, explicit, small body, chunked body --------------
out=$("${C[@]}" -v -H 'Expect: 100-continue' --data-binary 'tiny' -o "$TMP/ex.b" -w '%{http_code}' \
  "$base/echo" 2>"$TMP/ex.err") || true
eq "Expect on a small body: status" 200 "$out"
eq "Expect on a small body: body" tiny "$(cat "$TMP/ex.b" 2>/dev/null)"
check "Expect on a small body: '100 Continue' sent" grep -q '^< HTTP/1.1 100 Continue' "$TMP/ex.err"
out=$("${C[@]}" -v -H 'Expect: 100-continue' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r1m" \
  -o "$TMP/exc.b" -w '%{http_code}' "$base/echo" 2>"$TMP/exc.err") || true
eq "Expect + chunked: status" 200 "$out"
same_file "Expect + chunked 1 MiB echoed" "$TMP/r1m" "$TMP/exc.b"
check "Expect + chunked: '100 Continue' sent" grep -q '^< HTTP/1.1 100 Continue' "$TMP/exc.err"
# Over echo_server's 1 GiB body limit: a final 413, never "100 Continue"
# (announced with Expect and never sent, as curl would for a huge file).
big413() {
  local port=${ECHO##*:}
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2147483648\r\nExpect: 100-continue\r\n\r\n' >&3
  timeout 5 cat <&3 >"$TMP/big413"
  exec 3<&-
}
big413 || true
check "Expect + 2 GiB (over the limit): 413 before any body byte" grep -q '^HTTP/1.1 413 ' "$TMP/big413"
check "Expect + 2 GiB: no '100 Continue'" bash -c "! grep -q '^HTTP/1.1 100' '$TMP/big413'"
out=$("${C[@]}" "$base/plaintext") || true
eq "server still answers after the 413" "Hello, World!" "$out"
# A chunked upload malformed from its first chunk line (a size past 64
# bits, RFC 9112 §7.1): ember's own 400, then the close. echo_server starts
# its answer with the first piece of the body, never before it.
badchunk() {
  local port=${ECHO##*:}
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'"$1"'\r\nabc\r\n0\r\n\r\n' >&3
  timeout 5 cat <&3 >"$TMP/badchunk"
  exec 3<&-
}
for size in fffffffffffffffff3 '3\n' 3x; do
  badchunk "$size" || true
  check "chunked upload with chunk size '$size': 400" grep -q '^HTTP/1.1 400 ' "$TMP/badchunk"
  check "chunked upload with chunk size '$size': Connection: close" grep -qi '^Connection: close' "$TMP/badchunk"
done

# --- 404, 405, HEAD ----------------------------------------------------------
out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$base/no/such/path") || true
eq "GET unknown path: 404" 404 "$out"
out=$("${C[@]}" -o /dev/null -w '%{http_code}' --data-binary x "$base/nope") || true
eq "POST unknown path: 404" 404 "$out"
out=$("${C[@]}" -I -o "$TMP/head.h" -w '%{http_code}:%{size_download}' "$base/plaintext") || true
eq "HEAD /plaintext: 200, no body" "200:0" "$out"
check "HEAD /plaintext: Content-Length: 13 (as for GET)" grep -qi '^Content-Length: 13' "$TMP/head.h"
# If HEAD leaked a body, the next response on the connection would be garbage.
out=$("${C[@]}" -I -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/plaintext" \
  --next -sS -I -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/missing" \
  --next -sS -o "$TMP/afterhead" -w '%{http_code}:%{num_connects}' "$base/plaintext") || true
eq "HEAD, HEAD 404, GET on one connection" "200:1 404:0 200:0" "$out"
eq "GET after HEADs: body intact" "Hello, World!" "$(cat "$TMP/afterhead" 2>/dev/null)"

stop_server "$ECHO_PID" echo_server

# --- stream_server: rate-limited chunked download ------------------------------
start_server STREAM "$bin/stream_server"
echo "stream_server on $STREAM"
out=$("${C[@]}" --limit-rate 1M -D "$TMP/st.h" -o "$TMP/st.b" -w '%{http_code}:%{size_download}' \
  "http://$STREAM/stream?mb=4") || true
eq "stream 4 MiB at 1 MB/s: status and byte count" "200:4194304" "$out"
check "stream: body is 4 MiB of 'x'" bash -c "[ \"\$(tr -d x <'$TMP/st.b' | wc -c)\" = 0 ] && [ \"\$(wc -c <'$TMP/st.b')\" = 4194304 ]"
check "stream: Transfer-Encoding: chunked" grep -qi '^Transfer-Encoding: chunked' "$TMP/st.h"
# curl 7.88's --limit-rate is only best effort on loopback (often it does not
# slow down at all), so also read through a pipe at a fixed 1 MiB/s: 256 KiB
# every 0.25 s. The server must see a slow client and still send every byte.
slow_read() { # URL -> prints bytes read
  "${C[@]}" "$1" | {
    n=0
    while dd bs=64k count=4 iflag=fullblock status=none >"$TMP/part" && [ -s "$TMP/part" ]; do
      n=$((n + $(fsize "$TMP/part"))); sleep 0.25
    done
    echo $n
  }
}
t0=$(date +%s%N)
out=$(slow_read "http://$STREAM/stream?mb=4") || true
ms=$((($(date +%s%N) - t0) / 1000000))
eq "stream 4 MiB to a 1 MiB/s pipe reader: byte count" 4194304 "$out"
if [ "$ms" -ge 3000 ]; then pass "stream to the pipe reader was slow (${ms} ms)"
else fail "stream to the pipe reader took only ${ms} ms: the reader was not slow"; fi
# Backpressure: a client that stops reading must not make the server buffer
# the stream (256 MiB) in memory.
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$STREAM_PID/status"; }
rss0=$(rss)
"${C[@]}" "http://$STREAM/stream?mb=256" | { sleep 2; wc -c >"$TMP/stall.n"; } &
stall=$!
sleep 1.5
rss1=$(rss)
wait "$stall" || true
if [ $((rss1 - rss0)) -lt 65536 ]; then pass "stalled reader: server RSS grew only $((rss1 - rss0)) KiB"
else fail "stalled reader: server RSS grew from $rss0 to $rss1 KiB while the client did not read"; fi
eq "stalled reader: all 256 MiB arrive once it reads" 268435456 "$(tr -d ' ' <"$TMP/stall.n")"
out=$("${C[@]}" -0 -D "$TMP/st10.h" -o "$TMP/st10.b" -w '%{http_code}' "http://$STREAM/stream?mb=4") || true
eq "stream over HTTP/1.0: status" 200 "$out"
# HTTP/1.0 has no chunked coding: the same stream, delimited by the close.
check "stream over HTTP/1.0: not chunked, no length, Connection: close" bash -c \
  "! grep -qi '^Transfer-Encoding' '$TMP/st10.h' && ! grep -qi '^Content-Length' '$TMP/st10.h' && grep -qi '^Connection: close' '$TMP/st10.h'"
eq "stream over HTTP/1.0: all 4 MiB" 4194304 "$(stat -c %s "$TMP/st10.b")"
# A client that gives up mid-stream must not take the server down.
# (head takes 1 MiB and exits; curl dies on the broken pipe mid-stream.)
"${C[@]}" "http://$STREAM/stream?mb=64" 2>/dev/null | head -c 1048576 >/dev/null || true
for _ in $(seq 1 40); do grep -q 'stream aborted' "$STREAM_ERR" && break; sleep 0.05; done
check "stream: the server saw the client go (on_abort ran)" grep -q 'stream aborted' "$STREAM_ERR"
out=$("${C[@]}" -o /dev/null -w '%{http_code}:%{size_download}' "http://$STREAM/stream?mb=1") || true
eq "stream after an aborted client" "200:1048576" "$out"
stop_server "$STREAM_PID" stream_server

finish
