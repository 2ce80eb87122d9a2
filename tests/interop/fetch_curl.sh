#!/usr/bin/env bash
# ember-fetch and curl side by side, on loopback only, against
#   - examples/echo_server (plain and HTTPS with a throwaway CA made here):
#     bodies, heads (-i, -I), POST echo (-d, --data-binary, -H), -f,
#     --fail-with-body, -o, -w, TLS with --cacert, without it (60), -k, and
#     TLS to a plain port (35);
#   - nginx with static files (a 50 MiB one) and a 301/302/307 chain:
#     sha256 of the bodies, -i/-I heads byte for byte (Date aside), -L and
#     %{url_effective}, a redirect loop (47), request fields nginx echoes;
#   - tiny python3 peers: a port that refuses (7), a listener that never
#     answers (--max-time 1: 28), a body cut short (18), a close without an
#     answer (52), a close after each answer (num_connects), one that echoes
#     the credential fields it got (-u with -H Authorization, -b with -H
#     Cookie, -v hiding them), sends a coding nobody decodes (--compressed:
#     61), a status of 999 (-f: 22), replies that are no HTTP (HTTP/0.9,
#     a garbled status line: 1) or not all of it (52, 18, 8), echoes the
#     Host lines it got (-H 'Host:'), acts as a proxy (-x, http_proxy,
#     all_proxy, no_proxy; a socks5:// or https:// one: 7; one without a
#     port on 1080 when that port is free), and a DNS
#     server that says NXDOMAIN and logs the names asked (ember-fetch
#     --dns-servers: 6, and 5 for a proxy; curl has no such option without
#     c-ares);
#   - the options for several URLs and the meter: -o pairs, -O, -Z,
#     --parallel-max, the exit code of the last URL, num_connects,
#     --resolve (over TLS too: the name is what the certificate must
#     match), the meter's table and the -# bar, nginx's gzip with
#     --compressed.
# Both must give the same output and the same exit code. ember-fetch's
# peak RSS for the 50 MiB download must stay far below 50 MiB (not under
# ASan). Nothing asks the machine's DNS: every URL is 127.0.0.1 or
# localhost, and the one name lookup goes to the local python server.
#   fetch_curl.sh EXAMPLES_BUILD_DIR
# shellcheck source=tests/interop/lib.sh
source "$(dirname "$0")/lib.sh"
bin=${1:?usage: fetch_curl.sh EXAMPLES_BUILD_DIR}
for t in curl openssl python3 sha256sum timeout; do
  command -v "$t" >/dev/null 2>&1 || { echo "SKIP: $t is not installed"; exit 77; }
done
NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
[ -n "$NGINX" ] || { echo "SKIP: nginx is not installed"; exit 77; }
[ -x "$bin/ember-fetch" ] || { echo "FAIL: $bin/ember-fetch was not built"; exit 1; }
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

CU=(curl -q --noproxy '*')  # -q: no ~/.curlrc
EF=("$bin/ember-fetch")

# shellcheck source=tests/interop/fetch_lib.sh
source "$(dirname "$0")/fetch_lib.sh"

# --- python3 peers: PORT on their first line, then serve until killed --------------
cat >"$TMP/peer.py" <<'EOF'
import socket, sys, time
mode = sys.argv[1]
def iter_labels(q):  # offsets of the question's labels
    j = 12
    while j < len(q) and q[j]:
        yield j
        j += q[j] + 1
if mode == "dns":  # every query: NXDOMAIN; the names asked, one a line, after the port
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    print(s.getsockname()[1], flush=True)
    while True:
        q, peer = s.recvfrom(4096)
        i = 12
        while i < len(q) and q[i]:
            i += q[i] + 1
        question = q[12:i + 5]
        print(b".".join(q[j + 1:j + 1 + q[j]] for j in iter_labels(q)).decode(), flush=True)
        s.sendto(q[:2] + b"\x81\x83" + b"\x00\x01\x00\x00\x00\x00\x00\x00" + question, peer)
s = socket.socket()
if len(sys.argv) > 2:  # a given port: another run's TIME_WAIT on it is no obstacle
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
if mode == "bound":  # bound, never listening: connecting is refused
    print(s.getsockname()[1], flush=True)
    while True:
        time.sleep(60)
s.listen(16)
print(s.getsockname()[1], flush=True)
while mode == "silent":  # connections wait in the backlog, unanswered
    time.sleep(60)
