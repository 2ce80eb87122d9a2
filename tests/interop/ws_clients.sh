#!/usr/bin/env bash
# Real WebSocket clients against examples/echo_server's GET /ws:
# python3-websockets and node-ws, each with permessage-deflate on and off:
# text, UTF-8, binary, 16 MiB text and binary (the default limit, exactly),
# fragmented messages, pings, 200 pipelined messages, the close handshake.
# A client that is not installed is a skip (exit 77) when none is.
#   ws_clients.sh EXAMPLES_BUILD_DIR SOURCE_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: ws_clients.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
src=${2:?usage: ws_clients.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}

have_py=""; have_node=""
/usr/bin/python3 -c 'import websockets' 2>/dev/null && have_py=1
command -v node >/dev/null 2>&1 && node -e 'require("ws")' 2>/dev/null && have_node=1
[ -n "$have_py$have_node" ] || { echo "SKIP: neither python3-websockets nor node-ws is installed"; exit 77; }

start_server ECHO "$bin/echo_server"
echo "echo_server on $ECHO"
url="ws://$ECHO/ws"
run() { # DESC COMMAND...
  local desc=$1 out=$TMP/client.$RANDOM; shift
  if timeout 300 "$@" >"$out" 2>&1; then
    sed 's/^/    /' "$out"; pass "$desc"
  else
    sed 's/^/    /' "$out"; fail "$desc (see above)"
  fi
}
if [ -n "$have_py" ]; then
  run "python websockets, deflate on" /usr/bin/python3 "$src/tests/interop/ws_py_client.py" "$url"
  run "python websockets, deflate off" /usr/bin/python3 "$src/tests/interop/ws_py_client.py" "$url" --no-compression
else
  echo "SKIP: python3-websockets is not installed"
fi
if [ -n "$have_node" ]; then
  run "node ws, deflate on" node "$src/tests/interop/ws_node_client.js" "$url"
  run "node ws, deflate off" node "$src/tests/interop/ws_node_client.js" "$url" --no-compression
else
  echo "SKIP: node-ws is not installed"
fi
stop_server "$ECHO_PID" echo_server
finish
