#!/usr/bin/env bash
# HTTP client: ember's loop client (bench/http_client_bench) vs libcurl's
# multi interface (bench/curl_multi_bench: multi_perform+poll and
# multi_socket_action), Go net/http (bench/go_client, GOMAXPROCS=1) and wrk
# -t1 (the floor), all against one nginx worker pinned to core 0 serving
# GET /plaintext with `return 200`; each client pinned to core 1, 64
# keep-alive connections with one request in flight each. Rounds
# interleave the contenders; medians of req/s and client CPU µs per request
# (the client's own utime+stime over the measured part / requests: the
# robust figure on a shared machine).
# Then, for ember once warm, per request: malloc calls (valgrind's "total
# heap usage" at two request counts, the difference divided by the extra
# requests: no LD_PRELOAD, and start-up and warm-up cancel out) and
# epoll_ctl calls (strace -f -c, the same difference).
# Then the blocking face: BLOCK_N sequential requests, em_http_get (this
# thread's session, its connection reused), em_http_agent_fetch (pooled)
# and curl_easy_perform on one reused handle; RUNS interleaved rounds.
# Then the command lines: ember-fetch -Z --parallel-max 16 against curl -Z
# --parallel-max 16 over PAR_N URLs (.../plaintext?n=i, each with -o
# /dev/null, both with -sS and curl with --no-progress-meter, which 7.88
# needs to stop drawing its -Z meter under -s), in invocations of
# PAR_BATCH URLs each (all 20,000 fit on one command line); client CPU
# (utime+stime of the children, from python: the difference, as a python3
# wrapper such as pyenv's shim leaves its own children in the count) per
# request, RUNS interleaved
# rounds. Then the client table over TLS: the same nginx worker with a
# self-signed ECDSA certificate made in $tmp (TLS 1.3), ember and libcurl
# multi trusting it (-a: em_tls_ctx ca_file, CURLOPT_CAINFO), keep-alive so
# the CONNS handshakes are amortised.
#   bench/http_client.sh <build dir>      RUNS=3 SECS=5 CONNS=64 BLOCK_N=10000
#                                         PAR_N=20000 PAR_BATCH=20000
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} SECS=${SECS:-5} CONNS=${CONNS:-64} BLOCK_N=${BLOCK_N:-10000}
PAR_N=${PAR_N:-20000} PAR_BATCH=${PAR_BATCH:-20000}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
# shellcheck source=bench/tls_lib.sh
source "$here/tls_lib.sh"

port=$(free_port)
url="http://127.0.0.1:$port/plaintext"
start_nginx "$port" 0 's/keepalive_requests [0-9]*;/keepalive_requests 1000000;/'

contenders="ember curl_perform curl_socket wrk"
[ -x "$build/bench/curl_multi_bench" ] || { echo "(curl_multi_bench not built: libcurl-dev missing)"; contenders="ember wrk"; }
gobin=""
if command -v go >/dev/null; then
  gobin="$tmp/go_client"
  (cd "$here/go_client" && GOPATH="$tmp/gopath" GOCACHE="$tmp/gocache" GO111MODULE=off \
     GOPROXY=off go build -o "$gobin" main.go) && contenders="$contenders go" || gobin=""
fi

# run <name> [URL [CAFILE]] -> "rps cpu_us_per_req" (CAFILE: ember and
# libcurl only)
run() {
  local out u=${2:-$url} ca=()
  [ -n "${3:-}" ] && ca=(-a "$3")
  case $1 in
    ember) out=$(taskset -c 1 "$build/bench/http_client_bench" "${ca[@]}" -c "$CONNS" -d "$SECS" "$u") ;;
    curl_perform) out=$(taskset -c 1 "$build/bench/curl_multi_bench" "${ca[@]}" -m perform -c "$CONNS" -d "$SECS" "$u") ;;
    curl_socket) out=$(taskset -c 1 "$build/bench/curl_multi_bench" "${ca[@]}" -m socket -c "$CONNS" -d "$SECS" "$u") ;;
    go) out=$(GOMAXPROCS=1 taskset -c 1 "$gobin" -c "$CONNS" -d "$SECS" "$url") ;;
    wrk) # wrk prints no CPU: its children's rusage, from python
      out=$(python3 - "$CONNS" "$SECS" "$url" <<'PY'
import re, resource, subprocess, sys
c, d, u = sys.argv[1:]
r0 = resource.getrusage(resource.RUSAGE_CHILDREN)  # a python3 shim's own children
o = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c" + c, "-d" + d + "s", u],
                   capture_output=True, text=True, check=True).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
n = int(re.search(r"(\d+) requests in", o).group(1))
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", o).group(1))
cpu = r.ru_utime + r.ru_stime - r0.ru_utime - r0.ru_stime
print("requests=%d rps=%.0f cpu_us_per_req=%.3f" % (n, rps, cpu * 1e6 / n))
PY
) ;;
  esac
  echo "$(kv "$out" rps) $(kv "$out" cpu_us_per_req)"
}

