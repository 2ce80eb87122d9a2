# shellcheck shell=bash
# Helpers for the TLS interop scripts (tests/interop/tls_*.sh); sourced after
# lib.sh, not run.
#   need TOOL...          SKIP with exit 77 (ctest SKIP_RETURN_CODE) unless
#                         every tool is installed
#   make_pki DIR          a throwaway CA and certificates, made with the
#                         openssl CLI (below)
#   find_nginx            sets NGINX, or SKIPs
#   start_nginx CONF_FN N starts nginx with its own prefix in $TMP/nginx on N
#                         free loopback ports: CONF_FN PORT1 .. PORTN writes
#                         $ngx/nginx.conf; sets NGX_PORTS (array) and NGX_PID
#   stop_nginx            SIGQUIT, waits, checks it exited 0
#   start_s_server VAR ARGS...
#                         openssl s_server -accept 127.0.0.1:0 ARGS; sets VAR
#                         to HOST:PORT and VAR_PID
#   tls_version_of FILE   "TLSv1.3" etc. from curl -v's "SSL connection using"

need() {
  local t
  for t in "$@"; do
    command -v "$t" >/dev/null 2>&1 || {
      echo "SKIP: $t is not installed (scripts/install-deps.sh build)"
      exit 77
    }
  done
}

