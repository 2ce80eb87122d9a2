#!/usr/bin/env bash
# HTTPS: ember (bench/tls_server, one worker) against nginx (one worker)
# with the same certificate, each server pinned to core 0 and the load to
# core 1, runs interleaved server by server, medians of RUNS runs of SECS
# seconds. Server CPU is utime+stime from /proc/PID/stat over a run.
# - Handshakes (bench/tls_handshake -c CONC: handshake, one GET, close),
#   for an ECDSA P-256 and then an RSA-2048 certificate, TLS 1.3 and 1.2:
#   full handshakes (nothing offered; both servers with tickets and the
#   session cache off) and resumptions (each client slot offers the ticket
#   of its previous connection; both servers with stateless tickets).
#   handshakes/s and server CPU µs per handshake, and ember/nginx ratios.
# - Keep-alive GET /plaintext over TLS 1.3 (wrk -t1 -c64, one handshake
#   per connection), plain and pipelined x16 (bench/tfb/pipeline.lua):
#   req/s and server CPU µs per request, and ratios.
#   bench/tls.sh <build dir>
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} SECS=${SECS:-5} CONC=${CONC:-16}
KINDS=${KINDS:-ec rsa}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=bench/tls_lib.sh
source "$here/tls_lib.sh"

per() { awk -v d="$1" -v n="$2" -v hz="$clk" 'BEGIN {if (n > 0) printf "%.1f", d / hz * 1e6 / n; else print 0}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a > 0 && b > 0) printf "%.2f", a / b; else print "-"}'; }

# hs_run <pid> <port> <12|13> <full|resume> -> "handshakes_per_s cpu_us_per_handshake"
hs_run() {
  local pid=$1 port=$2 v=$3 mode=$4 t0 t1 out flags=()
  [ "$mode" = resume ] && flags=(-r)
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 "$build/bench/tls_handshake" -p "$port" -c "$CONC" -d "$SECS" -v "$v" "${flags[@]}")
  t1=$(cpu_ticks "$pid")
  if [ "$(kv "$out" errors)" != 0 ] ||
     { [ "$mode" = resume ] && [ $(($(kv "$out" conns) - $(kv "$out" resumed))) -gt "$CONC" ]; }; then
    echo "bad run on port $port ($v $mode): $out" >&2
  fi
  echo "$(kv "$out" rate) $(per $((t1 - t0)) "$(kv "$out" conns)")"
}

# ka_run <pid> <port> <pipelined 0|1> -> "req_per_s cpu_us_per_req"
ka_run() {
  local pid=$1 port=$2 pipe=$3 t0 t1 out script=()
  [ "$pipe" = 1 ] && script=(-s "$here/tfb/pipeline.lua")
  t0=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c64 -d"${SECS}s" "${script[@]}" "https://127.0.0.1:$port/plaintext")
  t1=$(cpu_ticks "$pid")
  echo "$(awk '/^Requests\/sec/ {print $2}' <<<"$out") $(per $((t1 - t0)) "$(awk '/requests in/ {print $1}' <<<"$out")")"
}

medians() { # file -> "median_col1 median_col2"
  echo "$(cut -d' ' -f1 "$1" | median) $(cut -d' ' -f2 "$1" | median)"
}

printf 'TLS handshakes: bench/tls_handshake -c %s on core 1, servers on core 0 (medians of %s runs of %s s)\n' \
  "$CONC" "$RUNS" "$SECS"
printf '%-5s %-12s %-7s %10s %8s %10s %8s\n' cert mode server hs_per_s hs/ngx cpu_us_hs cpu/ngx
for kind in $KINDS; do
  make_cert "$kind"
  declare -A pid_of=() port_of=()
  for mode in no-tickets tickets; do
    port=$(free_port); start_nginx_tls "$port" 0 "$kind" "$mode"
    pid_of[nginx,$mode]=$ngx_pid port_of[nginx,$mode]=$port
    port=$(free_port); start_ember_tls "$port" 0 "$kind" "$mode"
    pid_of[ember,$mode]=$ember_pid port_of[ember,$mode]=$port
  done
  for conf in "13 full" "12 full" "13 resume" "12 resume"; do
    read -r v mode <<<"$conf"
    smode=no-tickets
    [ "$mode" = resume ] && smode=tickets
    for s in nginx ember; do # warm-up
      hs_run "${pid_of[$s,$smode]}" "${port_of[$s,$smode]}" "$v" "$mode" >/dev/null
      : >"$tmp/hs.$s"
    done
    for _ in $(seq 1 "$RUNS"); do
      for s in nginx ember; do
        hs_run "${pid_of[$s,$smode]}" "${port_of[$s,$smode]}" "$v" "$mode" >>"$tmp/hs.$s"
      done
    done
    read -r nr nc <<<"$(medians "$tmp/hs.nginx")"
    read -r er ec <<<"$(medians "$tmp/hs.ember")"
    printf '%-5s %-12s %-7s %10s %8s %10s %8s\n' "$kind" "$mode TLS1.$((v - 10))" nginx "$nr" 1.00 "$nc" 1.00
    printf '%-5s %-12s %-7s %10s %8s %10s %8s\n' "$kind" "$mode TLS1.$((v - 10))" ember "$er" \
      "$(ratio "$er" "$nr")" "$ec" "$(ratio "$ec" "$nc")"
  done
  if [ "$kind" = "${KINDS%% *}" ]; then # keep-alive: the first certificate's servers
    printf '\nkeep-alive HTTPS GET /plaintext, TLS 1.3: wrk -t1 -c64 on core 1 (medians of %s runs of %s s)\n' \
      "$RUNS" "$SECS"
    printf '%-14s %-7s %10s %8s %10s %8s\n' config server req_per_s rps/ngx cpu_us_req cpu/ngx
    for pipe in 0 1; do
      for s in nginx ember; do
        taskset -c 1 wrk -t1 -c64 -d2s "https://127.0.0.1:${port_of[$s,tickets]}/plaintext" >/dev/null
        : >"$tmp/ka.$s"
      done
      for _ in $(seq 1 "$RUNS"); do
        for s in nginx ember; do
          ka_run "${pid_of[$s,tickets]}" "${port_of[$s,tickets]}" "$pipe" >>"$tmp/ka.$s"
        done
      done
      label=c64
      [ "$pipe" = 1 ] && label="c64 pipe16"
      read -r nr nc <<<"$(medians "$tmp/ka.nginx")"
      read -r er ec <<<"$(medians "$tmp/ka.ember")"
      printf '%-14s %-7s %10s %8s %10s %8s\n' "$label" nginx "$nr" 1.00 "$nc" 1.00
      printf '%-14s %-7s %10s %8s %10s %8s\n' "$label" ember "$er" "$(ratio "$er" "$nr")" "$ec" \
        "$(ratio "$ec" "$nc")"
    done
    echo
  fi
  for mode in no-tickets tickets; do # this certificate's servers
    stop_pid "${pid_of[ember,$mode]}"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pids=()
done