declare -A rps cpu
for r in $(seq 1 "$RUNS"); do
  for c in $contenders; do
    read -r a b < <(run "$c")
    rps[$c]+="$a " cpu[$c]+="$b "
  done
  echo "round $r done" >&2
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf "%-14s %10s %16s\n" client "req/s" "CPU µs/request"
for c in $contenders; do
  printf "%-14s %10s %16s\n" "$c" "$(med "${rps[$c]}")" "$(med "${cpu[$c]}")"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
e=$(med "${cpu[ember]}") er=$(med "${rps[ember]}")
echo "ratios (medians): CPU/request ember/wrk $(ratio "$e" "$(med "${cpu[wrk]}")")" \
     "(target <= 1.2)"
if [ -n "${cpu[curl_perform]:-}" ]; then
  echo "  ember/libcurl perform $(ratio "$e" "$(med "${cpu[curl_perform]}")")," \
       "ember/libcurl socket_action $(ratio "$e" "$(med "${cpu[curl_socket]}")") (target <= 0.5);" \
       "req/s ember/libcurl perform $(ratio "$er" "$(med "${rps[curl_perform]}")") (target >= 2)"
fi
[ -n "${cpu[go]:-}" ] && echo "  ember/Go $(ratio "$e" "$(med "${cpu[go]}")")"

# Per request once warm: the difference between a short and a longer run
# (same warm-up), divided by the extra requests.
n1=2000 n2=12000
allocs() { # $1 = requests
  valgrind --tool=memcheck "$build/bench/http_client_bench" -c "$CONNS" -w 1000 -n "$1" "$url" 2>&1 |
    awk '/total heap usage/ {gsub(",", ""); print $5}'
}
epctl() {
  strace -f -c -e trace=epoll_ctl "$build/bench/http_client_bench" -c "$CONNS" -w 1000 -n "$1" "$url" 2>&1 |
    awk '$NF == "epoll_ctl" {print $4}'
}
if command -v valgrind >/dev/null; then
  a1=$(allocs $n1) a2=$(allocs $n2)
  echo "ember allocations: $a1 for $n1 requests, $a2 for $n2:" \
       "$(awk -v a="$a1" -v b="$a2" -v n=$((n2 - n1)) 'BEGIN {printf "%.3f", (b - a) / n}') per request warm"
fi
if command -v strace >/dev/null; then
  p1=$(epctl $n1) p2=$(epctl $n2)
  echo "ember epoll_ctl: ${p1:-0} for $n1 requests, ${p2:-0} for $n2:" \
       "$(awk -v a="${p1:-0}" -v b="${p2:-0}" -v n=$((n2 - n1)) 'BEGIN {printf "%.3f", (b - a) / n}') per request warm"
fi

# Req/s is the server's when nginx is the ceiling: against bench/raw_responder
# (one epoll loop writing a canned answer per request head, on the same
# core) the clients run as fast as they can.
if [ -x "$build/bench/raw_responder" ] && [ -x "$build/bench/curl_multi_bench" ]; then
  rr_out=$(mktemp)
  taskset -c 0 "$build/bench/raw_responder" 0 >"$rr_out" &
  rr_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$rr_out" && break; sleep 0.05; done
  rr_url="http://$(sed -n 's/^listening on //p' "$rr_out")/plaintext"
  declare -a er_rps=() lc_rps=()
  for r in $(seq 1 "$RUNS"); do
    o=$(taskset -c 1 "$build/bench/http_client_bench" -c "$CONNS" -w 1000 -d "$SECS" "$rr_url")
    er_rps+=("$(kv "$o" rps)")
    o=$(taskset -c 1 "$build/bench/curl_multi_bench" -c "$CONNS" -w 1000 -d "$SECS" "$rr_url")
    lc_rps+=("$(kv "$o" rps)")
  done
  kill "$rr_pid"; wait "$rr_pid" 2>/dev/null || true; rm -f "$rr_out"
  a=$(med "${er_rps[*]}") b=$(med "${lc_rps[*]}")
  echo "against raw_responder (the server is no ceiling): ember $a req/s, libcurl multi_perform $b:" \
       "$(ratio "$a" "$b")x (target >= 2)"
fi

echo "blocking face, $BLOCK_N sequential requests (medians of $RUNS rounds):"
blk() { # $1 = label, rest = command -> "wall_us_per_req cpu_us_per_req"
  local out; shift
  out=$(taskset -c 1 "$@" "$url")
  echo "$(kv "$out" wall_us_per_req) $(kv "$out" cpu_us_per_req)"
}
blocking="get agent"
[ -x "$build/bench/curl_multi_bench" ] && blocking="$blocking easy"
declare -A bwall bcpu
for r in $(seq 1 "$RUNS"); do
  for k in $blocking; do
    case $k in
      get|agent) read -r a b < <(blk "$k" "$build/bench/http_client_bench" -m "$k" -w 100 -n "$BLOCK_N") ;;
      easy) read -r a b < <(blk "$k" "$build/bench/curl_multi_bench" -m easy -w 100 -n "$BLOCK_N") ;;
    esac
    bwall[$k]+="$a " bcpu[$k]+="$b "
  done