while True:
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            break
        req += d
    if mode == "short":  # 100 bytes promised, 5 sent
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
    if mode == "closer":  # a whole answer, then a close without "Connection: close"
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nhi\n")
    if mode == "odd":  # what a review found: answers by path, then a close
        path = req.split(b" ")[1] if req.count(b" ") > 1 else b"/"
        head, body = b"200 OK", b""
        # replies that are not (whole) HTTP: sent as they are
        raw = {b"/http09": b"hello\r\n",  # no status line at all
               b"/badcode": b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nhi",
               b"/badversion": b"HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nhi",
               b"/cutline": b"HTTP/1.1 200 O",  # closed in the status line
               b"/cuthead": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b",
               b"/cuthead0": b"HTTP/1.1 200 OK\r\nX-A: b",
               b"/nocolon": b"HTTP/1.1 200 OK\r\nno colon\r\nContent-Length: 2\r\n\r\nhi"}.get(path)
        if raw:
            c.sendall(raw)
            c.close()
            continue
        if path == b"/fields":  # the request's credential fields, as they came
            body = b"".join(l + b"\n" for l in req.split(b"\r\n")
                            if l.split(b":")[0].lower() in (b"authorization", b"cookie"))
        elif path == b"/host":  # the request's Host lines, as they came
            body = b"".join(l + b"\n" for l in req.split(b"\r\n")[1:]
                            if l.split(b":")[0].lower() == b"host")
        elif path == b"/coding":  # a coding nobody decodes
            head, body = b"200 OK\r\nContent-Encoding: x-unknown", b"raw bytes\n"
        elif path == b"/999":  # outside 100..599: a 5xx (RFC 9110 15)
            head, body = b"999 Odd", b"odd\n"
        elif path.startswith(b"/to?"):  # a redirect to the URL after the "?"
            head = b"302 Found\r\nLocation: " + path[4:]
        elif path.startswith(b"http://"):  # absolute form: asked as a proxy
            body = b"through a proxy\n"
        c.sendall(b"HTTP/1.1 " + head + b"\r\nContent-Length: " + str(len(body)).encode() +
                  b"\r\nConnection: close\r\n\r\n" + body)
    c.close()  # "empty": no answer at all
EOF
start_peer() { # VAR MODE [PORT]: the peer's port in VAR (PORT: that one, else any)
  local var=$1 out=$TMP/peer.$2${3:-} pid i port=""
  python3 "$TMP/peer.py" "$2" ${3:+"$3"} >"$out" 2>"$out.err" &
  pid=$!
  track_pid "$pid"
  for i in $(seq 1 600); do # up to 30 s on a loaded machine
    port=$(head -n1 "$out" 2>/dev/null || true)
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { echo "FAIL: python3 peer '$2' did not start:"; cat "$out.err"; exit 1; }
  printf -v "$var" '%s' "$port"
}

# --- data -----------------------------------------------------------------------------
www=$TMP/www
mkdir -p "$www"
head -c 52428800 /dev/urandom >"$www/big.bin"
head -c 1048576 /dev/urandom >"$TMP/r1m"
printf 'small file\n' >"$www/small.txt"
seq 1 1500000 >"$www/big.txt" # 10 MB of text: nginx gzips it (gzip on)

# --- echo_server, plain -----------------------------------------------------------------
start_server ECHO "$bin/echo_server"
E=http://$ECHO
same "echo GET /plaintext" get 0 -s "$E/plaintext"
same "echo GET /stream 20 MiB chunked" stream 0 -s "$E/stream?kb=20480"
same "echo -i /plaintext: the same head and body" inc 0 -s -i "$E/plaintext"
same "echo -I /plaintext: the same head" head 0 -s -I "$E/plaintext"
same "echo -d a=1 -d b=2: POST echoed, form Content-Type" post 0 -s -d a=1 -d 'b=2' \
  -w '\n%{http_code} %{content_type} %{size_download}\n' "$E/echo"
eq "echo -d: the body and type" "a=1&b=2|200 application/x-www-form-urlencoded 7" \
  "$(tr '\n' '|' <"$TMP/post.e" | sed 's/|$//')"
same "echo --data-binary @1MiB" bin 0 -s --data-binary @"$TMP/r1m" "$E/echo"
same_file "echo --data-binary @1MiB: ember-fetch's copy" "$TMP/r1m" "$TMP/bin.e"
same "echo -H Content-Type: the field comes back" hdr 0 -s -H 'Content-Type: application/x-test' \
  --data-binary hi -w ' %{content_type}' "$E/echo"
eq "echo -H Content-Type: echoed" "hi application/x-test" "$(cat "$TMP/hdr.e")"
same "echo -f on 404: exit 22, no output" f404 22 -s -f "$E/nope"
# curl 7.75 and later: -i and -I still write the head
same "echo -i -f on 404: the head, then exit 22" fi404 22 -s -i -f "$E/nope"
same "echo -I -f on 404: the head, then exit 22" fI404 22 -s -I -f "$E/nope"
same "echo 404 without -f: body and -w %{http_code}" n404 0 -s -w '%{http_code}' "$E/nope"
same "echo --fail-with-body on 404: exit 22 after the body" fwb 22 -s --fail-with-body "$E/nope"
both f404msg -f "$E/nope"
says "echo -f: curl's message" f404msg '^ember-fetch: \(22\) The requested URL returned error: 404$'
both out -s -w '%{http_code} %{size_download}' "$E/stream?kb=1024" -o "$TMP/out.FILE"
eq "echo -o: -w of curl and ember-fetch" "$(cat "$TMP/out.c")" "$(cat "$TMP/out.e")"
"${CU[@]}" -s -o "$TMP/out.c.file" "$E/stream?kb=1024" || true
"${EF[@]}" -s -o "$TMP/out.e.file" "$E/stream?kb=1024" || true
same_file "echo -o FILE: the same 1 MiB" "$TMP/out.c.file" "$TMP/out.e.file"
same "echo -sS to a plain port over https: TLS handshake failure" tlsplain 35 -sS "https://$ECHO/plaintext"

