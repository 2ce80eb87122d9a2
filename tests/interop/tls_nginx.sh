#!/usr/bin/env bash
# ember and nginx over TLS, with a CA and certificates this script makes
# (tls_lib.sh make_pki); one nginx of our own (temp prefix, loopback ports):
#  (a) examples/tls_client against nginx's TLS: the right CA -> 200; a
#      certificate for another host name -> exit 2.
#  (b) nginx terminating TLS in front of echo_server (plain HTTP upstream):
#      curl --cacert through it: GET, POST bodies echoed byte for byte,
#      keep-alive on the client side.
#  (c) nginx proxying with proxy_pass https:// to echo_server over TLS,
#      proxy_ssl_verify on with the test CA and proxy_ssl_name: GET, POST
#      echoed, one kept-alive upstream TLS connection for many requests,
#      and a 502 when proxy_ssl_name does not match ember's certificate.
#   tls_nginx.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/interop/tls_lib.sh
source "$(dirname "$0")/tls_lib.sh"
bin=${1:?usage: tls_nginx.sh EXAMPLES_BUILD_DIR}
find_nginx
need curl openssl sha256sum timeout
[ -x "$bin/tls_client" ] || { echo "FAIL: $bin/tls_client was not built"; exit 1; }

pki=$TMP/pki
make_pki "$pki" || { echo "FAIL: could not make the test certificates"; exit 1; }