done
declare -A blabel=([get]="em_http_get (thread session)" [agent]="em_http_agent_fetch (pooled)"
                   [easy]="curl_easy_perform (reused)")
printf "%-30s %12s %16s\n" "" "µs/request" "CPU µs/request"
for k in $blocking; do
  printf "%-30s %12s %16s\n" "${blabel[$k]}" "$(med "${bwall[$k]}")" "$(med "${bcpu[$k]}")"
done
if [ -n "${bcpu[easy]:-}" ]; then
  echo "  CPU/request em_http_get/curl_easy $(ratio "$(med "${bcpu[get]}")" "$(med "${bcpu[easy]}")")," \
       "em_http_agent_fetch/curl_easy $(ratio "$(med "${bcpu[agent]}")" "$(med "${bcpu[easy]}")")"
fi

# par <ember|curl> -> "wall_s cpu_us_per_req": PAR_N URLs in invocations
# of PAR_BATCH, 16 transfers at once; a failed transfer fails the script.
fetch=$build/examples/ember-fetch
par() {
  local prog=("$fetch")
  [ "$1" = curl ] && prog=(curl --no-progress-meter)
  local out
  out=$(taskset -c 1 python3 - "$port" "$PAR_N" "$PAR_BATCH" "${prog[@]}" <<'PY'
import resource, subprocess, sys, time
port, n, batch, prog = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
cpu = lambda r: r.ru_utime + r.ru_stime
r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
for lo in range(0, n, batch):
    args = []
    for i in range(lo, min(n, lo + batch)):
        args += ["http://127.0.0.1:%s/plaintext?n=%d" % (port, i), "-o", "/dev/null"]
    subprocess.run(prog + ["-sS", "-Z", "--parallel-max", "16"] + args, check=True)
wall = time.monotonic() - t0
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print("wall_s=%.3f cpu_us_per_req=%.3f" % (wall, (cpu(r) - cpu(r0)) * 1e6 / n))
PY
)
  echo "$(kv "$out" wall_s) $(kv "$out" cpu_us_per_req)"
}
if [ -x "$fetch" ]; then
  declare -A pwall pcpu
  for r in $(seq 1 "$RUNS"); do
    for k in ember curl; do
      read -r a b < <(par "$k")
      pwall[$k]+="$a " pcpu[$k]+="$b "
    done
  done
  echo "command line -Z --parallel-max 16, $PAR_N URLs in invocations of $PAR_BATCH (medians of $RUNS rounds):"
  printf "%-14s %10s %8s %16s\n" "" requests "wall s" "CPU µs/request"
  for k in ember curl; do
    printf "%-14s %10s %8s %16s\n" "${k/ember/ember-fetch}" "$PAR_N" "$(med "${pwall[$k]}")" "$(med "${pcpu[$k]}")"
  done
  echo "  CPU/request ember-fetch/curl $(ratio "$(med "${pcpu[ember]}")" "$(med "${pcpu[curl]}")") (target <= 0.5)"
else
  echo "(ember-fetch not built: examples off)"
fi

# The client table over TLS: a second nginx worker on core 0.
make_cert ec
tport=$(free_port)
start_nginx_tls "$tport" 0 ec tickets
turl="https://127.0.0.1:$tport/plaintext"
tls_contenders="ember"
[ -x "$build/bench/curl_multi_bench" ] && tls_contenders="ember curl_perform curl_socket"
declare -A trps tcpu
for r in $(seq 1 "$RUNS"); do
  for c in $tls_contenders; do
    read -r a b < <(run "$c" "$turl" "$tmp/ec.crt")
    trps[$c]+="$a " tcpu[$c]+="$b "
  done
  echo "TLS round $r done" >&2
done
echo "over TLS (TLS 1.3, ECDSA P-256, $CONNS keep-alive connections; medians of $RUNS rounds):"
printf "%-14s %10s %16s\n" client "req/s" "CPU µs/request"
for c in $tls_contenders; do
  printf "%-14s %10s %16s\n" "$c" "$(med "${trps[$c]}")" "$(med "${tcpu[$c]}")"
done
if [ -n "${tcpu[curl_perform]:-}" ]; then
  e=$(med "${tcpu[ember]}")
  echo "  CPU/request ember/libcurl perform $(ratio "$e" "$(med "${tcpu[curl_perform]}")")," \
       "ember/libcurl socket_action $(ratio "$e" "$(med "${tcpu[curl_socket]}")") (target <= 0.5)"
fi
exit 0