# --- exit codes with python3 peers --------------------------------------------------
start_peer REFUSED bound
same "refused port: exit 7" refused 7 -s -w '%{http_code}' "http://127.0.0.1:$REFUSED/"
both refusedmsg "http://127.0.0.1:$REFUSED/"
says "refused: curl's words" refusedmsg "^ember-fetch: \(7\) Failed to connect to 127.0.0.1 port $REFUSED: connection refused$"
start_peer SILENT silent
same "a server that never answers, --max-time 1: exit 28" silent 28 -s --max-time 1 "http://127.0.0.1:$SILENT/"
same "a TLS handshake never answered, --connect-timeout 1: exit 28" silenttls 28 -s \
  --connect-timeout 1 "https://127.0.0.1:$SILENT/"
start_peer SHORT short
same "a body cut short: exit 18 with what came" short 18 -s "http://127.0.0.1:$SHORT/"
both shortmsg "http://127.0.0.1:$SHORT/"
says "short: curl's words" shortmsg '^ember-fetch: \(18\) transfer closed with 95 bytes remaining to read'
start_peer CLOSER closer
same "a server that closes after each answer: num_connects 1 every time" closer 0 -s \
  -w '%{num_connects}\n' "http://127.0.0.1:$CLOSER/" "http://127.0.0.1:$CLOSER/" "http://127.0.0.1:$CLOSER/"
eq "closer: ember-fetch's num_connects" "hi|1|hi|1|hi|1" "$(tr '\n' '|' <"$TMP/closer.e" | sed 's/|$//')"
start_peer EMPTY empty
same "a close without an answer: exit 52" empty 52 -s "http://127.0.0.1:$EMPTY/"
start_peer ODD odd
O=http://127.0.0.1:$ODD
same "-u and -H Authorization: one field, -H's" oddauth 0 -s -u a:b -H 'Authorization: Bearer zzz' "$O/fields"
eq "-u and -H Authorization: what the peer got" "Authorization: Bearer zzz" "$(cat "$TMP/oddauth.e")"
same "-u with -H 'Authorization:': none sent" oddnoauth 0 -s -u a:b -H 'Authorization:' "$O/fields"
same "--oauth2-bearer with -H 'Authorization:': none sent" oddnobearer 0 -s --oauth2-bearer t \
  -H 'Authorization:' "$O/fields"
same "user:password in the URL with -H 'Authorization:': none sent" oddnourlauth 0 -s \
  -H 'Authorization:' "http://a:b@127.0.0.1:$ODD/fields"
ef oddcookie -s -b 'a=1' -H 'Cookie: b=2' "$O/fields"
eq "-b DATA and -H Cookie: one field (curl sends -H's alone)" "Cookie: b=2; a=1" "$(cat "$TMP/oddcookie.e")"
ef oddv -s -v -o /dev/null -u a:b -H 'Authorization: Bearer zzz' -b 'a=1' "$O/fields"
eq "-v: credentials of -H and -b hidden" "> Authorization: Bearer <hidden>|> Cookie: <hidden>" \
  "$(grep -E '^> (Authorization|Cookie):' "$TMP/oddv.e.err" | tr '\n' '|' | sed 's/|$//')"
# -L to another port of the same host: no credentials go there (curl
# 7.83), nor -b DATA (which curl sends on)
start_peer ODD2 odd
same "-L to another port: -u, -H Authorization and -H Cookie dropped" oddcross 0 -s -L -u a:b \
  -H 'Authorization: Bearer zzz' -H 'Cookie: b=2' -w '%{http_code}' "$O/to?http://127.0.0.1:$ODD2/fields"
ef oddcrossb -s -L -b 'a=1' "$O/to?http://127.0.0.1:$ODD2/fields"
eq "-L to another port: -b DATA dropped" "" "$(cat "$TMP/oddcrossb.e")"
ef oddsameb -s -L -b 'a=1' -u a:b "$O/to?/fields"
eq "-L on the same origin: -u and -b DATA kept" "Authorization: Basic YTpi|Cookie: a=1" \
  "$(tr '\n' '|' <"$TMP/oddsameb.e" | sed 's/|$//')"
# replies that are no HTTP, or not all of it: curl's exit codes (1 for a
# reply without a status line, HTTP/0.9, and for a garbled status line; 52
# when the status line was cut short; 18 for a head cut short after a
# Content-Length; 8 for a field line without a colon)
same "a reply without a status line (HTTP/0.9): exit 1" oddhttp09 1 -s "$O/http09"
both oddhttp09msg "$O/http09"
says "HTTP/0.9: curl's words" oddhttp09msg '^ember-fetch: \(1\) Received HTTP/0.9 when not allowed'
same "a status line with a garbled code: exit 1" oddbadcode 1 -s "$O/badcode"
both oddbadcodemsg "$O/badcode"
says "a garbled code: curl's words" oddbadcodemsg \
  '^ember-fetch: \(1\) Unsupported response code in HTTP response'
