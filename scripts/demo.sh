#!/usr/bin/env bash
# make demo: start ember's servers from examples/ on free loopback ports,
# talk to them, show what came back, and stop them (SIGTERM, graceful).
#   - echo_server (HTTP/1.1): ember's own client (echo_client) sends a plain
#     GET, two pipelined requests, a chunked upload and a 404; then curl.
#   - the TCP and UDP echo servers with their clients.
#   - ember-fetch, ember's curl, on hello_server: a GET, a redirect followed
#     with -L, a gzip body with --compressed.
#   - https_server with a demo certificate (made once with openssl into the
#     build dir): curl, ember's tls_client and ember-fetch over verified TLS.
#   - WebSockets: ember-ws and ws_client on echo_server's /ws (plain and
#     wss:// with the demo certificate), and ws_chat's rooms across two
#     workers (its --selftest).
set -euo pipefail
build=${1:-build}
bin=$build/examples
pid=""
# Whatever happens, no server outlives the demo.
trap 'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi' EXIT

start_server() { # $1 = program, then more arguments; sets pid and addr
  local out prog=$1
  shift
  out=$(mktemp)
  "$bin/$prog" --port 0 "$@" >"$out" &
  pid=$!
  addr=""
  for _ in $(seq 1 200); do
    addr=$(sed -n 's/^listening on //p' "$out" | head -n1)
    [ -n "$addr" ] && break
    sleep 0.05
  done
  rm -f "$out"
  [ -n "$addr" ] || { echo "$prog did not start" >&2; exit 1; }
  echo "== $prog listening on $addr"
}

stop_server() { # $1 = program
  kill -TERM "$pid"; wait "$pid"
  pid=""
  echo "== $1 stopped cleanly (SIGTERM)"
  echo
}

start_server echo_server
"$bin/echo_client" "$addr"
echo "-- curl -i http://$addr/plaintext"
curl -s -i "http://$addr/plaintext"; echo
echo "-- curl --data-binary 'hello ember' http://$addr/echo"
curl -s --data-binary 'hello ember' "http://$addr/echo"; echo
stop_server echo_server

for base in tcp_echo udp_echo; do
  start_server "${base}_server"
  "$bin/${base}_client" "$addr" 5
  stop_server "${base}_server"
done

start_server hello_server
echo "-- ember-fetch http://$addr/"
"$bin/ember-fetch" -sS "http://$addr/"
echo "-- ember-fetch -L -w '%{http_code} %{url_effective}' http://$addr/moved"
"$bin/ember-fetch" -sSL -w '%{http_code} %{url_effective}\n' "http://$addr/moved"
echo "-- ember-fetch --compressed http://$addr/gzip (gzip on the wire, decoded here)"
"$bin/ember-fetch" -sS -H 'Accept-Encoding: gzip' -o /dev/null \
  -w '   %{size_download} bytes of gzip without --compressed\n' "http://$addr/gzip"
"$bin/ember-fetch" -sS --compressed "http://$addr/gzip" | uniq -c
stop_server hello_server

# A demo CA and a certificate it signed for localhost and 127.0.0.1 (EC P-256).
certs=$build/demo-certs
if [ ! -s "$certs/cert.pem" ]; then
  mkdir -p "$certs"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
    -subj "/CN=ember demo CA" -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
    -keyout "$certs/key.pem" -out "$certs/cert.csr" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "extendedKeyUsage=serverAuth" \
    >"$certs/ext.cnf"
  openssl x509 -req -in "$certs/cert.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" \
    -set_serial 1 -days 30 -extfile "$certs/ext.cnf" -out "$certs/cert.pem" 2>/dev/null
fi
start_server https_server --cert "$certs/cert.pem" --key "$certs/key.pem"
port=${addr##*:}
echo "-- curl --cacert $certs/ca.pem https://localhost:$port/"
curl -sS --cacert "$certs/ca.pem" "https://localhost:$port/"
echo "-- tls_client --cacert $certs/ca.pem localhost:$port"
"$bin/tls_client" --cacert "$certs/ca.pem" "localhost:$port"
echo "-- ember-fetch --cacert $certs/ca.pem https://localhost:$port/"
"$bin/ember-fetch" -sS --cacert "$certs/ca.pem" "https://localhost:$port/"
echo "-- tls_client localhost:$port (no --cacert: the demo CA is not trusted)"
"$bin/tls_client" "localhost:$port" || echo "(exit $?)"
stop_server https_server

start_server echo_server
echo "-- printf 'hello\\nember\\n' | ember-ws ws://$addr/ws   (each line a message, each echo a line)"
printf 'hello\nember\n' | "$bin/ember-ws" "ws://$addr/ws"
echo "-- ws_client ws://$addr/ws   (the blocking face, then the loop face)"
"$bin/ws_client" "ws://$addr/ws"
stop_server echo_server
start_server echo_server --tls-cert "$certs/cert.pem" --tls-key "$certs/key.pem"
port=${addr##*:}
echo "-- echo 'over TLS' | ember-ws --cacert $certs/ca.pem wss://localhost:$port/ws"
echo 'over TLS' | "$bin/ember-ws" --cacert "$certs/ca.pem" "wss://localhost:$port/ws"
stop_server echo_server
echo "-- ws_chat --selftest   (four clients in one room on two workers)"
"$bin/ws_chat" --selftest && echo "   everyone heard everything"
