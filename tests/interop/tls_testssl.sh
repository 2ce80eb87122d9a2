#!/usr/bin/env bash
# testssl.sh against ember's HTTPS server (examples/echo_server --tls-cert)
# and, in the same run with the same RSA-2048 certificate, against nginx
# configured with its defaults (ssl_certificate and its key, nothing else).
# Both scans run at once: for ember protocols (-p), ciphers per protocol
# (-E) and every vulnerability check (-U); for nginx, the baseline, -E
# alone (a protocol is offered when it has a cipher). It fails if
#   - testssl rates any finding for ember HIGH or CRITICAL (or the scan
#     itself failed),
#   - ember offers a protocol up to TLS 1.2, or a TLS <= 1.2 cipher suite,
#     that nginx's defaults do not (TLS 1.0/1.1, weaker CBC suites, ...),
#   - ember's TLS 1.3 suites are not the standard AEAD ones,
#   - either scan found nothing offered at all (a scan that did not work).
# TLS 1.3 is the one thing ember may offer beyond nginx 1.22, whose default
# ssl_protocols stops at TLSv1.2 (1.23.4 added TLSv1.3).
#   tls_testssl.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/interop/tls_lib.sh
source "$(dirname "$0")/tls_lib.sh"
bin=${1:?usage: tls_testssl.sh EXAMPLES_BUILD_DIR}
TESTSSL=$(command -v testssl || command -v testssl.sh || true)
[ -n "$TESTSSL" ] || { echo "SKIP: testssl.sh is not installed (scripts/install-deps.sh build)"; exit 77; }
find_nginx
need curl openssl timeout awk

pki=$TMP/pki
make_pki "$pki" || { echo "FAIL: could not make the test certificates"; exit 1; }

start_server ECHO "$bin/echo_server" --tls-cert "$pki/rsa.pem" --tls-key "$pki/rsa.key"
echo "echo_server (TLS, RSA-2048) on $ECHO"

nginx_conf() { # PORT
  {
    nginx_conf_head
    cat <<EOF
http {
$(nginx_http_paths)
    server {
        listen 127.0.0.1:$1 ssl;
        ssl_certificate $pki/rsa.pem;
        ssl_certificate_key $pki/rsa.key;
        location / { return 200 "nginx\n"; }
    }
}
EOF
  } >"$ngx/nginx.conf"
}
start_nginx nginx_conf 1
NGX=127.0.0.1:${NGX_PORTS[0]}

C=(curl -sS --max-time 30 --cacert "$pki/ca.pem")
eq "ember answers over TLS" "Hello, World!" "$("${C[@]}" "https://localhost:${ECHO##*:}/plaintext" || true)"
eq "nginx answers over TLS" "nginx" "$("${C[@]}" "https://localhost:${NGX##*:}/" || true)"

# --- the two scans, side by side ---------------------------------------------
# --ip: connect to 127.0.0.1 but send SNI "localhost"; --warnings off: no
# prompts; --sneaky: a plain user agent. testssl's own time dominates (it is
# a shell script that forks for every probe), so a loaded machine slows it
# several fold: the timeout is generous.
TS=("$TESTSSL" --quiet --color 0 --sneaky --warnings off --openssl "$(command -v openssl)"
  --connect-timeout 10 --openssl-timeout 10 --ip 127.0.0.1)
scan() { # NAME HOSTPORT CHECKS...
  local name=$1 hp=$2 t0 rc=0
  shift 2
  t0=$(date +%s)
  timeout 1500 "${TS[@]}" "$@" --jsonfile "$TMP/$name.json" "localhost:${hp##*:}" \
    >"$TMP/$name.txt" 2>&1 || rc=$?
  echo "$rc $(($(date +%s) - t0))" >"$TMP/$name.rc"
}
t0=$(date +%s)
scan ember "$ECHO" -p -E -U &
epid=$!
track_pid "$epid"
scan nginx "$NGX" -E &
npid=$!
track_pid "$npid"
wait "$epid" || true
untrack_pid "$epid"
wait "$npid" || true
untrack_pid "$npid"
echo "testssl: both scans took $(($(date +%s) - t0)) s"
for name in ember nginx; do
  read -r rc secs <"$TMP/$name.rc"
  echo "testssl $name: exit $rc after $secs s"
  if [ "$rc" -ne 0 ] || [ ! -s "$TMP/$name.json" ]; then
    fail "testssl against $name failed (exit $rc):"; tail -n 30 "$TMP/$name.txt"
  fi
done
sed 's/^/    ember: /' "$TMP/ember.txt" | grep -v '^    ember: *$' || true

# testssl's flat JSON has one "key" : "value" per line: id, severity and
# finding of every entry as tab-separated lines.
findings() {
  awk '
    function val(s) { sub(/^[^:]*: *"/, "", s); sub(/",? *$/, "", s); return s }
    /^ *"id" *:/ { id = val($0) }
    /^ *"severity" *:/ { sev = val($0) }
    /^ *"finding" *:/ { print id "\t" sev "\t" val($0) }' "$1" 2>/dev/null
}
findings "$TMP/ember.json" >"$TMP/ember.tsv"
findings "$TMP/nginx.json" >"$TMP/nginx.tsv"

# --- vulnerabilities: nothing HIGH or CRITICAL for ember ---------------------------
awk -F'\t' '$2 == "HIGH" || $2 == "CRITICAL" || $2 == "FATAL"' "$TMP/ember.tsv" >"$TMP/ember.bad"
if [ -s "$TMP/ember.bad" ]; then
  while IFS=$'\t' read -r id sev finding; do fail "testssl rates ember $sev: $id: $finding"; done <"$TMP/ember.bad"