same "a status line without a code: exit 1" oddbadversion 1 -s "$O/badversion"
same "a close inside the status line: exit 52" oddcutline 52 -s "$O/cutline"
same "a head cut short after Content-Length: exit 18" oddcuthead 18 -s "$O/cuthead"
same "a field line without a colon: exit 8" oddnocolon 8 -s "$O/nocolon"
# curl takes a head cut short without Content-Length as whole (exit 0)
ef oddcuthead0 -s "$O/cuthead0"
eq "a head cut short, no Content-Length: exit 18 (curl: 0)" 18 "$rc_e"
# -H 'Host:' sends no Host line at all, as curl does (-H 'Host;' would send
# an empty one: ember-fetch refuses it, exit 2)
same "-H 'Host:': no Host line" oddnohost 0 -s -H 'Host:' "$O/host"
eq "-H 'Host:': what the peer got" "" "$(cat "$TMP/oddnohost.e")"
same "-H 'Host: v.test': that one" oddvhost 0 -s -H 'Host: v.test' "$O/host"
ef oddnohostv -s -v -H 'Host:' -o /dev/null "$O/host"
eq "-H 'Host:' -v: no Host shown" "0" "$(grep -c '^> Host' "$TMP/oddnohostv.e.err" || true)"
ef oddvhostv -s -v -H 'Host: v.test' -o /dev/null "$O/host"
eq "-H 'Host: v.test' -v: shown once, as sent" "> Host: v.test" "$(grep '^> Host' "$TMP/oddvhostv.e.err")"
ef oddemptyhost -s -H 'Host;' "$O/host"
eq "-H 'Host;': exit 2" "2" "$rc_e"
# %{url_effective} is the URL with its user:password as curl prints it: kept
# through a Location without an authority, replaced by one with it
U=http://u:p@127.0.0.1:$ODD
same "-w %{url_effective}: with user:password" oddui 0 -s -o /dev/null -w '%{url_effective}' "$U/x#frag"
eq "-w %{url_effective}: ember-fetch's" "$U/x#frag" "$(cat "$TMP/oddui.e")"
same "-w %{url_effective}: with user only, no path" oddu 0 -s -o /dev/null -w '%{url_effective}' \
  "http://u@127.0.0.1:$ODD"
same "-w %{url_effective}: an empty userinfo" oddempty 0 -s -o /dev/null -w '%{url_effective}' \
  "http://@127.0.0.1:$ODD/x"
same "-w %{url_effective}: -H 'Authorization:' keeps it" oddnoauthui 0 -s -o /dev/null \
  -H 'Authorization:' -w '%{url_effective}' "$U/x"
same "-w %{url_effective}: no -L" oddnol 0 -s -o /dev/null -w '%{url_effective}' "$U/to?/fields"
same "-w %{url_effective}: -L to a path" oddlpath 0 -s -L -o /dev/null -w '%{url_effective}' \
  "$U/to?/fields"
eq "-L to a path: ember-fetch's" "$U/fields" "$(cat "$TMP/oddlpath.e")"
same "-w %{url_effective}: -L to a URL without user:password" oddlurl 0 -s -L -o /dev/null \
  -w '%{url_effective}' "$U/to?http://127.0.0.1:$ODD/fields"
same "-w %{url_effective}: -L to a URL with others" oddlother 0 -s -L -o /dev/null \
  -w '%{url_effective}' "$U/to?http://x:y@127.0.0.1:$ODD/fields"
same "-w %{url_effective}: refused" oddrefui 7 -s -o /dev/null -w '%{url_effective}' \
  "http://u:p@127.0.0.1:$REFUSED/x"
same "--compressed, a coding nobody decodes: exit 61" oddcoding 61 -s --compressed "$O/coding"
same "a coding nobody decodes, no --compressed: as it came" oddraw 0 -s "$O/coding"
same "status 999 with -f: exit 22" odd999f 22 -s -f -w '%{http_code}' "$O/999"
same "status 999 without -f: the body" odd999 0 -s -w ' %{http_code}' "$O/999"
# proxies as curl reads them (curl without --noproxy '*' here): no_proxy
# holds for -x too, and -x '' is no proxy at all
CU=(curl -q)
export no_proxy=127.0.0.1
same "-x with no_proxy=127.0.0.1: direct" oddnoproxy 0 -s -x "$O" -w '%{http_code}' "$O/direct"
unset no_proxy
export http_proxy=$O
same "-x '' with http_proxy set: direct" oddproxyoff 0 -s -x '' -w '%{http_code}' "$O/direct"
unset http_proxy
# all_proxy/ALL_PROXY for a scheme without its own variable; no_proxy
# holds for it; a proxy ember-fetch cannot speak to (socks5://, https://)
# is exit 7 as curl's for one it cannot reach, never a direct request
export all_proxy=$O
same "all_proxy: http through it" oddall 0 -s "http://proxied.test/x"
eq "all_proxy: the peer saw a proxy request" "through a proxy" "$(cat "$TMP/oddall.e")"
export no_proxy=127.0.0.1
same "all_proxy with no_proxy=127.0.0.1: direct" oddallno 0 -s -w '%{http_code}' "$O/direct"
unset all_proxy no_proxy
export ALL_PROXY=127.0.0.1:$ODD
same "ALL_PROXY host:port: http through it" oddALL 0 -s "http://proxied.test/x"
unset ALL_PROXY
export http_proxy=$O all_proxy=http://127.0.0.1:$REFUSED
same "http_proxy before all_proxy" oddhttpall 0 -s "http://proxied.test/x"
unset http_proxy all_proxy
export all_proxy=socks5://127.0.0.1:$REFUSED
same "all_proxy=socks5://: exit 7" oddsocks 7 -s "http://127.0.0.1:$ODD/direct"
both oddsocksmsg "http://127.0.0.1:$ODD/direct"
says "all_proxy=socks5://: curl's words" oddsocksmsg \
  "^ember-fetch: \(7\) Unsupported proxy scheme for 'socks5://127.0.0.1:$REFUSED'"
