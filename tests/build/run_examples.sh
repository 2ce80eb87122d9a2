#!/usr/bin/env bash
# Builds nothing; runs every example program with a bounded run time.
#   <name>_server : started in the background; its first stdout line must be
#                   "listening on HOST:PORT"; then <name>_client HOST:PORT runs
#                   against it; then the server gets SIGTERM and must exit 0.
#   <name>_client : run only by its server's case above.
#   <name>_server with examples/<name>_server.check instead of a client: each
#                   line "curl args... PATH | STATUS | SUBSTRING" is sent with
#                   curl and the status and body checked.
#   https_server  : started with a throwaway CA and certificate made here with
#                   the openssl CLI; tls_client must fetch the hello body from
#                   it with --cacert (by IP and by name), and be refused (exit 2)
#                   without it or with another --servername.
#   tls_client    : run only by https_server's case above.
#   ember-fetch   : --selftest as below, and its --help must list the options
#                   man/ember-fetch.1 documents (one .TP entry each).
#   anything else : run alone (with --selftest if it accepts no arguments) and
#                   must exit 0 within the time limit.
# Every examples/*.c must have been built, so no example goes untested.
set -uo pipefail
src=$1 bin=$2
limit=${EXAMPLE_TIMEOUT:-30}
fail=0 ran=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

run_checks() { # $1 = base name, $2 = HOST:PORT
  local base=$1 addr=$2 line spec status want args path code rc=0
  while IFS= read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    IFS='|' read -r spec status want <<<"$line"
    eval "args=($spec)"
    path=${args[-1]}; unset 'args[-1]'
    status=$(echo $status); want=$(echo "$want" | sed 's/^ *//; s/ *$//')
    code=$(timeout "$limit" curl -s -o "$tmp/body" -w '%{http_code}' "${args[@]}" "http://$addr$path")
    if [ "$code" != "$status" ] || ! grep -qF -- "$want" "$tmp/body"; then
      echo "examples: ${base}_server: '$spec' gave $code: $(head -c 200 "$tmp/body")"; rc=1
    fi
  done <"$src/examples/${base}_server.check"
  return $rc
}

start_server() { # $1 = program, then its arguments; sets pid and addr
  local prog=$1 out=$tmp/$1.out i line; shift
  "$bin/$prog" "$@" >"$out" 2>"$tmp/$prog.err" &
  pid=$!
  addr=""
  for i in $(seq 1 200); do # up to 10 s for the server to come up
    line=$(head -n1 "$out" 2>/dev/null || true)
    case "$line" in "listening on "*) addr=${line#listening on }; break ;; esac
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  [ -n "$addr" ] && return 0
  echo "examples: $prog did not report its address"; cat "$tmp/$prog.err"
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; return 1
}

stop_server() { # $1 = program (running as $pid): SIGTERM must end it with 0
  local waited=0 rc=0
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null && [ $waited -lt 100 ]; do sleep 0.05; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "examples: $1 ignored SIGTERM"; kill -9 "$pid"; rc=1
  fi
  wait "$pid" || { echo "examples: $1 exited $?"; cat "$tmp/$1.err"; rc=1; }
  return $rc
}

run_pair() { # $1 = base name
  local base=$1 pid addr rc=0
  start_server "${base}_server" --port 0 || return 1
  if [ -f "$src/examples/${base}_server.check" ]; then
    run_checks "$base" "$addr" || rc=1
  else
    timeout "$limit" "$bin/${base}_client" "$addr" || { echo "examples: ${base}_client failed"; rc=1; }
  fi
  stop_server "${base}_server" || rc=1
  return $rc
}

# A throwaway CA and a server certificate it signed (EC P-256, for localhost
# and 127.0.0.1) in $1: ca.pem, cert.pem, key.pem.
make_certs() {
  local d=$1
  mkdir -p "$d"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
    -subj "/CN=ember examples CA" -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=localhost" -keyout "$d/key.pem" -out "$d/cert.csr" 2>/dev/null &&
  printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
    "extendedKeyUsage=serverAuth" >"$d/ext.cnf" &&
  openssl x509 -req -in "$d/cert.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -set_serial 1 \
    -days 1 -extfile "$d/ext.cnf" -out "$d/cert.pem" 2>/dev/null
}

# tls_client $1... against the running https_server: want exit status $2
# ($1 is "ARGS" split on spaces), and, for 0, the hello answer on stdout and
# the handshake line on stderr; for 2, the refusal on stderr.
tls_case() {
  local args=$1 want=$2 got out=$tmp/tls.out err=$tmp/tls.err
  # shellcheck disable=SC2086
  timeout "$limit" "$bin/tls_client" $args >"$out" 2>"$err"; got=$?
  if [ "$got" != "$want" ]; then
    echo "examples: tls_client $args exited $got, not $want"; cat "$err"; return 1
  fi
  case $want in
    0) head -n1 "$out" | grep -q '^HTTP/1.1 200 ' && grep -qx 'Hello, World!' "$out" &&
         grep -Eqx 'tls_client: TLSv1\.[23] [A-Z0-9_-]+ alpn=http/1\.1 resumed=[01]' "$err" ;;
    2) grep -q '^tls_client: certificate refused: .*verify failed' "$err" ;;
  esac || { echo "examples: tls_client $args: unexpected output"; cat "$out" "$err"; return 1; }
}