else
  pass "testssl: no HIGH or CRITICAL finding for ember ($(grep -c . "$TMP/ember.tsv" || true) findings)"
fi
awk -F'\t' '$2 == "MEDIUM" || $2 == "LOW" { print "    note: ember " $2 ": " $1 ": " $3 }' "$TMP/ember.tsv"
nvuln=$(awk -F'\t' '$1 ~ /^(heartbleed|CCS|ticketbleed|ROBOT|secure_renego|secure_client_renego|CRIME_TLS|BREACH|POODLE_SSL|fallback_SCSV|SWEET32|FREAK|DROWN|LOGJAM|BEAST|LUCKY13|RC4)$/' \
  "$TMP/ember.tsv" | wc -l)
eq "testssl ran all 17 vulnerability checks on ember" 17 "$nvuln"

# --- protocols ----------------------------------------------------------------------
offered() { # FILE ID -> true if testssl -p says offered
  awk -F'\t' -v id="$2" '$1 == id && $3 ~ /^offered/ { f = 1 } END { exit !f }' "$1"
}
has_suites() { # FILE PROTO (ssl3, tls1, tls1_1, ...) -> true if -E found a suite
  awk -F'\t' -v p="cipher-$2_x" 'index($1, p) == 1 { f = 1 } END { exit !f }' "$1"
}
for p in SSLv2:ssl2 SSLv3:ssl3 TLS1:tls1 TLS1_1:tls1_1 TLS1_2:tls1_2; do
  if offered "$TMP/ember.tsv" "${p%%:*}" && ! has_suites "$TMP/nginx.tsv" "${p#*:}"; then
    fail "ember offers ${p%%:*}, nginx's defaults do not"
  fi
done
for p in SSLv2 SSLv3 TLS1 TLS1_1; do
  check "ember does not offer $p" bash -c "! awk -F'\t' '\$1 == \"$p\" && \$3 ~ /^offered/ { f = 1 } END { exit !f }' '$TMP/ember.tsv'"
done
check "ember offers TLS 1.2" offered "$TMP/ember.tsv" TLS1_2
check "ember offers TLS 1.3" offered "$TMP/ember.tsv" TLS1_3
check "nginx offers TLS 1.2 (the baseline scan worked)" has_suites "$TMP/nginx.tsv" tls1_2
echo "    nginx's defaults: suites for $(for p in ssl2 ssl3 tls1 tls1_1 tls1_2 tls1_3; do
  has_suites "$TMP/nginx.tsv" $p && printf '%s ' $p; done)"
check "ember's ALPN is http/1.1" grep -q $'^ALPN\t[A-Z]*\thttp/1.1' "$TMP/ember.tsv"

# --- cipher suites per protocol -------------------------------------------------
suites() { # FILE PROTO (tls1, tls1_2, ...) -> one "PROTO_xHEX" a line (ids cipher-PROTO_xHEX)
  awk -F'\t' -v p="cipher-$2_x" 'index($1, p) == 1 { print substr($1, 8) }' "$1" | sort -u
}
for p in ssl2 ssl3 tls1 tls1_1 tls1_2; do
  suites "$TMP/ember.tsv" $p >"$TMP/e.$p"
  suites "$TMP/nginx.tsv" $p >"$TMP/n.$p"
  comm -23 "$TMP/e.$p" "$TMP/n.$p" >"$TMP/extra.$p"
  if [ -s "$TMP/extra.$p" ]; then
    while read -r s; do
      fail "ember offers $(awk -F'\t' -v id="cipher-$s" '$1 == id { print $3 }' "$TMP/ember.tsv" | tr -s ' '), nginx's defaults do not"
    done <"$TMP/extra.$p"
  fi
done
n12=$(grep -c . "$TMP/e.tls1_2" || true)
nn12=$(grep -c . "$TMP/n.tls1_2" || true)
if [ "$n12" -gt 0 ] && [ "$nn12" -gt 0 ] && [ ! -s "$TMP/extra.tls1_2" ]; then
  pass "ember's $n12 TLS 1.2 suites are all among nginx's $nn12"
else
  fail "TLS 1.2 suites: ember $n12, nginx $nn12, ember only: $(tr '\n' ' ' <"$TMP/extra.tls1_2")"
fi
awk -F'\t' '$1 ~ /^cipher-tls1_2_/ { print "    ember TLS 1.2: " $3 }' "$TMP/ember.tsv" | tr -s ' '
suites "$TMP/ember.tsv" tls1_3 >"$TMP/e.tls1_3"
# RFC 8446 §B.4: AES-GCM, ChaCha20-Poly1305, AES-CCM.
odd=$(grep -v -x -E 'tls1_3_x130[1-5]' "$TMP/e.tls1_3" || true)
if [ -s "$TMP/e.tls1_3" ] && [ -z "$odd" ]; then
  pass "ember's TLS 1.3 suites are the RFC 8446 AEAD ones: $(tr '\n' ' ' <"$TMP/e.tls1_3")"
else
  fail "ember's TLS 1.3 suites: '$(tr '\n' ' ' <"$TMP/e.tls1_3")'"
fi

stop_nginx
stop_server "$ECHO_PID" echo_server
if grep -q 'ERROR: \|runtime error' "$ECHO_ERR"; then fail "sanitizer report from echo_server:"; head -n 30 "$ECHO_ERR"; fi

finish
