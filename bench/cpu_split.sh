#!/usr/bin/env bash
# Where a plaintext request's server CPU goes, ember beside nginx: user and
# kernel µs per request (/proc/PID/stat), system calls per request
# (perf's raw_syscalls tracepoint, when perf can read it) and TCP segments
# per request (nstat). Non-pipelined, 64 connections, http_load on core 0,
# the servers on core 1, runs alternating server by server; medians of RUNS.
#
# It shows the floor under "CPU per request": both servers make the same
# system calls and send the same segments, so the kernel does the same work
# for both, and no user-space change can take ember below its own kernel
# time / nginx's total.
#   bench/cpu_split.sh <build dir>
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-5} SECS=${SECS:-5} CONNS=${CONNS:-64}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
have_perf=0
perf stat -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 && have_perf=1
command -v nstat >/dev/null || { echo "cpu_split: nstat (iproute2) is missing"; exit 1; }
export NSTAT_HISTORY=$tmp/nstat.history # our own baseline, not the user's

# one_run <pid> <port> -> "user_us sys_us syscalls_per_req segs_per_req"
one_run() {
  local pid=$1 port=$2 u0 s0 u1 s1 out reqs sc=0 perf_pid=
  if [ "$have_perf" = 1 ]; then
    perf stat -x, -e raw_syscalls:sys_enter -p "$pid" -o "$tmp/perf" &
    perf_pid=$!
    sleep 0.2
  fi
  read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  nstat -n
  out=$(taskset -c 0 "$build/bench/http_load" -c "$CONNS" -w 0 -d "$SECS" -P "$port")
  segs=$(nstat TcpOutSegs 2>/dev/null | awk '$1 == "TcpOutSegs" {print $2}')
  read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid"; wait "$perf_pid" 2>/dev/null || true
    sc=$(awk -F, '/raw_syscalls/ {print $1}' "$tmp/perf")
  fi
  reqs=$(kv "$out" requests)
  # TcpOutSegs counts every segment sent on the machine: on loopback both
  # ends, so a request and its response with piggybacked ACKs make 2.
  awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v n="$reqs" -v hz="$clk" -v sc="$sc" -v sg="$segs" \
      'BEGIN {printf "%.2f %.2f %.2f %.2f\n", u / hz * 1e6 / n, s / hz * 1e6 / n, sc / n, sg / n}'
}

declare -A pid_of port_of
port=$(free_port)
start_nginx "$port" 1
pid_of[nginx]=$ngx_pid port_of[nginx]=$port
port=$(free_port)
taskset -c 1 "$build/examples/echo_server" --port "$port" >/dev/null & pids+=($!)
wait_port "$port" || { echo "ember did not start"; exit 1; }
pid_of[ember]=${pids[-1]} port_of[ember]=$port

for s in nginx ember; do : >"$tmp/runs.$s"; done
for _ in $(seq 1 "$RUNS"); do
  for s in nginx ember; do one_run "${pid_of[$s]}" "${port_of[$s]}" >>"$tmp/runs.$s"; done
done

printf '%-6s %8s %8s %8s %10s %9s\n' server user_us sys_us total_us syscalls/r segs/r
declare -A tot sys
for s in nginx ember; do
  f=$tmp/runs.$s
  u=$(cut -d' ' -f1 "$f" | median) k=$(cut -d' ' -f2 "$f" | median)
  c=$(cut -d' ' -f3 "$f" | median) g=$(cut -d' ' -f4 "$f" | median)
  [ "$have_perf" = 1 ] || c=-
  tot[$s]=$(awk -v u="$u" -v k="$k" 'BEGIN {printf "%.2f", u + k}') sys[$s]=$k
  printf '%-6s %8s %8s %8s %10s %9s\n' "$s" "$u" "$k" "${tot[$s]}" "$c" "$g"
done
awk -v e="${tot[ember]}" -v n="${tot[nginx]}" -v k="${sys[ember]}" 'BEGIN {
  printf "ember/nginx CPU per request: %.2f\n", e / n
  printf "ember kernel time alone / nginx total: %.2f (the best any user-space change can do)\n", k / n }'
