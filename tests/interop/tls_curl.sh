#!/usr/bin/env bash
# curl against examples/echo_server over TLS, with a CA and certificates this
# script makes (tls_lib.sh make_pki: EC P-256 and RSA-2048 leaves, a wrong
# host name, an expired one). Verified with --cacert throughout: keep-alive
# (one connection, curl says it re-used it), HTTP/1.0, chunked and
# Content-Length uploads echoed byte for byte, a 64 MiB download, TLS 1.2
# and 1.3 forced and 1.1 refused, ALPN http/1.1, and curl refusing (exit 60)
# a wrong host name, an expired certificate and an unknown CA.
#   tls_curl.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/interop/tls_lib.sh
source "$(dirname "$0")/tls_lib.sh"
bin=${1:?usage: tls_curl.sh EXAMPLES_BUILD_DIR}
need curl openssl sha256sum timeout

pki=$TMP/pki
make_pki "$pki" || { echo "FAIL: could not make the test certificates"; exit 1; }
C=(curl -sS --max-time 60 --cacert "$pki/ca.pem")

start_server ECHO "$bin/echo_server" --tls-cert "$pki/ec.pem" --tls-key "$pki/ec.key"
PORT=${ECHO##*:}
base=https://localhost:$PORT
echo "echo_server (TLS, EC P-256) on $ECHO"

# --- verified by name and by IP; ALPN; the certificate is ours ---------------
out=$("${C[@]}" -v -o "$TMP/get.b" -w '%{http_code}:%{ssl_verify_result}' "$base/plaintext" 2>"$TMP/get.err") || true
eq "GET https://localhost: 200, verified" "200:0" "$out"
eq "GET https://localhost: body" "Hello, World!" "$(cat "$TMP/get.b" 2>/dev/null)"
check "ALPN: curl says the server accepted http/1.1" grep -q 'ALPN: server accepted http/1.1' "$TMP/get.err"
check "the server sent the EC leaf for CN=localhost" grep -q 'subject: CN=localhost' "$TMP/get.err"
eq "default protocol is TLS 1.3" TLSv1.3 "$(tls_version_of "$TMP/get.err")"
out=$("${C[@]}" -w ':%{http_code}' "https://127.0.0.1:$PORT/plaintext") || true
eq "GET https://127.0.0.1 (IP SAN): verified" "Hello, World!:200" "$out"

# --- keep-alive: three URLs in one curl run share one TLS connection ---------
out=$("${C[@]}" -v -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}:%{num_connects} ' \
  "$base/plaintext" "$base/plaintext" "$base/plaintext" 2>"$TMP/ka.err") || true
eq "keep-alive: 3 requests, 1 connect" "200:1 200:0 200:0 " "$out"
eq "keep-alive: curl -v reports reuse twice" 2 "$(grep -c 'Re-using existing connection' "$TMP/ka.err" || true)"
eq "keep-alive: one TLS handshake" 1 "$(grep -c 'SSL connection using' "$TMP/ka.err" || true)"
out=$("${C[@]}" -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/plaintext" \
  --next -sS --cacert "$pki/ca.pem" -o /dev/null -w '%{http_code}:%{num_connects} ' --data-binary abc "$base/echo" \
  --next -sS --cacert "$pki/ca.pem" -o /dev/null -w '%{http_code}:%{num_connects} ' "$base/missing" \
  --next -sS --cacert "$pki/ca.pem" -o "$TMP/last" -w '%{http_code}:%{num_connects} ' "$base/plaintext") || true
eq "keep-alive: GET, POST, 404, GET on one connection" "200:1 200:0 404:0 200:0 " "$out"
eq "keep-alive: last body" "Hello, World!" "$(cat "$TMP/last" 2>/dev/null)"

# --- HTTP/1.0 ----------------------------------------------------------------
out=$("${C[@]}" --http1.0 -D "$TMP/h10.h" -o /dev/null -o "$TMP/h10.b" -w '%{http_code}:%{num_connects} ' \
  "$base/plaintext" "$base/plaintext") || true
eq "HTTP/1.0: a new connection per request" "200:1 200:1 " "$out"
eq "HTTP/1.0: body" "Hello, World!" "$(cat "$TMP/h10.b" 2>/dev/null)"
check "HTTP/1.0: response says 'Connection: close'" grep -qi '^Connection: close' "$TMP/h10.h"
check "HTTP/1.0: response line is HTTP/1.0 or 1.1, not chunked" bash -c \
  "grep -q '^HTTP/1\.[01] 200' '$TMP/h10.h' && ! grep -qi '^Transfer-Encoding' '$TMP/h10.h'"
out=$("${C[@]}" --http1.0 -o "$TMP/h10p.b" -w '%{http_code}' --data-binary 'one point oh' "$base/echo") || true
eq "HTTP/1.0 POST /echo: status" 200 "$out"
eq "HTTP/1.0 POST /echo: body" "one point oh" "$(cat "$TMP/h10p.b" 2>/dev/null)"
out=$("${C[@]}" --http1.0 -D "$TMP/st10.h" -o "$TMP/st10.b" -w '%{http_code}' "$base/stream?kb=1024") || true
eq "HTTP/1.0 stream (delimited by the TLS close): status" 200 "$out"
eq "HTTP/1.0 stream: all 1 MiB" 1048576 "$(fsize "$TMP/st10.b")"

# --- uploads echoed byte for byte ----------------------------------------------
head -c 4194304 /dev/urandom >"$TMP/r4m"
out=$("${C[@]}" -v -H 'Transfer-Encoding: chunked' -H 'Content-Type: application/x-ember-test' \
  --data-binary @"$TMP/r4m" -D "$TMP/ch.h" -o "$TMP/ch.b" -w '%{http_code}' "$base/echo" 2>"$TMP/ch.err") || true
eq "chunked upload 4 MiB: status" 200 "$out"
check "chunked upload: the request went chunked" grep -qi '^> Transfer-Encoding: chunked' "$TMP/ch.err"
same_file "chunked upload 4 MiB echoed" "$TMP/r4m" "$TMP/ch.b"
check "chunked upload: Content-Type echoed" grep -qi '^Content-Type: application/x-ember-test' "$TMP/ch.h"
out=$("${C[@]}" -v --data-binary @"$TMP/r4m" -o "$TMP/cl.b" -w '%{http_code}' "$base/echo" 2>"$TMP/cl.err") || true
eq "Content-Length upload 4 MiB: status" 200 "$out"
same_file "Content-Length upload 4 MiB echoed" "$TMP/r4m" "$TMP/cl.b"
check "Content-Length upload: '100 Continue' over TLS" grep -q '^< HTTP/1.1 100 Continue' "$TMP/cl.err"

# --- a big download --------------------------------------------------------------
kb=65536
head -c $((kb * 1024)) < <(yes abcdefghijklmnopqrstuvwxyz | tr -d '\n') >"$TMP/want.b"
t0=$(date +%s%N)
out=$("${C[@]}" -D "$TMP/big.h" -o "$TMP/big.b" -w '%{http_code}' "$base/stream?kb=$kb") || true
ms=$((($(date +%s%N) - t0) / 1000000))
eq "64 MiB chunked download: status" 200 "$out"
same_file "64 MiB chunked download (${ms} ms)" "$TMP/want.b" "$TMP/big.b"
check "64 MiB download was chunked" grep -qi '^Transfer-Encoding: chunked' "$TMP/big.h"

# --- protocol versions ------------------------------------------------------------
out=$("${C[@]}" -v --tlsv1.2 --tls-max 1.2 -w ':%{http_code}' "$base/plaintext" 2>"$TMP/v12.err") || true
eq "TLS 1.2 forced: answers" "Hello, World!:200" "$out"
eq "TLS 1.2 forced: negotiated" TLSv1.2 "$(tls_version_of "$TMP/v12.err")"
check "TLS 1.2: an ECDHE AEAD suite" grep -Eq 'SSL connection using TLSv1.2 / ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)' "$TMP/v12.err"
check "TLS 1.2: ALPN http/1.1" grep -q 'ALPN: server accepted http/1.1' "$TMP/v12.err"
out=$("${C[@]}" -v --tlsv1.3 -w ':%{http_code}' "$base/plaintext" 2>"$TMP/v13.err") || true
eq "TLS 1.3 forced: answers" "Hello, World!:200" "$out"
eq "TLS 1.3 forced: negotiated" TLSv1.3 "$(tls_version_of "$TMP/v13.err")"
rc=0; "${C[@]}" -o /dev/null --tlsv1 --tls-max 1.1 "$base/plaintext" 2>"$TMP/v11.err" || rc=$?
eq "TLS 1.1 at most: handshake refused (curl exit 35)" 35 "$rc"
check "TLS 1.1: the server sent the protocol_version alert" grep -q 'alert protocol version' "$TMP/v11.err"

# --- what curl must refuse: exit 60 -------------------------------------------------
rc=0; curl -sS --max-time 30 -o /dev/null "$base/plaintext" 2>"$TMP/noca.err" || rc=$?
eq "without --cacert (unknown CA): curl exit 60" 60 "$rc"

start_server WRONG "$bin/echo_server" --tls-cert "$pki/wrong.pem" --tls-key "$pki/wrong.key"
rc=0; "${C[@]}" -o /dev/null "https://localhost:${WRONG##*:}/plaintext" 2>"$TMP/wrong.err" || rc=$?
eq "certificate for wrong.example at localhost: curl exit 60" 60 "$rc"
check "wrong host: curl names the host name mismatch" grep -qi 'subject name does not match\|no alternative certificate subject name matches' "$TMP/wrong.err"
# The same certificate is fine under its own name: the refusal was the name.
out=$("${C[@]}" --resolve "wrong.example:${WRONG##*:}:127.0.0.1" -w ':%{http_code}' \
  "https://wrong.example:${WRONG##*:}/plaintext") || true
eq "the wrong-host certificate verifies as wrong.example" "Hello, World!:200" "$out"
stop_server "$WRONG_PID" "echo_server (wrong host)"

start_server EXPIRED "$bin/echo_server" --tls-cert "$pki/expired.pem" --tls-key "$pki/expired.key"
rc=0; "${C[@]}" -o /dev/null "https://localhost:${EXPIRED##*:}/plaintext" 2>"$TMP/exp.err" || rc=$?
eq "expired certificate: curl exit 60" 60 "$rc"
check "expired: curl says so" grep -qi 'expired' "$TMP/exp.err"
stop_server "$EXPIRED_PID" "echo_server (expired)"

# --- an RSA-2048 certificate ---------------------------------------------------------
start_server RSA "$bin/echo_server" --tls-cert "$pki/rsa.pem" --tls-key "$pki/rsa.key"
rbase=https://localhost:${RSA##*:}
out=$("${C[@]}" -v --tlsv1.2 --tls-max 1.2 -w ':%{http_code}' "$rbase/plaintext" 2>"$TMP/rsa12.err") || true
eq "RSA leaf, TLS 1.2: answers" "Hello, World!:200" "$out"
check "RSA leaf, TLS 1.2: an ECDHE-RSA AEAD suite" grep -Eq 'SSL connection using TLSv1.2 / ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)' "$TMP/rsa12.err"
out=$("${C[@]}" -v --tlsv1.3 --data-binary @"$TMP/r4m" -o "$TMP/rsa.b" -w '%{http_code}' "$rbase/echo" 2>"$TMP/rsa13.err") || true
eq "RSA leaf, TLS 1.3 upload: status" 200 "$out"
eq "RSA leaf, TLS 1.3: negotiated" TLSv1.3 "$(tls_version_of "$TMP/rsa13.err")"
same_file "RSA leaf, TLS 1.3: 4 MiB echoed" "$TMP/r4m" "$TMP/rsa.b"
stop_server "$RSA_PID" "echo_server (RSA)"

out=$("${C[@]}" -w ':%{http_code}' "$base/plaintext") || true
eq "the EC server still answers at the end" "Hello, World!:200" "$out"
stop_server "$ECHO_PID" "echo_server (EC)"
if grep -q 'ERROR: \|runtime error' "$ECHO_ERR"; then fail "sanitizer report from echo_server:"; head -n 30 "$ECHO_ERR"; fi

finish
