#!/usr/bin/env bash
# TechEmpower plaintext: the load generator pinned to core 0, each server
# pinned to core 1, in one run: nginx (worker_processes 1), Go net/http
# (GOMAXPROCS=1) and ember's echo_server (1 worker). For each server and
# configuration: a response check, a warm-up, RUNS runs of SECS seconds,
# medians of req/s, p99 latency and server CPU µs per request (utime+stime
# from /proc/PID/stat over the run / requests).
# Two load generators, one table each (GENS="wrk http_load" by default):
# - wrk -t1, what TechEmpower uses;
# - bench/http_load, ours: it costs less CPU per request than wrk, so it
#   pushes the servers harder, and it times every response of a pipelined
#   batch (wrk's p99 for pipelined runs reads 0).
# Then a third table: latency at a fixed offered rate (http_load -R, open
# loop, timed from each request's scheduled send), the same rate for every
# server and below each one's capacity. Closed-loop tails mostly measure
# whichever side saturates; this one compares servers under equal load.
# RATE_CONFS="conns pipelined rate ..." sets it; RATES=0 skips it.
#   bench/tfb.sh <build dir>
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} SECS=${SECS:-10}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

check_response() { # $1 = port: status 200, body, content type
  local hdr body
  hdr=$(curl -s -D - -o "$tmp/body" "http://127.0.0.1:$1/plaintext")
  body=$(cat "$tmp/body")
  [[ "$hdr" == "HTTP/1.1 200"* ]] || { echo "bad status: $hdr"; return 1; }
  [ "$body" = "Hello, World!" ] || { echo "bad body: $body"; return 1; }
  grep -qi '^content-type: text/plain' <<<"$hdr" || { echo "bad content type"; return 1; }
}

# one_run <gen> <pid> <port> <conns> <pipelined 0|1>
#   -> "reqs_per_s p99_us cpu_us_per_req"
one_run() {
  local gen=$1 pid=$2 port=$3 conns=$4 pipe=$5 t0 t1 out rps reqs p99
  t0=$(cpu_ticks "$pid")
  if [ "$gen" = wrk ]; then
    local script=()
    [ "$pipe" = 1 ] && script=(-s "$here/tfb/pipeline.lua")
    out=$(taskset -c 0 wrk -t1 -c"$conns" -d"${SECS}s" --latency "${script[@]}" \
          "http://127.0.0.1:$port/plaintext")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v)} else if (v ~ /ms$/) {sub(/ms/,"",v); v*=1000} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000000}; print v}' <<<"$out")
  else
    local depth=1
    [ "$pipe" = 1 ] && depth=16
    out=$(taskset -c 0 "$build/bench/http_load" -c "$conns" -p "$depth" -w 0 -d "$SECS" \
          -P "$port" --path /plaintext)
    rps=$(kv "$out" rps) reqs=$(kv "$out" requests) p99=$(kv "$out" p99_us)
  fi
  t1=$(cpu_ticks "$pid")
  # wrk's histogram prints 99% as 0 for pipelined runs (it times a batch,
  # not its responses): report that as unknown (-1), not as 0 µs.
  awk -v r="$rps" -v p="$p99" -v d=$((t1 - t0)) -v n="$reqs" -v hz="$clk" \
      'BEGIN {if (p == 0) p = -1; printf "%.0f %.0f %.2f\n", r, p, (d / hz) * 1e6 / n}'
}

# rate_run <pid> <port> <conns> <pipelined 0|1> <rate>
#   -> "achieved_rps p50_us p99_us p999_us cpu_us_per_req"
rate_run() {
  local pid=$1 port=$2 conns=$3 pipe=$4 rate=$5 t0 t1 out depth=1
  [ "$pipe" = 1 ] && depth=16
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 0 "$build/bench/http_load" -c "$conns" -p "$depth" -R "$rate" -w 0 \
        -d "$SECS" -P "$port" --path /plaintext 2>/dev/null)
  t1=$(cpu_ticks "$pid")
  awk -v r="$(kv "$out" rps)" -v a="$(kv "$out" p50_us)" -v b="$(kv "$out" p99_us)" \
      -v c="$(kv "$out" p999_us)" -v d=$((t1 - t0)) -v n="$(kv "$out" requests)" -v hz="$clk" \
      'BEGIN {printf "%.0f %d %d %d %.2f\n", r, a, b, c, (d / hz) * 1e6 / n}'
}

declare -A result pid_of port_of
# Servers run side by side (each pinned to core 1, idle while another is
# measured); runs interleave server by server, so a noisy neighbour hurts
# every server alike instead of whichever happened to run then.
add_server() { # $1 = name, $2 = pid, $3 = port
  wait_port "$3" || { echo "$1 did not start"; return 1; }
  check_response "$3" || { echo "$1: response check failed"; return 1; }
  pid_of[$1]=$2 port_of[$1]=$3
  servers+=("$1")
}

servers=()
# nginx
port=$(free_port)
start_nginx "$port" 1
add_server nginx "$ngx_pid" "$port"