# a socks all_proxy with no_proxy for the host: curl goes direct
export no_proxy=127.0.0.1
same "all_proxy=socks5:// with no_proxy=127.0.0.1: direct" oddsocksno 0 -s -w '%{http_code}' \
  "http://127.0.0.1:$ODD/direct"
unset all_proxy no_proxy
same "-x https://: exit 7" oddhttpsproxy 7 -s -x "https://127.0.0.1:$REFUSED" "http://127.0.0.1:$ODD/direct"
# a proxy without a port is on 1080 (curl's man page), if 1080 is free here
if python3 -c 'import socket; s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 1080))' 2>/dev/null; then
  start_peer P1080 odd 1080
  same "-x http://127.0.0.1 (no port): 1080" oddp1080 0 -s -x http://127.0.0.1 "http://proxied.test/x"
  eq "-x without a port: the peer on 1080 saw a proxy request" "through a proxy" "$(cat "$TMP/oddp1080.e")"
  export http_proxy=127.0.0.1
  same "http_proxy=127.0.0.1 (no port): 1080" oddenv1080 0 -s "http://proxied.test/x"
  unset http_proxy
else
  echo "skip: 127.0.0.1:1080 is taken, no check of a proxy's default port"
fi
CU=(curl -q --noproxy '*')
start_peer DNS dns
rc=0
timeout 60 "${EF[@]}" --dns-servers "127.0.0.1:$DNS" "http://nosuch.test/" >"$TMP/dns.e" 2>"$TMP/dns.e.err" || rc=$?
eq "NXDOMAIN from --dns-servers: exit 6" 6 "$rc"
says "NXDOMAIN: curl's words" dns '^ember-fetch: \(6\) Could not resolve host: nosuch\.test'
grep -q '^nosuch\.test$' "$TMP/peer.dns" && pass "the DNS peer logs the names it is asked" ||
  fail "the DNS peer's log lacks nosuch.test: $(head -c 200 "$TMP/peer.dns")"
# RFC 6761 §6.4: a name under .invalid is not found at once, never asked
rc=0
timeout 60 "${EF[@]}" --dns-servers "127.0.0.1:$DNS" "http://nosuch.invalid/" >"$TMP/dnsi.e" 2>"$TMP/dnsi.e.err" || rc=$?
eq ".invalid: exit 6" 6 "$rc"
if grep -q 'invalid' "$TMP/peer.dns"; then fail ".invalid reached the DNS peer"
else pass ".invalid: no query sent"; fi

# --- echo_server over TLS -----------------------------------------------------------------
pki=$TMP/pki
mkdir -p "$pki"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj "/CN=ember fetch test CA" -keyout "$pki/ca.key" -out "$pki/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -keyout "$pki/key.pem" -out "$pki/cert.csr" 2>/dev/null
printf '%s\n' "subjectAltName=DNS:localhost,DNS:fetch.test,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
  "extendedKeyUsage=serverAuth" >"$pki/ext.cnf"
openssl x509 -req -in "$pki/cert.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -set_serial 1 \
  -days 1 -extfile "$pki/ext.cnf" -out "$pki/cert.pem" 2>/dev/null
start_server TLS "$bin/echo_server" --tls-cert "$pki/cert.pem" --tls-key "$pki/key.pem"
T=https://$TLS
same "https --cacert" tls 0 -s --cacert "$pki/ca.pem" "$T/plaintext"
same "https --cacert, by the name localhost" tlsname 0 -s --cacert "$pki/ca.pem" \
  "https://localhost:${TLS##*:}/plaintext"
same "https --cacert, 20 MiB stream" tlsbig 0 -s --cacert "$pki/ca.pem" "$T/stream?kb=20480"
same "https --cacert, POST 1 MiB" tlspost 0 -s --cacert "$pki/ca.pem" --data-binary @"$TMP/r1m" "$T/echo"
same "https without the CA: exit 60" tlsnoca 60 -s "$T/plaintext"
both tlsnocamsg "$T/plaintext"
says "https without the CA: the reason" tlsnocamsg '^ember-fetch: \(60\) SSL certificate problem: .*(verify|issuer|self.signed)'
same "https -k without the CA" tlsk 0 -s -k "$T/plaintext"
# --resolve over TLS: SNI and the certificate check stay the name's (the
# certificate names fetch.test and 127.0.0.1, not other.test)
same "https --resolve fetch.test to 127.0.0.1 --cacert" tlsres 0 -s --cacert "$pki/ca.pem" \
  --resolve "fetch.test:${TLS##*:}:127.0.0.1" "https://fetch.test:${TLS##*:}/plaintext"
same "https --resolve other.test to 127.0.0.1: the name is checked, not ADDR: exit 60" tlsres60 60 \
  -s --cacert "$pki/ca.pem" --resolve "other.test:${TLS##*:}:127.0.0.1" "https://other.test:${TLS##*:}/plaintext"
same "https, a missing --cacert file: exit 77" tlsbadca 77 -s --cacert "$TMP/no-such-ca.pem" "$T/plaintext"

