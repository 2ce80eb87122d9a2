#!/usr/bin/env bash
# ember's TLS against OpenSSL's own tools, with a CA and certificates this
# script makes (tls_lib.sh make_pki).
#  - examples/tls_client against `openssl s_server -www`: verified by name
#    and by IP with the right CA (exit 0); TLS 1.2 only and ALPN; refused
#    with exit 2 for a self-signed server, a wrong host name, an expired
#    certificate and a CA it was not given; --insecure and --servername.
#  - `openssl s_client` against examples/echo_server over TLS: TLS 1.3 and
#    1.2 with the negotiated protocol, cipher and ALPN checked, a verified
#    chain, session resumption from a ticket, and TLS 1.1 / 1.0 refused
#    with a protocol_version alert (the same s_client offer is accepted by
#    an s_server that allows them, so the refusal is ember's).
#   tls_openssl.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/interop/tls_lib.sh
source "$(dirname "$0")/tls_lib.sh"
bin=${1:?usage: tls_openssl.sh EXAMPLES_BUILD_DIR}
need openssl timeout
[ -x "$bin/tls_client" ] || { echo "FAIL: $bin/tls_client was not built"; exit 1; }

pki=$TMP/pki
make_pki "$pki" || { echo "FAIL: could not make the test certificates"; exit 1; }

# tls_client ARGS... -> sets rc, and $TMP/tc.out / $TMP/tc.err
tc() {
  rc=0
  timeout 60 "$bin/tls_client" --timeout 20000 "$@" >"$TMP/tc.out" 2>"$TMP/tc.err" || rc=$?
}
tc_ok() { # DESC ARGS...
  local desc=$1; shift
  tc "$@"
  if [ "$rc" -eq 0 ] && grep -q '^HTTP/1.0 200 ok' "$TMP/tc.out"; then pass "$desc"
  else fail "$desc: exit $rc, stderr: $(cat "$TMP/tc.err"), stdout: $(head -c 200 "$TMP/tc.out")"; fi
}
tc_refused() { # DESC REASON-REGEX ARGS...
  local desc=$1 why=$2; shift 2
  tc "$@"
  if [ "$rc" -eq 2 ] && grep -Eqi "^tls_client: certificate refused: .*($why)" "$TMP/tc.err" &&
    [ ! -s "$TMP/tc.out" ]; then
    pass "$desc ($(head -n1 "$TMP/tc.err"))"
  else
    fail "$desc: want exit 2 and 'certificate refused: $why', got exit $rc, stderr: $(cat "$TMP/tc.err")"
  fi
}