run_https() {
  local pid addr port rc=0 d=$tmp/certs
  make_certs "$d" || { echo "examples: openssl could not make the test certificates"; return 1; }
  start_server https_server --port 0 --cert "$d/cert.pem" --key "$d/key.pem" || return 1
  port=${addr##*:}
  tls_case "--cacert $d/ca.pem $addr" 0 || rc=1
  tls_case "--cacert $d/ca.pem --timeout 20000 localhost:$port /" 0 || rc=1
  tls_case "$addr" 2 || rc=1                                     # the CA is not trusted
  tls_case "--cacert $d/ca.pem --servername other.example $addr" 2 || rc=1 # wrong name
  stop_server https_server || rc=1
  return $rc
}

# The WebSocket clients against echo_server's /ws: ws_client prints the
# echoes of both its faces; ember-ws sends stdin's lines and prints each
# echo, and its --help must list what man/ember-ws.1 documents.
run_ws_clients() {
  local pid addr rc=0
  start_server echo_server --port 0 || return 1
  timeout "$limit" "$bin/ws_client" "ws://$addr/ws" >"$tmp/ws_client.out" &&
    [ "$(cat "$tmp/ws_client.out")" = "$(printf 'blocking: hello from the blocking face\nloop: one\nloop: two\nloop: three')" ] ||
    { echo "examples: ws_client failed"; cat "$tmp/ws_client.out"; rc=1; }
  printf 'first\nsecond line\n' | timeout "$limit" "$bin/ember-ws" "ws://$addr/ws" >"$tmp/ember-ws.out" &&
    [ "$(cat "$tmp/ember-ws.out")" = "$(printf 'first\nsecond line')" ] ||
    { echo "examples: ember-ws failed"; cat "$tmp/ember-ws.out"; rc=1; }
  stop_server echo_server || rc=1
  opts() { grep -oE -- '(^| )--?[A-Za-z0-9][a-z0-9-]*' | tr -d ' ' | sort -u; }
  diff <("$bin/ember-ws" --help | opts) \
    <(awk '/^\.TP/ { getline; print }' "$src/man/ember-ws.1" | sed 's/\\-/-/g' | opts) ||
    { echo "examples: ember-ws --help and its man page disagree"; rc=1; }
  return $rc
}

# A client example ($1) against the running hello_server: it gets the URL.
run_against_hello() {
  local pid addr rc=0
  start_server hello_server --port 0 || return 1
  timeout "$limit" "$bin/$1" "http://$addr/" >"$tmp/$1.out" || { echo "examples: $1 failed"; rc=1; }
  stop_server hello_server || rc=1
  return $rc
}

for c in "$src"/examples/*.c; do
  name=$(basename "$c" .c)
  [ -x "$bin/$name" ] || { echo "examples: $name was not built"; fail=1; continue; }
  case "$name" in
    https_server) run_https || fail=1; ran=$((ran + 1)) ;;
    tls_client) [ -f "$src/examples/https_server.c" ] || { echo "examples: $name has no server"; fail=1; } ;;
    ws_client) ;; # run with ember-ws (run_ws_clients)
    *_client) [ -f "$src/examples/${name%_client}_server.c" ] || { echo "examples: $name has no server"; fail=1; } ;;
    *_server)
      if [ -f "$src/examples/${name%_server}_client.c" ] || [ -f "$src/examples/$name.check" ]; then
        run_pair "${name%_server}" || fail=1
      else
        echo "examples: $name has no matching client"; fail=1
      fi
      ran=$((ran + 1)) ;;
    http_get|http_many|http_threads) run_against_hello "$name" || fail=1; ran=$((ran + 1)) ;;
    ember-ws) run_ws_clients || fail=1; ran=$((ran + 2)) ;;
    ember-resolve)
      opts() { grep -oE -- '(^|[[ ])--?[A-Za-z0-9][a-z0-9-]*' | sed 's/^[[ ]//' | sort -u; }
      { timeout "$limit" "$bin/$name" --selftest >/dev/null &&
        diff <("$bin/$name" --help | opts) \
          <(awk '/^\.TP/ { getline; print }' "$src/man/ember-resolve.1" | sed 's/\\-/-/g' | opts); } ||
        { echo "examples: $name failed (selftest, or --help and its man page disagree)"; fail=1; }
      ran=$((ran + 1)) ;;
    ember-fetch)
      opts() { grep -oE -- '(^| )--?[A-Za-z0-9][a-z0-9-]*' | tr -d ' ' | sort -u; }
      { timeout "$limit" "$bin/$name" --selftest >/dev/null &&
        diff <("$bin/$name" --help | opts) \
          <(awk '/^\.TP/ { getline; print }' "$src/man/ember-fetch.1" | sed 's/\\-/-/g' | opts); } ||
        { echo "examples: $name failed (selftest, or --help and its man page disagree)"; fail=1; }
      ran=$((ran + 1)) ;;
    *)
      timeout "$limit" "$bin/$name" --selftest >/dev/null || { echo "examples: $name failed"; fail=1; }
      ran=$((ran + 1)) ;;
  esac
done
[ $fail -eq 0 ] && echo "examples: ok ($ran run)"
exit $fail
