#!/usr/bin/env bash
# ember's client (the ember-ws command) against real WebSocket servers:
# python3-websockets (tests/interop/ws_ref_server.py) and node-ws
# (tests/interop/ws_node_server.js), both echo servers. Each stdin line
# goes out as a message and each message received comes out as a line, so
# the output must equal the input: short, UTF-8, empty and 1 MiB lines,
# 2,000 lines, as text and --binary, with and without --compress; -H and
# --protocol must reach the server (node's /info reports what it saw);
# EOF closes with 1000 and ember-ws exits 0.
#   ws_ember_client.sh EXAMPLES_BUILD_DIR SOURCE_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: ws_ember_client.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
src=${2:?usage: ws_ember_client.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
[ -x "$bin/ember-ws" ] || { echo "SKIP: $bin/ember-ws was not built"; exit 77; }
need timeout sha256sum

servers=()
if /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
  start_server PYS "$src/tests/interop/ws_ref_server.py"
  servers+=("python:$PYS")
else
  echo "SKIP: python3-websockets is not installed"
fi
if command -v node >/dev/null 2>&1 && node -e 'require("ws")' 2>/dev/null; then
  start_server NODES "$src/tests/interop/ws_node_server.js"
  servers+=("node:$NODES")
else
  echo "SKIP: node-ws is not installed"
fi
[ ${#servers[@]} -gt 0 ] || { echo "SKIP: no WebSocket server to test against"; exit 77; }

# Inputs: a few kinds of line, and 2,000 numbered ones; for --binary
# (stdin sent in pieces of up to 64 KiB as they arrive, each echo written
# with a newline after it) 1 MiB of random bytes with no newline in them.
{
  echo "hello"
  echo "κόσμε ✓ 𝄞 UTF-8"
  echo ""
  head -c 1048576 /dev/zero | tr '\0' 'x'; echo
  for i in $(seq 1 2000); do echo "line $i of the pipelined run"; done
  echo "last"
} >"$TMP/in.txt"
head -c 1048576 /dev/urandom | tr '\n' 'N' >"$TMP/in.bin"
lines=$(wc -l <"$TMP/in.txt")

# stdin stays open until every echo is back (a server may drop echoes it
# still owes once our close arrives: python websockets does), then EOF.
feed() { # INPUT OUTPUT BINARY
  cat "$1"
  for _ in $(seq 1 1200); do
    if [ "$3" = 1 ]; then [ "$(tr -d '\n' <"$2" | wc -c)" -ge "$(fsize "$1")" ] && break
    else [ "$(wc -l <"$2")" -ge "$lines" ] && break; fi
    [ -s "$TMP/err.txt" ] && break # ember-ws has ended with an error
    sleep 0.1
  done
}

for s in "${servers[@]}"; do
  name=${s%%:*} addr=${s#*:}
  for opts in "" "--compress" "--binary" "--binary --compress"; do
    desc="ember-ws ${opts:+$opts }against $name websockets"
    rc=0 binary=0 in=$TMP/in.txt
    case $opts in *--binary*) binary=1 in=$TMP/in.bin ;; esac
    : >"$TMP/out.txt"
    : >"$TMP/err.txt"
    # shellcheck disable=SC2086
    feed "$in" "$TMP/out.txt" $binary | timeout 150 "$bin/ember-ws" $opts "ws://$addr/echo" \
      >"$TMP/out.txt" 2>"$TMP/err.txt" || rc=$?
    eq "$desc: exit status after EOF (close 1000)" 0 "$rc"
    [ $rc -eq 0 ] || sed 's/^/    /' "$TMP/err.txt" | head -n 5
    if [ $binary = 1 ]; then
      tr -d '\n' <"$TMP/out.txt" >"$TMP/out.bin"
      same_file "$desc: every byte echoed (newlines between messages removed)" "$in" "$TMP/out.bin"
    else
      same_file "$desc: every line echoed" "$in" "$TMP/out.txt"
    fi
  done
done

# What the server saw of the handshake (node's /info): -H, --protocol, --compress.
if [ -n "${NODES:-}" ]; then
  out=$(echo "ping" | timeout 30 "$bin/ember-ws" -H 'X-Test: hello from ember' --protocol chat.v2 --compress \
    "ws://$NODES/info" 2>"$TMP/err.txt" | head -n 1) || true
  case "$out" in
    "protocol=chat.v2 extensions=permessage-deflate"*" x-test=hello from ember") pass "node saw -H, --protocol and --compress: $out" ;;
    *) fail "node /info: expected protocol=chat.v2, permessage-deflate and x-test, got '$out'"; sed 's/^/    /' "$TMP/err.txt" | head -n 5 ;;
  esac
  out=$(echo "ping" | timeout 30 "$bin/ember-ws" "ws://$NODES/info" 2>/dev/null | head -n 1) || true
  eq "node saw no subprotocol or extension without --protocol/--compress" "protocol= extensions= x-test=" "$out"
fi

# A peer that breaks the handshake, and a proxy that refuses the tunnel
# (tests/interop/ws_bad_peer.py): the reason reaches stderr, the exit
# status says which (5: the 101 broke RFC 6455 §4.1; 2: the proxy), and
# ws:// goes through the proxy in a CONNECT tunnel (RFC 6455 §4.1 point 2).
start_server BAD "$src/tests/interop/ws_bad_peer.py" --log "$TMP/bad.log"
rc=0
timeout 30 "$bin/ember-ws" "ws://$BAD/chat" </dev/null >/dev/null 2>"$TMP/err.txt" || rc=$?
eq "ember-ws: a 101 with a wrong Sec-WebSocket-Accept exits 5" 5 "$rc"
if grep -q "Sec-WebSocket-Accept" "$TMP/err.txt"; then pass "ember-ws says what was wrong with the 101"
else fail "ember-ws gave no reason for the bad 101: $(head -n 2 "$TMP/err.txt")"; fi
# The connection lost while stdin is a file still being read (a task,
# not a watcher, reads it): exit 6, and under valgrind no use of the
# freed connection by a read already queued.
seq 1 2000000 >"$TMP/big.txt"
# valgrind cannot run a sanitizer build (nor read clang's DWARF 5); there
# AddressSanitizer itself catches the use-after-free.
vg=()
if command -v valgrind >/dev/null 2>&1 && ! grep -q __asan_init "$bin/ember-ws"; then
  vg=(valgrind -q --error-exitcode=99)
fi
rc=0
timeout 60 "${vg[@]}" "$bin/ember-ws" "ws://$BAD/drop-first" <"$TMP/big.txt" >/dev/null \
  2>"$TMP/err.txt" || rc=$?
eq "ember-ws: the connection lost while reading a file from stdin exits 6" 6 "$rc"
[ $rc -eq 6 ] || sed 's/^/    /' "$TMP/err.txt" | head -n 5

# A -H field the handshake owns is refused as a bad option, not a bad URL.
rc=0
timeout 10 "$bin/ember-ws" -H 'Sec-WebSocket-Protocol: chat' "ws://$BAD/chat" </dev/null \
  >/dev/null 2>"$TMP/err.txt" || rc=$?
eq "ember-ws: -H Sec-WebSocket-Protocol exits 1" 1 "$rc"
if head -n 1 "$TMP/err.txt" | grep -q -- "-H"; then pass "ember-ws names -H as the problem"
else fail "ember-ws blamed something else: $(head -n 1 "$TMP/err.txt")"; fi
# The server closes first, cleanly (1000), while stdin still has lines:
# the lines left are not sent and ember-ws exits 0, naming no send error.
rc=0
{ echo one; sleep 0.5; echo two; sleep 0.5; echo three; } |
  timeout 30 "$bin/ember-ws" "ws://$BAD/close-first" >/dev/null 2>"$TMP/err.txt" || rc=$?
eq "ember-ws: the server's clean close (1000) while stdin has lines exits 0" 0 "$rc"
[ $rc -eq 0 ] || sed 's/^/    /' "$TMP/err.txt" | head -n 2
# Other ends of a close handshake the server starts: no code (1005: node
# ws and browsers send that for close() without arguments) and 1001
# (going away) end the session normally, exit 0; 1011 (the server failed)
# exits 6 with the code on stderr.
for c in "close-empty-first 0 1005" "close-away-first 0 1001" "close-error-first 6 1011"; do
  set -- $c
  rc=0
  { echo one; sleep 3; } | timeout 30 "$bin/ember-ws" "ws://$BAD/$1" >/dev/null 2>"$TMP/err.txt" || rc=$?
  eq "ember-ws: the server's close with $3 exits $2" "$2" "$rc"
  if [ "$2" != 0 ] && ! grep -q "$3" "$TMP/err.txt"; then
    fail "ember-ws did not name $3: $(head -n 1 "$TMP/err.txt")"
  fi
done
rc=0
http_proxy="http://$BAD" timeout 30 "$bin/ember-ws" "ws://origin.test:8080/chat" </dev/null \
  >/dev/null 2>"$TMP/err.txt" || rc=$?
eq "ember-ws: a proxy refusing CONNECT exits 2" 2 "$rc"
eq "ember-ws: ws:// goes through the proxy with CONNECT" "CONNECT origin.test:8080 HTTP/1.1" \
  "$(tail -n 1 "$TMP/bad.log")"
stop_server "$BAD_PID" "bad peer"

for s in "${servers[@]}"; do
  case $s in python:*) stop_server "$PYS_PID" "python websockets server" ;; node:*) stop_server "$NODES_PID" "node ws server" ;; esac
done
finish
