# shellcheck shell=bash disable=SC2034,SC2154
# (the variables set here are for the scripts that source it; they set `here`)
# Helpers the bench/*.sh scripts share; source it after setting `here`.
# Servers started with start_nginx or by the script go into pids[], which
# the EXIT trap kills; tmp is the scripts' scratch folder.
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clk=$(getconf CLK_TCK)
# utime + stime of a process, in clock ticks (divide by $clk for seconds).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# The value of key $2 in http_load's one-line "key=value ..." output $1.
kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }

# Wait until the server on port $1 answers GET /plaintext (10 s at most).
wait_port() {
  for _ in $(seq 1 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/plaintext" && return 0; sleep 0.1
  done
  return 1
}

# start_nginx <port> [cpu list] [extra sed expression]: nginx with
# bench/tfb/nginx.conf.in (one worker) in $tmp/nginx; sets ngx_pid to the
# worker's pid, the process whose CPU and memory count.
start_nginx() {
  local port=$1 cpus=${2:-} extra=${3:-}
  mkdir -p "$tmp/nginx"
  sed -e "s|@PORT@|$port|; s|@DIR@|$tmp/nginx|g" ${extra:+-e "$extra"} \
      "$here/tfb/nginx.conf.in" >"$tmp/nginx/nginx.conf"
  if [ -n "$cpus" ]; then
    taskset -c "$cpus" nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" & pids+=($!)
  else
    nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" & pids+=($!)
  fi
  wait_port "$port" || { echo "nginx did not start"; return 1; }
  ngx_pid=$(pgrep -f "nginx: worker process" -P "$(cat "$tmp/nginx/nginx.pid")" | head -n1)
}