# --- nginx with static files and redirects ------------------------------------------------
ngx=$TMP/nginx
mkdir -p "$ngx"
# nginx serves https too (PORT + 1), with a certificate made here for
# 127.0.0.1, and proxies /up/ to itself (proxy_pass)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext "subjectAltName=IP:127.0.0.1" \
  -keyout "$ngx/key.pem" -out "$ngx/cert.pem" 2>/dev/null ||
  { echo "FAIL: openssl could not make a certificate"; exit 1; }
write_conf() { # PORT
  cat >"$ngx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $ngx/nginx.pid;
error_log $ngx/error.log info;
events { worker_connections 256; }
http {
    access_log $ngx/access.log;
    client_body_temp_path $ngx/body;
    proxy_temp_path $ngx/proxy;
    fastcgi_temp_path $ngx/fastcgi;
    uwsgi_temp_path $ngx/uwsgi;
    scgi_temp_path $ngx/scgi;
    types { text/plain txt; application/octet-stream bin; }
    gzip on;
    gzip_types text/plain;
    server {
        listen 127.0.0.1:$1;
        listen 127.0.0.1:$(($1 + 1)) ssl;
        ssl_certificate $ngx/cert.pem;
        ssl_certificate_key $ngx/key.pem;
        root $www;
        location /up/ { proxy_pass http://127.0.0.1:$1/; }
        location = /r1 { return 301 /r2; }
        location = /r2 { return 302 http://127.0.0.1:$1/r3; }
        location = /r3 { return 307 /small.txt; }
        location = /loop { return 302 /loop; }
        location = /hdr { default_type text/plain; return 200 "x-test=\$http_x_test\n"; }
        location = /auth { default_type text/plain; return 200 "\$http_authorization\n"; }
        location = /ua { default_type text/plain; return 200 "\$http_user_agent\n"; }
    }
}
EOF
}
NPID="" up=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
  NPORT=$((20000 + RANDOM % 40000))
  write_conf "$NPORT"
  : >"$ngx/error.log"
  "$NGINX" -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" >"$ngx/stdout" 2>&1 &
  NPID=$!
  track_pid "$NPID"
  for i in $(seq 1 100); do # up to 5 s
    kill -0 "$NPID" 2>/dev/null || break
    if "${CU[@]}" -s --max-time 1 -o /dev/null "http://127.0.0.1:$NPORT/small.txt"; then up=1; break; fi
    sleep 0.05
  done
  [ -n "$up" ] && break
  wait "$NPID" 2>/dev/null || true
  untrack_pid "$NPID"
  if grep -q "Address already in use" "$ngx/error.log" "$ngx/stdout"; then continue; fi
  echo "FAIL: nginx did not start:"; cat "$ngx/stdout" "$ngx/error.log"; exit 1
done
[ -n "$up" ] || { echo "FAIL: no free port for nginx after 10 tries"; exit 1; }
N=http://127.0.0.1:$NPORT
NS=https://127.0.0.1:$((NPORT + 1))
echo "nginx on 127.0.0.1:$NPORT (https on $((NPORT + 1)))"

rc=0
"${EF[@]}" -s -o "$TMP/big.e" "$N/big.bin" || rc=$?
eq "nginx 50 MiB -o: exit 0" 0 "$rc"
same_file "nginx 50 MiB -o: ember-fetch's copy" "$www/big.bin" "$TMP/big.e"
rm -f "$TMP/big.e"
got=$("${EF[@]}" -s "$N/big.bin" | sha256sum | cut -d' ' -f1)
eq "nginx 50 MiB to a pipe: sha256" "$(sha "$www/big.bin")" "$got"
got=$("${CU[@]}" -s "$N/big.bin" | sha256sum | cut -d' ' -f1)
eq "nginx 50 MiB to a pipe (curl): sha256" "$(sha "$www/big.bin")" "$got"
if grep -q __asan_init "$bin/ember-fetch"; then
  echo "skip: peak RSS under ASan"
elif [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%M' -o "$TMP/rss" "${EF[@]}" -s -o /dev/null "$N/big.bin" || true
  kb=$(tail -n1 "$TMP/rss")
  if [ "${kb:-999999}" -lt 16384 ]; then pass "nginx 50 MiB: ember-fetch's peak RSS $kb KiB (< 16 MiB)"
  else fail "nginx 50 MiB: ember-fetch's peak RSS ${kb:-?} KiB (want < 16 MiB: the body must stream)"; fi
fi
same "nginx -i small.txt: the same head and body" ninc 0 -s -i "$N/small.txt"
same "nginx -I big.bin: the same head" nhead 0 -s -I "$N/big.bin"
same "nginx -L through 301, 302, 307" nloc 0 -s -L -w '\n%{http_code} %{url_effective}\n' "$N/r1"
eq "nginx -L: where it ended" "small file||200 $N/small.txt" "$(tr '\n' '|' <"$TMP/nloc.e" | sed 's/|$//')"
same "nginx 301 without -L" n301 0 -s -w '%{http_code}' "$N/r1"
same "nginx -L -I: ends at 200" nlochead 0 -s -L -I "$N/r1" -o /dev/null -w '%{http_code}'
same "nginx redirect loop, --max-redirs 5: exit 47" nloop 47 -s -L --max-redirs 5 "$N/loop"
same "nginx -L --max-redirs 0: exit 47" nloop0 47 -s -L --max-redirs 0 "$N/r1"
same "nginx -f on a missing file: exit 22" nf 22 -s -f "$N/missing"
same "nginx -H X-Test: echoed" nhdr 0 -s -H 'X-Test: hello there' "$N/hdr"
eq "nginx -H: the value" "x-test=hello there" "$(cat "$TMP/nhdr.e")"
same "nginx -u user:password" nauth 0 -s -u 'Aladdin:open sesame' "$N/auth"
same "nginx --oauth2-bearer" nbearer 0 -s --oauth2-bearer t0ken "$N/auth"
same "nginx -A" nua 0 -s -A 'tester/1.0' "$N/ua"
both nuadef -s "$N/ua"
eq "nginx default User-Agent" "ember-fetch/0.1.0" "$(cat "$TMP/nuadef.e")"
same "nginx -A '': no User-Agent" nuanone 0 -s -A '' "$N/ua"
same "nginx -X DELETE on a file: 405" ndel 0 -s -o /dev/null -w '%{http_code}' -X DELETE "$N/small.txt"

# --- nginx over TLS, and as a reverse proxy (proxy_pass) -----------------------------------
same "nginx https --cacert: small.txt" nhttps 0 -s --cacert "$ngx/cert.pem" "$NS/small.txt"
same "nginx https, its CA not trusted: exit 60" nhttps60 60 -s "$NS/small.txt"
same "nginx https -k" nhttpsk 0 -s -k "$NS/small.txt"
same "nginx https --compressed: 10 MB of text" nhttpsgz 0 -s --compressed --cacert "$ngx/cert.pem" \
  "$NS/big.txt"
same "nginx https -I" nhttpshead 0 -s -I --cacert "$ngx/cert.pem" "$NS/big.bin"
same "nginx proxy_pass: small.txt through /up/" nproxied 0 -s "$N/up/small.txt"
same "nginx proxy_pass: 50 MiB through /up/" nproxybig 0 -s -o /dev/null -w '%{size_download}' \
  "$N/up/big.bin"
same "nginx https + proxy_pass: -i" nhttpsproxy 0 -s -i --cacert "$ngx/cert.pem" "$NS/up/small.txt"

# --- nginx: gzip on, several URLs, -o/-O, -Z, --resolve, the meter ---------------------
same "nginx gzip on, --compressed: 10 MB of text" ngz 0 -s --compressed "$N/big.txt"
same_file "nginx --compressed: ember-fetch's copy" "$www/big.txt" "$TMP/ngz.e"
eq "nginx --compressed: sha256" "$(sha "$www/big.txt")" "$(sha256sum <"$TMP/ngz.e" | cut -d' ' -f1)"
sent=$(awk '$7 == "/big.txt" && / "ember-fetch\// { n = $10 } END { print n + 0 }' "$ngx/access.log")
if [ "$sent" -gt 0 ] && [ "$sent" -lt $(($(fsize "$www/big.txt") / 2)) ]; then
  pass "nginx --compressed: $sent bytes went over the wire (gzip) for $(fsize "$www/big.txt")"
else
  fail "nginx --compressed: nginx sent $sent bytes (want gzip: under half the file)"
fi
same "nginx gzip on, no --compressed: plain" nplain 0 -s "$N/big.txt"
same "nginx three URLs in a row" nmulti 0 -s "$N/small.txt" "$N/r3" "$N/small.txt"
same "nginx two URLs, -w num_connects (keep-alive)" nconn 0 -s -o /dev/null -o /dev/null \
  -w '%{num_connects} %{http_code} %{size_download}\n' "$N/small.txt" "$N/big.txt"
eq "nginx num_connects: 1 then 0" "1 200 11|0 200 $(fsize "$www/big.txt")" "$(tr '\n' '|' <"$TMP/nconn.e" | sed 's/|$//')"
same "nginx -w url filename_effective http_version size_header" nwvars 0 -s -o "$TMP/nw.out" \
  -w '%{url} %{filename_effective} %{http_version} %{size_header}\n' "$N/small.txt"
"${CU[@]}" -s -o "$TMP/oc1" -o "$TMP/oc2" "$N/small.txt" "$N/big.txt" "$N/small.txt" >"$TMP/opair.c" || true
"${EF[@]}" -s -o "$TMP/oe1" -o "$TMP/oe2" "$N/small.txt" "$N/big.txt" "$N/small.txt" >"$TMP/opair.e" || true
same_file "nginx -o A -o B with 3 URLs: A" "$TMP/oc1" "$TMP/oe1"
same_file "nginx -o A -o B with 3 URLs: B" "$www/big.txt" "$TMP/oe2"
eq "nginx -o A -o B with 3 URLs: the third on stdout" "$(cat "$TMP/opair.c")" "$(cat "$TMP/opair.e")"
mkdir -p "$TMP/Oc" "$TMP/Oe"
(cd "$TMP/Oc" && "${CU[@]}" -s -O "$N/small.txt" -O "$N/big.txt?x=1") || true
(cd "$TMP/Oe" && "${EF[@]}" -s -O "$N/small.txt" -O "$N/big.txt?x=1") || true
eq "nginx -O -O: the same file names" "$(ls "$TMP/Oc")" "$(ls "$TMP/Oe")"
same_file "nginx -O: big.txt" "$www/big.txt" "$TMP/Oe/big.txt"
same "nginx -O on a URL without a file name: exit 23" noname 23 -s -O "$N/"
same "nginx refused, then a good URL: the last one's exit code" nlast0 0 -s \
  "http://127.0.0.1:$REFUSED/" "$N/small.txt"
same "nginx a good URL, then refused: exit 7" nlast7 7 -s "$N/small.txt" "http://127.0.0.1:$REFUSED/"
both npar -s -Z -w '%{http_code} %{size_download}\n' -o /dev/null -o /dev/null -o /dev/null \
  -o /dev/null "$N/big.txt" "$N/small.txt" \
  "$N/r3" "$N/missing"
eq "nginx -Z four URLs: exit 0" "0 0" "$rc_c $rc_e"
eq "nginx -Z: the same lines, in any order" "$(sort "$TMP/npar.c")" "$(sort "$TMP/npar.e")"
same "nginx -Z --parallel-max 1 with a refused URL: exit 7" npar7 7 -s -Z --parallel-max 1 \
  "http://127.0.0.1:$REFUSED/" "$N/small.txt"
# --resolve: curl needs no DNS for it; ember-fetch asks the NXDOMAIN peer
# for the family the entry lacks, never the network
"${CU[@]}" -s --resolve "fetch.test:$NPORT:127.0.0.1" -w ' %{http_code}' "http://fetch.test:$NPORT/hdr" \
  -H 'X-Test: resolved' >"$TMP/nres.c" || true
ef nres -s --dns-servers "127.0.0.1:$DNS" --resolve "fetch.test:$NPORT:127.0.0.1" -w ' %{http_code}' \
  "http://fetch.test:$NPORT/hdr" -H 'X-Test: resolved'
eq "nginx --resolve fetch.test: exit 0" 0 "$rc_e"
eq "nginx --resolve fetch.test: no DNS question about it" 0 "$(grep -c '^fetch\.test$' "$TMP/peer.dns" || true)"
ef nres6 -s -6 --dns-servers "127.0.0.1:$DNS" --resolve "fetch.test:$NPORT:127.0.0.1" -w ' %{http_code}' \
  "http://fetch.test:$NPORT/hdr" -H 'X-Test: resolved'
eq "nginx --resolve with -6: ADDR all the same (curl's rule)" "x-test=resolved| 200" "$(tr '\n' '|' <"$TMP/nres6.e")"
eq "nginx --resolve fetch.test: as curl" "$(cat "$TMP/nres.c")" "$(cat "$TMP/nres.e")"
grep -q 'GET /hdr HTTP/1.1" 200' "$ngx/access.log" && pass "nginx --resolve: nginx answered" ||
  fail "nginx --resolve: not in nginx's log"
same "--resolve with no address: exit 49" nresbad 49 -s --resolve "fetch.test:$NPORT" "$N/small.txt"
ef nproxy5 -sS --dns-servers "127.0.0.1:$DNS" -x http://noproxy.test:3128 "$N/small.txt"
eq "a proxy whose name does not resolve: exit 5 (curl's)" 5 "$rc_e"
says "exit 5: curl's words" nproxy5 '^ember-fetch: \(5\) Could not resolve proxy'
# the meter: curl's table (its last line's sizes), the -# bar to the byte,
# nothing with -s (ember-fetch draws it only onto a terminal: told to draw
# it into the file here anyway; and without that, nothing)
ef nmeterpipe -o /dev/null "$N/big.txt"
eq "nginx meter: none into a pipe" "0" "$(fsize "$TMP/nmeterpipe.e.err")"
export EMBER_FETCH_METER_ANYWAY=1
both nmeter -o /dev/null "$N/big.txt"
last_c=$(tr '\r' '\n' <"$TMP/nmeter.c.err" | grep -E '^100 ' | tail -n1 | cut -c1-31)
last_e=$(tr '\r' '\n' <"$TMP/nmeter.e.err" | grep -E '^100 ' | tail -n1 | cut -c1-31)
eq "nginx meter: the header as curl's" "$(head -n2 "$TMP/nmeter.c.err")" "$(head -n2 "$TMP/nmeter.e.err")"
eq "nginx meter: the last line's total and received as curl's" "$last_c" "$last_e"
both nbar -# -o /dev/null "$N/big.txt"
eq "nginx -#: the finished bar as curl's" "$(tr '\r' '\n' <"$TMP/nbar.c.err" | tail -n1)" \
  "$(tr '\r' '\n' <"$TMP/nbar.e.err" | tail -n1)"
both nnometer -s -o /dev/null "$N/big.txt"
eq "nginx -s: no meter" "0 0" "$(fsize "$TMP/nnometer.c.err") $(fsize "$TMP/nnometer.e.err")"
both nmeterstdout "$N/small.txt"
unset EMBER_FETCH_METER_ANYWAY
eq "nginx body to a file on stdout: the meter shows (curl too)" "yes yes" \
  "$(grep -q Total "$TMP/nmeterstdout.c.err" && echo yes) $(grep -q Total "$TMP/nmeterstdout.e.err" && echo yes)"

if grep -E '\[(crit|alert|emerg)\]' "$ngx/error.log" >"$TMP/ngx.bad"; then
  fail "nginx error log:"; head -n 20 "$TMP/ngx.bad"
fi
stop_server "$ECHO_PID" echo_server
stop_server "$TLS_PID" "echo_server (TLS)"
finish
