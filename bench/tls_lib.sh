# shellcheck shell=bash disable=SC2034,SC2154
# Helpers of the TLS benchmarks (bench/tls.sh, bench/tls_idle.sh); source
# it after bench/lib.sh. The servers it starts go into pids[].

# make_cert <ec|rsa>: a self-signed certificate for localhost in
# $tmp/<kind>.crt and .key (ECDSA P-256 or RSA-2048).
make_cert() {
  local kind=$1 alg
  if [ "$kind" = ec ]; then
    alg=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1)
  else
    alg=(-newkey rsa:2048)
  fi
  openssl req -x509 "${alg[@]}" -nodes -days 30 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$tmp/$kind.key" -out "$tmp/$kind.crt" 2>/dev/null
}

# wait_tls_port <port>: until GET /plaintext answers over HTTPS (10 s).
wait_tls_port() {
  for _ in $(seq 1 100); do
    curl -sk -o /dev/null "https://127.0.0.1:$1/plaintext" && return 0; sleep 0.1
  done
  return 1
}

# start_nginx_tls <port> <cpus> <cert kind> <tickets|no-tickets> [worker_connections]:
# bench/tfb/nginx.conf.in with its listener made TLS (the same certificate
# as ember's). no-tickets: ssl_session_tickets off, ssl_session_cache off
# and NumTickets 0 (without it OpenSSL still sends two stateful TLS 1.3
# tickets nobody can use); tickets: stateless tickets (nginx's default,
# as ember). TLS 1.2 and 1.3 (nginx 1.22 leaves 1.3 out by default). Sets ngx_pid (the worker) and ngx_dir.
start_nginx_tls() {
  local port=$1 cpus=$2 kind=$3 mode=$4 wc=${5:-4096} sess
  ngx_dir=$tmp/nginx.$port
  mkdir -p "$ngx_dir"
  if [ "$mode" = no-tickets ]; then
    sess="ssl_session_tickets off; ssl_session_cache off; ssl_conf_command NumTickets 0;"
  else
    sess="ssl_session_tickets on; ssl_session_cache none;"
  fi
  sed -e "s|@PORT@|$port|; s|@DIR@|$ngx_dir|g" \
      -e "s|worker_connections 4096|worker_connections $wc|" \
      -e "s|backlog=4096;|backlog=4096 ssl; ssl_certificate $tmp/$kind.crt; ssl_certificate_key $tmp/$kind.key; ssl_protocols TLSv1.2 TLSv1.3; $sess|" \
      "$here/tfb/nginx.conf.in" >"$ngx_dir/nginx.conf"
  taskset -c "$cpus" nginx -c "$ngx_dir/nginx.conf" -p "$ngx_dir" & pids+=($!)
  wait_tls_port "$port" || { echo "nginx did not start"; cat "$ngx_dir/nginx.err"; return 1; }
  ngx_pid=$(pgrep -f "nginx: worker process" -P "$(cat "$ngx_dir/nginx.pid")" | head -n1)
}

# start_ember_tls <port> <cpus> <cert kind> <tickets|no-tickets>: bench/tls_server
# (one worker); sets ember_pid.
start_ember_tls() {
  local port=$1 cpus=$2 kind=$3 mode=$4
  taskset -c "$cpus" "$build/bench/tls_server" "$port" "$tmp/$kind.crt" "$tmp/$kind.key" \
    "$mode" >/dev/null & pids+=($!)
  ember_pid=${pids[-1]}
  wait_tls_port "$port" || { echo "ember's tls_server did not start"; return 1; }
}

# stop_pid <pid>: stop a server started above (nginx: its master) and wait.
stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
