#!/usr/bin/env bash
# ember's HTTP client (through ember-fetch) against Go's net/http server
# (tests/interop/go_server.go, built here offline into $TMP) and curl on the
# same routes, loopback only: chunked bodies, gzip (decoded with
# --compressed, raw without), HEAD, trailers, 301/302/303/307/308 with a
# POST (method and body kept or dropped as curl does), a cross-origin
# redirect that must drop Authorization (the Go server records what it got),
# keep-alive (two URLs on one connection: the server's count of accepted
# connections and %{num_connects}; a new one after Connection: close), -Z, 100-continue on a 3 MB upload and a
# 413 that refuses it, Set-Cookie through -c and -b, and --resolve.
#   fetch_go.sh EXAMPLES_BUILD_DIR
# Exit 77 (skip) when go or curl is missing.
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: fetch_go.sh EXAMPLES_BUILD_DIR}
for t in go curl gzip sha256sum timeout; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
done
[ -x "$bin/ember-fetch" ] || { echo "FAIL: $bin/ember-fetch was not built"; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

CU=(curl -q --noproxy '*') # -q: no ~/.curlrc
EF=("$bin/ember-fetch")
# shellcheck source=tests/interop/fetch_lib.sh
source "$(dirname "$0")/fetch_lib.sh"

# Offline: no modules, caches in $TMP.
if ! GO111MODULE=off GOFLAGS= GOPATH=$TMP/gopath GOCACHE=$TMP/gocache GOTOOLCHAIN=local \
  go build -o "$TMP/go_server" "$(dirname "$0")/go_server.go" >"$TMP/gobuild.log" 2>&1; then
  echo "FAIL: go build:"; cat "$TMP/gobuild.log"; exit 1
fi
start_server GO "$TMP/go_server"
G=http://$GO
PORT=${GO##*:}
echo "go_server on $GO"

same "go chunked body" chunked 0 -s "$G/chunked"
same "go -i chunked: the same head and body" chunkedi 0 -s -i "$G/chunked"
same "go -I: the same head" head 0 -s -I "$G/text"
"${CU[@]}" -s "$G/text" >"$TMP/text"
same "go gzip --compressed" gz 0 -s --compressed "$G/gzip"
same_file "go gzip --compressed: the text" "$TMP/text" "$TMP/gz.e"
same "go gzip without --compressed: the gzip bytes" gzraw 0 -s "$G/gzip"
gzip -dc <"$TMP/gzraw.e" >"$TMP/gzraw.txt" || true
same_file "go gzip raw: gunzip gives the text" "$TMP/text" "$TMP/gzraw.txt"
# (curl -i also writes the trailer fields after the body; the client does not
# hand them on, so only the bodies are compared)
same "go a chunked body with trailers" trailers 0 -s "$G/trailers"

for code in 301 302 303 307 308; do
  same "go -L POST through $code" "r$code" 0 -s -L -d x=1 -w ' %{http_code} %{url_effective}' \
    "$G/redirect/$code"
done
eq "go 302: POST became GET" "GET body= 200 $G/method" "$(tr -d '\n' <"$TMP/r302.e")"
eq "go 307: POST and body kept" "POST body=x=1 200 $G/method" "$(tr -d '\n' <"$TMP/r307.e")"

same "go -u on the same origin: sent" auth 0 -s -u 'Aladdin:open sesame' "$G/auth"
same "go -u -L to another origin (localhost): dropped" cross 0 -s -L -u 'Aladdin:open sesame' "$G/cross"
eq "go -L cross-origin: ember-fetch's answer" "auth=none" "$(cat "$TMP/cross.e")"
eq "go server's record of Authorization (curl, ember-fetch, curl, ember-fetch)" \
  "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==|Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==|none|none" \
  "$("${CU[@]}" -s "$G/seen" | tr '\n' '|' | sed 's/|$//')"

# keep-alive: two URLs, one connection (the same client address; one more
# connection accepted by the server; %{num_connects} 1 then 0, as curl's)
n0=$("${CU[@]}" -s "$G/conns")
both ka -s -w '%{num_connects}\n' "$G/conn" "$G/conn"
n1=$("${CU[@]}" -s "$G/conns")
mapfile -t ka <"$TMP/ka.e"
if [ "${#ka[@]}" = 4 ] && [ "${ka[0]}" = "${ka[2]}" ] && [ "${ka[1]} ${ka[3]}" = "1 0" ]; then
  pass "go keep-alive: two URLs on one connection, num_connects 1 0"
else
  fail "go keep-alive: ember-fetch printed: ${ka[*]}"
fi
mapfile -t kc <"$TMP/ka.c"
eq "go keep-alive: curl's num_connects alike" "${kc[1]} ${kc[3]}" "${ka[1]} ${ka[3]}"
# curl's run and ember-fetch's, one connection each, and the 2 /conns asks
eq "go keep-alive: the server accepted 3 connections meanwhile" 3 "$((n1 - n0))"
same "go Connection: close, then two URLs: num_connects 1 1 0 as curl's" kaclose 0 -s \
  -o /dev/null -o /dev/null -o /dev/null -w '%{num_connects} ' "$G/close" "$G/conn" "$G/conn"
eq "go Connection: close: ember-fetch's num_connects" "1 1 0 " "$(cat "$TMP/kaclose.e")"
urls=()
for i in 1 2 3 4 5 6; do urls+=("$G/chunked"); done
both par -s -Z --parallel-max 3 -w '%{http_code}\n' "${urls[@]}"
eq "go -Z six URLs, 3 at once: exit 0" "0 0" "$rc_c $rc_e"
eq "go -Z: the same lines as curl's, in any order" "$(sort "$TMP/par.c" | uniq -c)" "$(sort "$TMP/par.e" | uniq -c)"

head -c 3000000 /dev/urandom >"$TMP/up.bin"
same "go 3 MB upload: Expect: 100-continue, the body's sha256" up 0 -s --data-binary @"$TMP/up.bin" "$G/upload"
eq "go upload: what the server read" "expect=100-continue n=3000000 sha256=$(sha "$TMP/up.bin")" "$(cat "$TMP/up.e")"
same "go 413 before the body" refuse 0 -s -w ' %{http_code}' --data-binary @"$TMP/up.bin" "$G/refuse"

same "go Set-Cookie, then the cookie in the same run (-c)" cookie 0 -s -c "$TMP/jar" \
  "$G/cookie/set" "$G/cookie/get"
eq "go cookie sent back" "set|cookie=sess=go123" "$(tr '\n' '|' <"$TMP/cookie.e" | sed 's/|$//')"
same "go -b the saved jar" cookieb 0 -s -b "$TMP/jar" "$G/cookie/get"

# --resolve: the name goes to the Go server, Host stays the name; ember-fetch
# asks its DNS questions of a port where nothing listens, never the network
"${CU[@]}" -s --resolve "go.test:$PORT:127.0.0.1" -w ' %{http_code}' "http://go.test:$PORT/conn" >"$TMP/res.c" || true
ef res -s --dns-servers 127.0.0.1:9 --resolve "go.test:$PORT:127.0.0.1" -w ' %{http_code}' \
  "http://go.test:$PORT/conn"
eq "go --resolve: exit 0" 0 "$rc_e"
eq "go --resolve: answered by the Go server" "200" "$(tail -n1 "$TMP/res.e" | tr -d ' ')"
eq "go --resolve: curl alike" "$(tail -n1 "$TMP/res.c")" "$(tail -n1 "$TMP/res.e")"

stop_server "$GO_PID" go_server
finish