# === tls_client against openssl s_server =======================================
start_s_server GOOD -cert "$pki/ec.pem" -key "$pki/ec.key" -www -alpn http/1.1
gport=${GOOD##*:}
echo "s_server (EC leaf from the test CA) on $GOOD"
tc_ok "tls_client -> s_server by name, right CA: 200" --cacert "$pki/ca.pem" "localhost:$gport" /
check "tls_client -> s_server: the body is s_server's status page" grep -q 's_server' "$TMP/tc.out"
check "tls_client -> s_server: TLS 1.3 and ALPN http/1.1" grep -q '^tls_client: TLSv1.3 .* alpn=http/1.1' "$TMP/tc.err"
tc_ok "tls_client -> s_server by IP (IP SAN), right CA: 200" --cacert "$pki/ca.pem" "127.0.0.1:$gport" /
tc_refused "tls_client -> s_server without the test CA (system store): exit 2" "unable to get local issuer|self.signed|unable to verify" \
  "localhost:$gport" /
tc_refused "tls_client --servername other.example -> s_server: exit 2" "hostname mismatch|host ?name" \
  --cacert "$pki/ca.pem" --servername other.example "localhost:$gport" /

start_s_server V12 -cert "$pki/rsa.pem" -key "$pki/rsa.key" -www -tls1_2
tc_ok "tls_client -> s_server TLS 1.2 only, RSA leaf: 200" --cacert "$pki/ca.pem" "localhost:${V12##*:}" /
check "tls_client -> s_server TLS 1.2: negotiated TLSv1.2, no ALPN" grep -q '^tls_client: TLSv1.2 .* alpn=none' "$TMP/tc.err"

start_s_server SELF -cert "$pki/self.pem" -key "$pki/self.key" -www
tc_refused "tls_client -> self-signed s_server: exit 2" "self.signed" --cacert "$pki/ca.pem" "localhost:${SELF##*:}" /
tc_ok "tls_client --insecure -> self-signed s_server: 200" --insecure "localhost:${SELF##*:}" /

start_s_server WRONG -cert "$pki/wrong.pem" -key "$pki/wrong.key" -www
tc_refused "tls_client -> s_server with a wrong.example certificate at localhost: exit 2" "hostname mismatch|host ?name" \
  --cacert "$pki/ca.pem" "localhost:${WRONG##*:}" /
tc_refused "tls_client -> wrong.example certificate at 127.0.0.1: exit 2" "ip address mismatch|hostname mismatch|IP" \
  --cacert "$pki/ca.pem" "127.0.0.1:${WRONG##*:}" /
tc_ok "tls_client --servername wrong.example -> the same s_server: 200" \
  --cacert "$pki/ca.pem" --servername wrong.example "127.0.0.1:${WRONG##*:}" /

start_s_server EXPIRED -cert "$pki/expired.pem" -key "$pki/expired.key" -www
tc_refused "tls_client -> s_server with an expired certificate: exit 2" "expired" \
  --cacert "$pki/ca.pem" "localhost:${EXPIRED##*:}" /

# A server that is not there and one that speaks no TLS are exit 1, not 2.
tc --cacert "$pki/ca.pem" "localhost:1" /
eq "tls_client -> closed port: exit 1" 1 "$rc"

for s in GOOD V12 SELF WRONG EXPIRED; do
  pid_var=${s}_PID
  kill -TERM "${!pid_var}" 2>/dev/null || true
  wait "${!pid_var}" 2>/dev/null || true
  untrack_pid "${!pid_var}"
done

# === openssl s_client against ember ================================================
start_server ECHO "$bin/echo_server" --tls-cert "$pki/ec.pem" --tls-key "$pki/ec.key"
eport=${ECHO##*:}
echo "echo_server (TLS, EC P-256) on $ECHO"

# s_client ARGS... against HOST:PORT in $sc_to: sends one GET with
# Connection: close, reads to the close (-ign_eof). Output in $TMP/sc.out.
sc_to=127.0.0.1:$eport
sc() {
  rc=0
  printf 'GET /plaintext HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
    timeout 30 openssl s_client -connect "$sc_to" -servername localhost -ign_eof "$@" \
      >"$TMP/sc.out" 2>&1 || rc=$?
}
V=(-CAfile "$pki/ca.pem" -verify_return_error -verify_hostname localhost -alpn http/1.1)

sc "${V[@]}" -tls1_3 -sess_out "$TMP/sess13.pem"
eq "s_client -tls1_3 -> ember: exit 0" 0 "$rc"
check "s_client -tls1_3: negotiated TLSv1.3" grep -q '^New, TLSv1.3, Cipher is TLS_' "$TMP/sc.out"
check "s_client -tls1_3: ALPN http/1.1" grep -q '^ALPN protocol: http/1.1' "$TMP/sc.out"
check "s_client -tls1_3: chain and host name verified" grep -q 'Verify return code: 0 (ok)' "$TMP/sc.out"
check "s_client -tls1_3: the answer" grep -q '^Hello, World!' "$TMP/sc.out"
sc "${V[@]}" -tls1_3 -sess_in "$TMP/sess13.pem"
check "s_client -tls1_3: the next connection resumes from the ticket" grep -q '^Reused, TLSv1.3' "$TMP/sc.out"

sc "${V[@]}" -tls1_2 -sess_out "$TMP/sess12.pem"
eq "s_client -tls1_2 -> ember: exit 0" 0 "$rc"
check "s_client -tls1_2: negotiated TLSv1.2 with an ECDHE AEAD suite" \
  grep -Eq '^New, TLSv1.2, Cipher is ECDHE-ECDSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)$' "$TMP/sc.out"
check "s_client -tls1_2: ALPN http/1.1" grep -q '^ALPN protocol: http/1.1' "$TMP/sc.out"
check "s_client -tls1_2: extended master secret" grep -Eq '^ *Extended master secret: yes' "$TMP/sc.out"
check "s_client -tls1_2: secure renegotiation advertised" grep -q '^Secure Renegotiation IS supported' "$TMP/sc.out"
check "s_client -tls1_2: the answer" grep -q '^Hello, World!' "$TMP/sc.out"
sc "${V[@]}" -tls1_2 -sess_in "$TMP/sess12.pem"
check "s_client -tls1_2: the next connection resumes" grep -q '^Reused, TLSv1.2' "$TMP/sc.out"

sc -CAfile "$pki/ca.pem" -verify_return_error -alpn h2
# RFC 7301 §3.2: no protocol in common is a fatal no_application_protocol
if [ "$rc" -ne 0 ]; then pass "s_client offering only h2: handshake refused (exit $rc)"
else fail "s_client offering only h2: the handshake completed"; fi
check "s_client offering only h2: the alert is no_application_protocol" \
  grep -qi 'no application protocol' "$TMP/sc.out"

# TLS 1.1 and 1.0: s_client at security level 0, so it really offers them
# (OpenSSL 3's level 1 would not). An s_server that allows them takes the
# very same offer; ember must answer with a protocol_version alert.
start_s_server OLD -cert "$pki/rsa.pem" -key "$pki/rsa.key" -www -cipher 'DEFAULT@SECLEVEL=0'
old=(-cipher 'DEFAULT@SECLEVEL=0')
for v in 1_1 1; do
  name="TLS 1.${v#1_}"; [ "$v" = 1 ] && name="TLS 1.0"
  ver=TLSv1.${v#1_}; [ "$v" = 1 ] && ver=TLSv1
  sc_to=$OLD
  sc -tls$v "${old[@]}"
  # ("New, TLSv1.0, Cipher is X" names the suite's version; "Protocol" the
  # connection's.)
  check "$name offer is accepted by a permissive s_server (control)" bash -c \
    "grep -q '^New, TLSv[.0-9]*, Cipher is [A-Z]' '$TMP/sc.out' && grep -Eq '^ *Protocol *: $ver\$' '$TMP/sc.out'"
  sc_to=127.0.0.1:$eport
  sc -tls$v "${old[@]}"
  if [ "$rc" -ne 0 ] && grep -q 'alert protocol version' "$TMP/sc.out" &&
    grep -q '^New, (NONE), Cipher is (NONE)' "$TMP/sc.out"; then
    pass "$name refused by ember with a protocol_version alert"
  else
    fail "$name against ember: exit $rc: $(grep -E 'alert|^New,|error' "$TMP/sc.out" | head -n 3)"
  fi
done
kill -TERM "$OLD_PID" 2>/dev/null || true
wait "$OLD_PID" 2>/dev/null || true
untrack_pid "$OLD_PID"

sc_to=127.0.0.1:$eport
sc "${V[@]}"
check "ember still answers after the refused handshakes" grep -q '^Hello, World!' "$TMP/sc.out"
stop_server "$ECHO_PID" echo_server
if grep -q 'ERROR: \|runtime error' "$ECHO_ERR"; then fail "sanitizer report from echo_server:"; head -n 30 "$ECHO_ERR"; fi

finish
