#!/usr/bin/env bash
# The WebSocket conformance suite (tests/ws/conformance/, after Autobahn's
# groups 1-7, 9, 12, 13) against examples/echo_server's GET /ws: every case
# strict. Then the message limit as an option: an echo_server with
# --ws-max-message 1048576 must take exactly 1 MiB and refuse 1 MiB + 1
# with 1009.
#   ws_conformance.sh EXAMPLES_BUILD_DIR SOURCE_DIR [CASES]
#   WSCONF_PEER=python ws_conformance.sh ...   the same suite against
#     python3-websockets (a check of the suite itself; known failures there:
#     1.3.1-3, 3.2, 3.4, 4.x.3, 4.x.5, 5.15, 6.4.3, 6.4.4, 7.1.6, 13.10.x)
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: ws_conformance.sh EXAMPLES_BUILD_DIR SOURCE_DIR [CASES]}
src=${2:?usage: ws_conformance.sh EXAMPLES_BUILD_DIR SOURCE_DIR [CASES]}
cases=${3:-*}
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "SKIP: python3 is not installed"; exit 77; }
suite=(timeout 1500 "$PY" "$src/tests/ws/conformance/ws_conformance.py")

if [ "${WSCONF_PEER:-ember}" = python ]; then
  /usr/bin/python3 -c 'import websockets' 2>/dev/null || { echo "SKIP: python3-websockets is not installed"; exit 77; }
  start_server REF "$src/tests/interop/ws_ref_server.py"
  "${suite[@]}" --url "ws://$REF/ws" --cases "$cases" || fail "conformance suite against python websockets"
  finish
  exit 0
fi

start_server ECHO "$bin/echo_server"
echo "echo_server on $ECHO"
if "${suite[@]}" --url "ws://$ECHO/ws" --cases "$cases"; then
  pass "conformance suite against echo_server /ws"
else
  fail "conformance suite against echo_server /ws"
fi
stop_server "$ECHO_PID" echo_server

if [ "$cases" = "*" ]; then
  start_server SMALL "$bin/echo_server" --ws-max-message 1048576
  if "${suite[@]}" --url "ws://$SMALL/ws" --cases '9.10' --max-message 1048576; then
    pass "echo_server --ws-max-message 1048576: 1 MiB passes, 1 MiB + 1 gets 1009"
  else
    fail "echo_server --ws-max-message 1048576"
  fi
  stop_server "$SMALL_PID" "echo_server --ws-max-message"
fi
finish