# make_pki DIR: in DIR (all PEM):
#   ca.pem ca.key            the test CA (EC P-256)
#   ec.pem ec.key            leaf for localhost and 127.0.0.1, EC P-256
#   rsa.pem rsa.key          the same names, RSA-2048
#   wrong.pem wrong.key      leaf for wrong.example only (EC)
#   expired.pem expired.key  leaf for localhost/127.0.0.1, valid in 2020 only
#   self.pem self.key        self-signed for localhost/127.0.0.1, not from the CA
# Each leaf is signed by `openssl ca` with explicit -startdate/-enddate (the
# only way OpenSSL 3.0's CLI sets a validity in the past).
make_pki() {
  local d=$1 name
  mkdir -p "$d/db"
  : >"$d/db/index.txt"
  echo 1000 >"$d/db/serial"
  cat >"$d/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $d/db/index.txt
new_certs_dir = $d/db
serial = $d/db/serial
default_md = sha256
policy = any
unique_subject = no
email_in_dn = no
[ any ]
commonName = supplied
[ leaf_local ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
[ leaf_wrong ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:wrong.example
EOF
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
  openssl req -x509 "${ec[@]}" -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 30 \
    -subj "/CN=ember interop test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    2>"$d/openssl.log" || { cat "$d/openssl.log"; return 1; }
  _leaf() { # NAME KEYARGS SUBJ_CN EXTENSIONS START END
    local n=$1 key=$2 cn=$3 ext=$4 start=$5 end=$6
    # shellcheck disable=SC2086
    openssl req -new $key -nodes -keyout "$d/$n.key" -out "$d/$n.csr" -subj "/CN=$cn" \
      2>>"$d/openssl.log" &&
      openssl ca -batch -notext -config "$d/ca.cnf" -cert "$d/ca.pem" -keyfile "$d/ca.key" \
        -in "$d/$n.csr" -out "$d/$n.pem" -extensions "$ext" -startdate "$start" -enddate "$end" \
        >>"$d/openssl.log" 2>&1
  }
  local now soon
  now=$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)
  soon=$(date -u -d '+2 days' +%Y%m%d%H%M%SZ)
  if ! { _leaf ec "${ec[*]}" localhost leaf_local "$now" "$soon" &&
    _leaf rsa "-newkey rsa:2048" localhost leaf_local "$now" "$soon" &&
    _leaf wrong "${ec[*]}" wrong.example leaf_wrong "$now" "$soon" &&
    _leaf expired "${ec[*]}" localhost leaf_local 20200101000000Z 20200201000000Z; }; then
    cat "$d/openssl.log"
    return 1
  fi
  openssl req -x509 "${ec[@]}" -nodes -keyout "$d/self.key" -out "$d/self.pem" -days 2 \
    -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    2>>"$d/openssl.log" || { cat "$d/openssl.log"; return 1; }
  for name in ec rsa wrong expired; do
    openssl verify -CAfile "$d/ca.pem" -no_check_time "$d/$name.pem" >/dev/null ||
      { echo "make_pki: $name.pem does not verify"; return 1; }
  done
}

find_nginx() {
  NGINX=$(command -v nginx || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true)
  [ -n "$NGINX" ] || { echo "SKIP: nginx is not installed (scripts/install-deps.sh build)"; exit 77; }
}

# A port nobody listens on now (nginx cannot take port 0: a collision is
# retried by start_nginx).
_rand_port() { echo $((20000 + RANDOM % 40000)); }
_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start_nginx() { # CONF_FN NPORTS
  local fn=$1 n=$2 i p up
  ngx=$TMP/nginx
  mkdir -p "$ngx"
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    NGX_PORTS=()
    for i in $(seq 1 "$n"); do NGX_PORTS+=("$(_rand_port)"); done
    "$fn" "${NGX_PORTS[@]}"
    : >"$ngx/error.log"
    "$NGINX" -p "$ngx" -e "$ngx/error.log" -c "$ngx/nginx.conf" >"$ngx/stdout" 2>&1 &
    NGX_PID=$!
    track_pid "$NGX_PID"
    up=""
    for i in $(seq 1 200); do # up to 10 s
      kill -0 "$NGX_PID" 2>/dev/null || break
      up=1
      for p in "${NGX_PORTS[@]}"; do _port_open "$p" || { up=""; break; }; done
      [ -n "$up" ] && break
      sleep 0.05
    done
    [ -n "$up" ] && { echo "nginx on 127.0.0.1 ports ${NGX_PORTS[*]} (pid $NGX_PID)"; return 0; }
    kill -KILL "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    untrack_pid "$NGX_PID"
    if grep -q "Address already in use" "$ngx/error.log" "$ngx/stdout"; then continue; fi
    echo "FAIL: nginx did not start:"; cat "$ngx/stdout" "$ngx/error.log"; exit 1
  done
  echo "FAIL: no free ports for nginx after 10 tries"; exit 1
}

stop_nginx() {
  local i=0 rc=0
  kill -QUIT "$NGX_PID" 2>/dev/null || true
  while kill -0 "$NGX_PID" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
  if kill -0 "$NGX_PID" 2>/dev/null; then fail "nginx did not stop on SIGQUIT"; kill -KILL "$NGX_PID"; fi
  wait "$NGX_PID" 2>/dev/null || rc=$?
  untrack_pid "$NGX_PID"
  eq "nginx stopped cleanly" 0 "$rc"
}

# The lines every nginx.conf here starts with: one process in the
# foreground, every path under $ngx.
nginx_conf_head() {
  cat <<EOF
worker_processes 1;
daemon off;
master_process off;
pid $ngx/nginx.pid;
error_log $ngx/error.log info;
events { worker_connections 1024; }
EOF
}
nginx_http_paths() {
  cat <<EOF
    access_log $ngx/access.log;
    client_body_temp_path $ngx/body;
    proxy_temp_path $ngx/proxy;
    fastcgi_temp_path $ngx/fastcgi;
    uwsgi_temp_path $ngx/uwsgi;
    scgi_temp_path $ngx/scgi;
EOF
}

start_s_server() { # VAR ARGS...
  local var=$1 out pid line addr="" i
  shift
  out=$TMP/s_server.$RANDOM.out
  # -www and -WWW never read stdin, so /dev/null does not stop it.
  openssl s_server -accept 127.0.0.1:0 "$@" >"$out" 2>&1 </dev/null &
  pid=$!
  track_pid "$pid"
  for i in $(seq 1 200); do # up to 10 s
    line=$(grep -m1 '^ACCEPT ' "$out" 2>/dev/null || true)
    [ -n "$line" ] && { addr=${line#ACCEPT }; break; }
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  if [ -z "$addr" ]; then echo "FAIL: openssl s_server did not start:"; cat "$out"; exit 1; fi
  printf -v "$var" '%s' "$addr"
  printf -v "${var}_PID" '%s' "$pid"
}

tls_version_of() {
  sed -n 's/^\* SSL connection using \(TLSv[0-9.]*\).*/\1/p' "$1" | head -n1
}
