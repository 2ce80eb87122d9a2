#!/usr/bin/env bash
# WebSockets through nginx as a reverse proxy in front of
# examples/echo_server (proxy_http_version 1.1 and the Upgrade/Connection
# headers passed on, as nginx's documentation says), every nginx path in a
# temp dir: python3-websockets and node-ws clients (text, binary, 16 MiB,
# fragments, deflate), then the conformance suite's framing, ping,
# fragmentation, UTF-8 and close groups through the proxy. nginx's error
# log must stay free of upstream errors. Skip (77) without nginx. nginx
# closes an upgraded connection without lingering, so a reset after a
# completed close handshake is let through (--via-proxy); ember's own FIN
# is checked by ws_conformance.sh.
#   ws_nginx.sh EXAMPLES_BUILD_DIR SOURCE_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: ws_nginx.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
src=${2:?usage: ws_nginx.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed"; exit 77; }
command -v curl >/dev/null || { echo "SKIP: curl is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

start_server ECHO "$bin/echo_server"
echo "echo_server on $ECHO"

ngx=$TMP/nginx
mkdir -p "$ngx"
write_conf() { # PORT
  cat >"$ngx/nginx.conf" <<CONF
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
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:$1;
        location / {
            proxy_pass http://$ECHO;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection "upgrade";
            proxy_read_timeout 120s;
            proxy_send_timeout 120s;
        }
    }
}
CONF
}
NPID="" up=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  NPORT=$((20000 + RANDOM % 40000))
  write_conf "$NPORT"
  : >"$ngx/error.log"
  "$NGINX" -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" >"$ngx/stdout" 2>&1 &
  NPID=$!
  track_pid "$NPID"
  for _ in $(seq 1 100); do # up to 5 s
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
url=ws://127.0.0.1:$NPORT/ws
echo "nginx on 127.0.0.1:$NPORT (pid $NPID)"

run() { # DESC COMMAND...
  local desc=$1 out=$TMP/client.$RANDOM; shift
  if timeout 600 "$@" >"$out" 2>&1; then
    sed 's/^/    /' "$out" | tail -n 40; pass "$desc"
  else
    sed 's/^/    /' "$out" | grep -v ' PASS (' | tail -n 60; fail "$desc (see above)"
  fi
}
if /usr/bin/python3 -c 'import websockets' 2>/dev/null; then
  run "python websockets through nginx, deflate on" /usr/bin/python3 "$src/tests/interop/ws_py_client.py" "$url"
else
  echo "SKIP: python3-websockets is not installed"
fi
if command -v node >/dev/null 2>&1 && node -e 'require("ws")' 2>/dev/null; then
  run "node ws through nginx, deflate on" node "$src/tests/interop/ws_node_client.js" "$url"
else
  echo "SKIP: node-ws is not installed"
fi
run "conformance groups 1, 2, 5, 6.1-6.4, 7 and 12.1 through nginx" \
  python3 "$src/tests/ws/conformance/ws_conformance.py" --url "$url" -q --via-proxy \
  --cases '1.1,1.2,2,5,6.1,6.2,6.3,6.4,7,12.1'

if grep -E '\[(error|crit|alert|emerg)\]|upstream prematurely|upstream timed out' "$ngx/error.log" >"$TMP/ngx.bad"; then
  fail "nginx error log has errors:"; head -n 20 "$TMP/ngx.bad"
else
  pass "nginx error log has no errors"
fi
kill -QUIT "$NPID" 2>/dev/null || true
i=0
while kill -0 "$NPID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
kill -0 "$NPID" 2>/dev/null && { fail "nginx did not stop on SIGQUIT"; kill -KILL "$NPID"; }
wait "$NPID" 2>/dev/null || true
untrack_pid "$NPID"
stop_server "$ECHO_PID" echo_server
finish
