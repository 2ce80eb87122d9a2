#!/usr/bin/env bash
# nginx as a reverse proxy (HTTP/1.1, upstream keep-alive) in front of
# examples/echo_server, on loopback ports, with every nginx path in a temp
# dir (never the system service). Through nginx: GET /plaintext, 20
# sequential requests that must share one upstream connection, POST /echo
# with Content-Length and chunked bodies (buffered by nginx, and unbuffered
# so ember itself gets the chunked body) echoed byte for byte, 404 passing
# through, and a short wrk run without errors. nginx's error log must stay
# free of upstream errors.
#   nginx_proxy.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: nginx_proxy.sh EXAMPLES_BUILD_DIR}
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (scripts/install-deps.sh build)"; exit 0; }
need curl wrk sha256sum timeout

C=(curl -sS --max-time 30)

# nginx stops sending a request body upstream once the response head is on
# its way to the client, so it needs the echo that answers only once the
# whole body is in (the streaming one would stall on large bodies).
start_server ECHO "$bin/echo_server" --echo whole
EPORT=${ECHO##*:}
echo "echo_server on $ECHO"

# --- nginx on a free loopback port ---------------------------------------------
ngx=$TMP/nginx
mkdir -p "$ngx"
write_conf() { # PORT
  cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $ngx/nginx.pid;
error_log $ngx/error.log info;
events { worker_connections 1024; }
http {
    access_log $ngx/access.log;
    client_body_temp_path $ngx/body;
    proxy_temp_path $ngx/proxy;
    fastcgi_temp_path $ngx/fastcgi;
    uwsgi_temp_path $ngx/uwsgi;
    scgi_temp_path $ngx/scgi;
    client_max_body_size 20m;
    upstream ember {
        server $ECHO;
        keepalive 8;
    }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://ember;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
        # The client's chunked body goes to ember as it arrives, still chunked.
        location /raw/ {
            proxy_pass http://ember/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_request_buffering off;
        }
    }
}
EOF
}

NPID=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  NPORT=$((20000 + RANDOM % 40000))
  write_conf "$NPORT"
  : >"$ngx/error.log"
  "$NGINX" -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" >"$ngx/stdout" 2>&1 &
  NPID=$!
  track_pid "$NPID"
  up=""
  for i in $(seq 1 100); do # up to 5 s
    kill -0 "$NPID" 2>/dev/null || break
    if curl -s --max-time 1 -o /dev/null "http://127.0.0.1:$NPORT/plaintext"; then up=1; break; fi
    sleep 0.05
  done
  [ -n "$up" ] && break
  wait "$NPID" 2>/dev/null || true
  untrack_pid "$NPID"
  if grep -q "Address already in use" "$ngx/error.log" "$ngx/stdout"; then continue; fi
  echo "FAIL: nginx did not start:"; cat "$ngx/stdout" "$ngx/error.log"; exit 1
done
[ -n "$up" ] || { echo "FAIL: no free port for nginx after 10 tries"; exit 1; }
base=http://127.0.0.1:$NPORT
echo "nginx on 127.0.0.1:$NPORT (pid $NPID)"

# Distinct TCP connections to ember's port, open or in TIME_WAIT, from
# /proc/net/tcp: each is named by its client-side (nginx) port.
upstream_conns() {
  awk -v p="$(printf '%04X' "$EPORT")" '
    NR > 1 {
      split($2, l, ":"); split($3, r, ":")
      if (l[2] == p && $4 != "0A") seen[r[2]] = 1
      if (r[2] == p) seen[l[2]] = 1
    }
    END { n = 0; for (k in seen) n++; print n }' /proc/net/tcp
}

# --- GET, and 20 sequential requests over one upstream connection --------------
out=$("${C[@]}" -D "$TMP/get.h" -o "$TMP/get.b" -w '%{http_code}' "$base/plaintext") || true
eq "nginx GET /plaintext: status" 200 "$out"
eq "nginx GET /plaintext: body" "Hello, World!" "$(cat "$TMP/get.b" 2>/dev/null)"
check "nginx GET /plaintext: Content-Type text/plain" grep -qi '^Content-Type: text/plain' "$TMP/get.h"

bad=0
for i in $(seq 1 20); do # each its own curl, so its own client connection
  if [ $((i % 2)) -eq 1 ]; then
    out=$("${C[@]}" -w ':%{http_code}' "$base/plaintext") || true
    want="Hello, World!:200"
  else
    out=$("${C[@]}" -w ':%{http_code}' --data-binary "request $i" "$base/echo") || true
    want="request $i:200"
  fi
  [ "$out" = "$want" ] || { fail "sequential request $i: expected '$want', got '$out'"; bad=1; }
done
[ $bad -eq 0 ] && pass "20 sequential requests (GET and POST alternating) through nginx"
n=$(upstream_conns)
eq "startup probe + 21 requests used 1 upstream connection (keep-alive)" 1 "$n"