# Go net/http
port=$(free_port)
(cd "$here/tfb" && GOFLAGS=-mod=mod go build -o "$tmp/go_plaintext" go_plaintext.go)
GOMAXPROCS=1 taskset -c 1 "$tmp/go_plaintext" "$port" & pids+=($!)
add_server go "${pids[-1]}" "$port"

# ember (examples/echo_server), 1 worker
if [ -x "$build/examples/echo_server" ]; then
  port=$(free_port)
  taskset -c 1 "$build/examples/echo_server" --port "$port" --workers 1 >/dev/null & pids+=($!)
  add_server ember "${pids[-1]}" "$port"
fi

confs=("64 0" "64 1" "256 0")
GENS=${GENS:-wrk http_load}
for gen in $GENS; do
  for conf in "${confs[@]}"; do
    read -r conns pipe <<<"$conf"
    for s in "${servers[@]}"; do # warm-up
      taskset -c 0 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:${port_of[$s]}/plaintext" >/dev/null
      : >"$tmp/runs.$s"
    done
    for _ in $(seq 1 "$RUNS"); do
      for s in "${servers[@]}"; do
        one_run "$gen" "${pid_of[$s]}" "${port_of[$s]}" "$conns" "$pipe" >>"$tmp/runs.$s"
      done
    done
    for s in "${servers[@]}"; do
      f=$tmp/runs.$s
      result["$gen,$s,$conf"]="$(cut -d' ' -f1 "$f" | median) $(cut -d' ' -f2 "$f" | median) $(cut -d' ' -f3 "$f" | median)"
    done
  done
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a / b; else print "-"}'; }
for gen in $GENS; do
  printf '\nload generator: %s (medians of %s runs of %s s)\n' "$gen" "$RUNS" "$SECS"
  printf '%-8s %-14s %12s %8s %10s %8s %10s %8s\n' server config req_per_s rps/ngx \
    p99_us p99/ngx cpu_us_req cpu/ngx
  for conf in "${confs[@]}"; do
    read -r conns pipe <<<"$conf"
    label="c$conns"
    [ "$pipe" = 1 ] && label="$label pipe16"
    read -r brps bp99 bcpu <<<"${result["$gen,nginx,$conf"]:-0 0 0}"
    for s in "${servers[@]}"; do
      read -r rps p99 cpu <<<"${result["$gen,$s,$conf"]}"
      printf '%-8s %-14s %12s %8s %10s %8s %10s %8s\n' "$s" "$label" "$rps" "$(ratio "$rps" "$brps")" \
        "$p99" "$(ratio "$p99" "$bp99")" "$cpu" "$(ratio "$cpu" "$bcpu")"
    done
  done
done

# Fixed-rate latency: conns, pipelined, offered req/s (Go, the slowest,
# serves about 80k non-pipelined and 95k pipelined here).
read -r -a rate_confs <<<"${RATE_CONFS:-64 0 50000 64 1 80000 256 0 50000}"
if [ "${RATES:-1}" != 0 ]; then
  declare -A rres
  for ((i = 0; i < ${#rate_confs[@]}; i += 3)); do
    conf="${rate_confs[*]:i:3}"
    read -r conns pipe rate <<<"$conf"
    for s in "${servers[@]}"; do : >"$tmp/rate.$s"; done
    for _ in $(seq 1 "$RUNS"); do
      for s in "${servers[@]}"; do
        rate_run "${pid_of[$s]}" "${port_of[$s]}" "$conns" "$pipe" "$rate" >>"$tmp/rate.$s"
      done
    done
    for s in "${servers[@]}"; do
      f=$tmp/rate.$s
      rres["$s,$conf"]="$(for k in 1 2 3 4 5; do cut -d' ' -f$k "$f" | median; done | tr '\n' ' ')"
    done
  done
  printf '\nfixed offered rate: http_load -R (open loop; medians of %s runs of %s s)\n' "$RUNS" "$SECS"
  printf '%-8s %-22s %10s %8s %8s %8s %8s %10s %8s\n' server config achieved p50_us p99_us \
    p99/ngx p999_us cpu_us_req cpu/ngx
  for ((i = 0; i < ${#rate_confs[@]}; i += 3)); do
    conf="${rate_confs[*]:i:3}"
    read -r conns pipe rate <<<"$conf"
    label="c$conns"
    [ "$pipe" = 1 ] && label="$label pipe16"
    label="$label @${rate}/s"
    read -r _ _ b99 _ bcpu <<<"${rres["nginx,$conf"]:-0 0 0 0 0}"
    for s in "${servers[@]}"; do
      read -r got p50 p99 p999 cpu <<<"${rres["$s,$conf"]}"
      printf '%-8s %-22s %10s %8s %8s %8s %8s %10s %8s\n' "$s" "$label" "$got" "$p50" "$p99" \
        "$(ratio "$p99" "$b99")" "$p999" "$cpu" "$(ratio "$cpu" "$bcpu")"
    done
  done
fi
