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
# Then the blocking face: BLOCK_N sequential requests, em_http_get (a
# private loop and client per call, no reuse), em_http_agent_fetch (pooled)
# and curl_easy_perform on one reused handle.
#   bench/http_client.sh <build dir>      RUNS=3 SECS=5 CONNS=64 BLOCK_N=10000
set -euo pipefail
build=${1:-build-bench}
here=$(cd "$(dirname "$0")" && pwd)
RUNS=${RUNS:-3} SECS=${SECS:-5} CONNS=${CONNS:-64} BLOCK_N=${BLOCK_N:-10000}
# shellcheck source=bench/lib.sh
source "$here/lib.sh"

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

# run <name> -> "rps cpu_us_per_req"
run() {
  local out
  case $1 in
    ember) out=$(taskset -c 1 "$build/bench/http_client_bench" -c "$CONNS" -d "$SECS" "$url") ;;
    curl_perform) out=$(taskset -c 1 "$build/bench/curl_multi_bench" -m perform -c "$CONNS" -d "$SECS" "$url") ;;
    curl_socket) out=$(taskset -c 1 "$build/bench/curl_multi_bench" -m socket -c "$CONNS" -d "$SECS" "$url") ;;
    go) out=$(GOMAXPROCS=1 taskset -c 1 "$gobin" -c "$CONNS" -d "$SECS" "$url") ;;
    wrk) # wrk prints no CPU: its children's rusage, from python
      out=$(python3 - "$CONNS" "$SECS" "$url" <<'PY'
import re, resource, subprocess, sys
c, d, u = sys.argv[1:]
o = subprocess.run(["taskset", "-c", "1", "wrk", "-t1", "-c" + c, "-d" + d + "s", u],
                   capture_output=True, text=True, check=True).stdout
r = resource.getrusage(resource.RUSAGE_CHILDREN)
n = int(re.search(r"(\d+) requests in", o).group(1))
rps = float(re.search(r"Requests/sec:\s*([\d.]+)", o).group(1))
print("requests=%d rps=%.0f cpu_us_per_req=%.3f" % (n, rps, (r.ru_utime + r.ru_stime) * 1e6 / n))
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

echo "blocking face, $BLOCK_N sequential requests (one round):"
printf "%-30s %12s %16s\n" "" "µs/request" "CPU µs/request"
blk() { # $1 = label, rest = command
  local label=$1 out; shift
  out=$(taskset -c 1 "$@" "$url")
  printf "%-30s %12s %16s\n" "$label" "$(kv "$out" wall_us_per_req)" "$(kv "$out" cpu_us_per_req)"
}
blk "em_http_get (thread session)" "$build/bench/http_client_bench" -m get -w 100 -n "$BLOCK_N"
blk "em_http_agent_fetch (pooled)" "$build/bench/http_client_bench" -m agent -w 100 -n "$BLOCK_N"
[ -x "$build/bench/curl_multi_bench" ] &&
  blk "curl_easy_perform (reused)" "$build/bench/curl_multi_bench" -m easy -w 100 -n "$BLOCK_N"
exit 0