# --- uploads ---------------------------------------------------------------------
head -c 1048576 /dev/urandom >"$TMP/r1m"
head -c 5242880 /dev/urandom >"$TMP/r5m"
out=$("${C[@]}" --data-binary @"$TMP/r5m" -o "$TMP/cl.b" -w '%{http_code}' "$base/echo") || true
eq "nginx POST 5 MiB Content-Length: status" 200 "$out"
same_file "nginx POST 5 MiB Content-Length echoed" "$TMP/r5m" "$TMP/cl.b"
out=$("${C[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r1m" -o "$TMP/ch.b" \
  -w '%{http_code}' "$base/echo") || true
eq "nginx POST 1 MiB chunked (buffered by nginx): status" 200 "$out"
same_file "nginx POST 1 MiB chunked (buffered) echoed" "$TMP/r1m" "$TMP/ch.b"
out=$("${C[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r1m" -o "$TMP/raw.b" \
  -w '%{http_code}' "$base/raw/echo") || true
eq "nginx POST 1 MiB chunked (unbuffered, chunked to ember): status" 200 "$out"
same_file "nginx POST 1 MiB chunked (unbuffered) echoed" "$TMP/r1m" "$TMP/raw.b"
out=$("${C[@]}" --data-binary @"$TMP/r5m" -o "$TMP/rawcl.b" -w '%{http_code}' "$base/raw/echo") || true
eq "nginx POST 5 MiB Content-Length (unbuffered): status" 200 "$out"
same_file "nginx POST 5 MiB Content-Length (unbuffered) echoed" "$TMP/r5m" "$TMP/rawcl.b"

# --- 404 passes through ------------------------------------------------------
out=$("${C[@]}" -o "$TMP/404.b" -w '%{http_code}' "$base/no/such/thing") || true
eq "nginx GET unknown path: ember's 404 passes through" 404 "$out"
check "nginx 404: body is ember's" grep -q 'Not Found' "$TMP/404.b"
out=$("${C[@]}" -w ':%{http_code}' "$base/plaintext") || true
eq "nginx GET after 404" "Hello, World!:200" "$out"

n=$(upstream_conns)
eq "all requests so far used 1 upstream connection" 1 "$n"

# --- over ember's 10 MiB body limit: its 413 must reach the client ---------------
# (ember answers early and closes; nginx may still be sending the body, so
# ember has to drain it rather than reset the connection, or nginx says 502.)
head -c 11534336 /dev/zero >"$TMP/r11m"
for path in /echo /raw/echo; do
  out=$("${C[@]}" -H 'Expect:' --data-binary @"$TMP/r11m" -o /dev/null -w '%{http_code}' "$base$path") || true
  eq "nginx POST 11 MiB Content-Length to $path: ember's 413" 413 "$out"
done
out=$("${C[@]}" -H 'Expect:' -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r11m" -o /dev/null \
  -w '%{http_code}' "$base/raw/echo") || true
eq "nginx POST 11 MiB chunked to /raw/echo: ember's 413" 413 "$out"

# --- wrk through nginx ----------------------------------------------------------
log=$TMP/wrk.log
if timeout 60 wrk -t2 -c16 -d2s "$base/plaintext" >"$log" 2>&1; then
  sed 's/^/    /' "$log"
  if grep -q 'Socket errors' "$log"; then fail "wrk via nginx: $(grep 'Socket errors' "$log" | sed 's/^ *//')"
  else pass "wrk via nginx: no socket errors"; fi
  if grep -q 'Non-2xx' "$log"; then fail "wrk via nginx: $(grep 'Non-2xx' "$log" | sed 's/^ *//')"
  else pass "wrk via nginx: no non-2xx responses"; fi
  reqs=$(awk '/requests in/ { print $1 }' "$log")
  if [ "${reqs:-0}" -gt 1000 ]; then pass "wrk via nginx: $reqs requests (> 1000)"
  else fail "wrk via nginx: only ${reqs:-0} requests (want > 1000)"; fi
else
  fail "wrk via nginx failed: $(cat "$log")"
fi
out=$("${C[@]}" -w ':%{http_code}' "$base/plaintext") || true
eq "nginx GET after wrk" "Hello, World!:200" "$out"

# --- nginx saw no upstream trouble; stop nginx, then ember ---------------------
if grep -E '\[(error|crit|alert|emerg)\]|upstream prematurely|upstream timed out' "$ngx/error.log" >"$TMP/ngx.bad"; then
  fail "nginx error log has upstream errors:"; head -n 20 "$TMP/ngx.bad"
else
  pass "nginx error log has no errors"
fi
kill -QUIT "$NPID" 2>/dev/null || true
i=0
while kill -0 "$NPID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if kill -0 "$NPID" 2>/dev/null; then fail "nginx did not stop on SIGQUIT"; kill -KILL "$NPID"; fi
rc=0; wait "$NPID" 2>/dev/null || rc=$?
untrack_pid "$NPID"
eq "nginx stopped cleanly" 0 "$rc"
stop_server "$ECHO_PID" echo_server

finish