# nginx stops sending a request body upstream once the response head is on
# its way, so the upstreams answer once the whole body is in (--echo whole).
start_server PLAIN "$bin/echo_server" --echo whole
start_server SECURE "$bin/echo_server" --echo whole --tls-cert "$pki/ec.pem" --tls-key "$pki/ec.key"
SPORT=${SECURE##*:}
echo "echo_server plain on $PLAIN, TLS on $SECURE"

nginx_conf() { # PORT_A PORT_WRONG PORT_B PORT_C
  {
    nginx_conf_head
    cat <<EOF
http {
$(nginx_http_paths)
    client_max_body_size 20m;
    upstream ember_plain {
        server $PLAIN;
        keepalive 8;
    }
    upstream ember_tls {
        server $SECURE;
        keepalive 8;
    }
    # (a) nginx's own TLS, and the same with a certificate for another name
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $pki/ec.pem;
        ssl_certificate_key $pki/ec.key;
        location / { return 200 "nginx over tls\n"; }
    }
    server {
        listen 127.0.0.1:$2 ssl;
        ssl_certificate $pki/wrong.pem;
        ssl_certificate_key $pki/wrong.key;
        location / { return 200 "wrong name\n"; }
    }
    # (b) TLS terminated by nginx, plain HTTP to ember
    server {
        listen 127.0.0.1:$3 ssl;
        ssl_certificate $pki/rsa.pem;
        ssl_certificate_key $pki/rsa.key;
        location / {
            proxy_pass http://ember_plain;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
    # (c) plain HTTP to nginx, verified TLS from nginx to ember
    server {
        listen 127.0.0.1:$4;
        location / {
            proxy_pass https://ember_tls;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_verify on;
            proxy_ssl_verify_depth 2;
            proxy_ssl_trusted_certificate $pki/ca.pem;
            proxy_ssl_name localhost;
            proxy_ssl_server_name on;
            proxy_ssl_session_reuse on;
        }
        # Its own upstream: a connection kept alive for ember_tls was
        # verified for another name, and nginx would reuse it.
        location /badname/ {
            proxy_pass https://$SECURE/;
            proxy_ssl_session_reuse off;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $pki/ca.pem;
            proxy_ssl_name not-ember.example;
        }
    }
}
EOF
  } >"$ngx/nginx.conf"
}
start_nginx nginx_conf 4
PA=${NGX_PORTS[0]} PW=${NGX_PORTS[1]} PB=${NGX_PORTS[2]} PC=${NGX_PORTS[3]}

C=(curl -sS --max-time 60 --cacert "$pki/ca.pem")
head -c 1048576 /dev/urandom >"$TMP/r1m"
head -c 5242880 /dev/urandom >"$TMP/r5m"

# === (a) tls_client against nginx ====================================================
rc=0; timeout 60 "$bin/tls_client" --timeout 20000 --cacert "$pki/ca.pem" "localhost:$PA" / \
  >"$TMP/a.out" 2>"$TMP/a.err" || rc=$?
eq "(a) tls_client -> nginx, right CA: exit 0" 0 "$rc"
check "(a) tls_client -> nginx: HTTP/1.1 200 and nginx's body" bash -c \
  "grep -q '^HTTP/1.1 200' '$TMP/a.out' && grep -q '^nginx over tls' '$TMP/a.out'"
check "(a) tls_client -> nginx: TLSv1.2 or 1.3, ALPN http/1.1" grep -Eq '^tls_client: TLSv1.[23] .* alpn=http/1.1' "$TMP/a.err"
rc=0; timeout 60 "$bin/tls_client" --timeout 20000 --cacert "$pki/ca.pem" "localhost:$PW" / \
  >"$TMP/aw.out" 2>"$TMP/aw.err" || rc=$?
eq "(a) tls_client -> nginx with a wrong.example certificate: exit 2" 2 "$rc"
check "(a) wrong host: 'certificate refused: ... hostname mismatch'" \
  grep -q '^tls_client: certificate refused: .*hostname mismatch' "$TMP/aw.err"
rc=0; timeout 60 "$bin/tls_client" --timeout 20000 "localhost:$PA" / >/dev/null 2>"$TMP/an.err" || rc=$?
eq "(a) tls_client -> nginx without the test CA: exit 2" 2 "$rc"

# === (b) nginx terminates TLS, ember behind it in plain HTTP ==========================
b=https://localhost:$PB
out=$("${C[@]}" -v -o "$TMP/b.b" -w '%{http_code}' "$b/plaintext" 2>"$TMP/b.err") || true
eq "(b) GET /plaintext through nginx's TLS: 200" 200 "$out"
eq "(b) GET body" "Hello, World!" "$(cat "$TMP/b.b" 2>/dev/null)"
check "(b) curl verified nginx's RSA certificate" grep -q 'SSL certificate verify ok' "$TMP/b.err"
out=$("${C[@]}" --data-binary @"$TMP/r5m" -o "$TMP/bcl.b" -w '%{http_code}' "$b/echo") || true
eq "(b) POST 5 MiB Content-Length: 200" 200 "$out"
same_file "(b) POST 5 MiB echoed" "$TMP/r5m" "$TMP/bcl.b"
out=$("${C[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r1m" -o "$TMP/bch.b" -w '%{http_code}' "$b/echo") || true
eq "(b) POST 1 MiB chunked: 200" 200 "$out"
same_file "(b) POST 1 MiB chunked echoed" "$TMP/r1m" "$TMP/bch.b"
out=$("${C[@]}" -v -o /dev/null -w '%{http_code}:%{num_connects} ' "$b/plaintext" \
  --next -sS --cacert "$pki/ca.pem" -o "$TMP/bka.b" -w '%{http_code}:%{num_connects} ' --data-binary 'kept alive' "$b/echo" \
  --next -sS --cacert "$pki/ca.pem" -o /dev/null -w '%{http_code}:%{num_connects} ' "$b/missing" \
  --next -sS --cacert "$pki/ca.pem" -o /dev/null -w '%{http_code}:%{num_connects}' "$b/plaintext" 2>"$TMP/bka.err") || true
eq "(b) keep-alive: GET, POST, 404 (ember's), GET on one TLS connection" "200:1 200:0 404:0 200:0" "$out"
eq "(b) keep-alive: POST body" "kept alive" "$(cat "$TMP/bka.b" 2>/dev/null)"
eq "(b) keep-alive: curl -v reports reuse 3 times" 3 "$(grep -c 'Re-using existing connection' "$TMP/bka.err" || true)"

# === (c) nginx -> ember over verified TLS ============================================
c=http://127.0.0.1:$PC
# Connections to ember's TLS port (open or TIME_WAIT), named by nginx's port.
upstream_conns() {
  awk -v p="$(printf '%04X' "$SPORT")" '
    NR > 1 {
      split($2, l, ":"); split($3, r, ":")
      if (l[2] == p && $4 != "0A") seen[r[2]] = 1
      if (r[2] == p) seen[l[2]] = 1
    }
    END { n = 0; for (k in seen) n++; print n }' /proc/net/tcp
}
out=$("${C[@]}" -o "$TMP/c.b" -w '%{http_code}' "$c/plaintext") || true
eq "(c) GET /plaintext via proxy_pass https:// (verified): 200" 200 "$out"
eq "(c) GET body" "Hello, World!" "$(cat "$TMP/c.b" 2>/dev/null)"
bad=0
for i in $(seq 1 20); do
  if [ $((i % 2)) -eq 1 ]; then
    out=$("${C[@]}" -w ':%{http_code}' "$c/plaintext") || true; want="Hello, World!:200"
  else
    out=$("${C[@]}" -w ':%{http_code}' --data-binary "request $i" "$c/echo") || true; want="request $i:200"
  fi
  [ "$out" = "$want" ] || { fail "(c) sequential request $i: expected '$want', got '$out'"; bad=1; }
done
[ $bad -eq 0 ] && pass "(c) 20 sequential requests (GET and POST) through nginx to ember's TLS"
eq "(c) 21 requests used 1 upstream TLS connection (keep-alive)" 1 "$(upstream_conns)"
out=$("${C[@]}" --data-binary @"$TMP/r5m" -o "$TMP/ccl.b" -w '%{http_code}' "$c/echo") || true
eq "(c) POST 5 MiB Content-Length: 200" 200 "$out"
same_file "(c) POST 5 MiB echoed over nginx's upstream TLS" "$TMP/r5m" "$TMP/ccl.b"
out=$("${C[@]}" -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/r1m" -o "$TMP/cch.b" -w '%{http_code}' "$c/echo") || true
eq "(c) POST 1 MiB chunked: 200" 200 "$out"
same_file "(c) POST 1 MiB chunked echoed" "$TMP/r1m" "$TMP/cch.b"
out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$c/no/such/path") || true
eq "(c) ember's 404 passes through" 404 "$out"
out=$("${C[@]}" -o /dev/null -w '%{http_code}' "$c/badname/plaintext") || true
eq "(c) proxy_ssl_name not matching ember's certificate: 502" 502 "$out"
check "(c) nginx logged the certificate name mismatch" \
  grep -q 'upstream SSL certificate does not match "not-ember.example"' "$ngx/error.log"
out=$("${C[@]}" -w ':%{http_code}' "$c/plaintext") || true
eq "(c) GET after the refused upstream" "Hello, World!:200" "$out"

# nginx saw no other trouble (the one expected error is the name mismatch).
if grep -E '\[(error|crit|alert|emerg)\]|upstream prematurely|upstream timed out' "$ngx/error.log" |
  grep -v 'upstream SSL certificate does not match "not-ember.example"' >"$TMP/ngx.bad"; then
  fail "nginx error log has unexpected errors:"; head -n 20 "$TMP/ngx.bad"
else
  pass "nginx error log has no unexpected errors"
fi
stop_nginx
stop_server "$SECURE_PID" "echo_server (TLS)"
stop_server "$PLAIN_PID" "echo_server (plain)"
for e in "$SECURE_ERR" "$PLAIN_ERR"; do
  if grep -q 'ERROR: \|runtime error' "$e"; then fail "sanitizer report from echo_server:"; head -n 30 "$e"; fi
done

finish
