#!/usr/bin/env bash
# Headless Chromium against examples/echo_server's GET /ws: a page
# (tests/interop/ws_chromium.html, served from 127.0.0.1 by
# ws_page_server.py) opens a WebSocket with permessage-deflate (Chromium
# always offers it), makes 1,000 round trips alternating text and binary,
# each echo compared, sends one 1 MiB message, closes with 1000 and writes
# the verdict into its DOM and back to the page server. Skip (77) when
# chromium is not installed.
#   ws_chromium.sh EXAMPLES_BUILD_DIR SOURCE_DIR [N]
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: ws_chromium.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
src=${2:?usage: ws_chromium.sh EXAMPLES_BUILD_DIR SOURCE_DIR}
n=${3:-1000}
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$CHROME" ] || { echo "SKIP: chromium is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }

start_server ECHO "$bin/echo_server"
start_server PAGE "$src/tests/interop/ws_page_server.py" "$src/tests/interop" "$TMP/result"
echo "echo_server on $ECHO, page server on $PAGE"

page="http://$PAGE/ws_chromium.html?ws=ws://$ECHO/ws&n=$n"
"$CHROME" --headless --disable-gpu --no-sandbox --no-first-run --disable-extensions \
  --disable-background-networking --user-data-dir="$TMP/chrome" --remote-debugging-port=0 \
  "$page" >"$TMP/chrome.log" 2>&1 &
CPID=$!
track_pid "$CPID"
for _ in $(seq 1 1200); do # up to 120 s
  [ -s "$TMP/result" ] && break
  sleep 0.1
done
res=$(head -n 1 "$TMP/result" 2>/dev/null || true)
case "$res" in
  PASS*) pass "chromium: $res" ;;
  "") fail "chromium reported nothing (log below)"; tail -n 20 "$TMP/chrome.log" ;;
  *) fail "chromium: $res" ;;
esac
kill -TERM "$CPID" 2>/dev/null || true
wait "$CPID" 2>/dev/null || true
untrack_pid "$CPID"
stop_server "$PAGE_PID" "page server"
stop_server "$ECHO_PID" echo_server
finish
