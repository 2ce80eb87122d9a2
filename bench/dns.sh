#!/usr/bin/env bash
# Name lookups against a fake DNS server on loopback: c-ares on an ember
# loop (bench/dns_bench ember: one loop, cache off, INFLIGHT lookups in
# flight) against glibc's getaddrinfo in a pool of THREADS threads (what
# glibc users do), A only and A+AAAA (EM_DNS_ANY merged / AF_UNSPEC), every
# name distinct. Both ask the same responder (bench/dns_responder).
#
# glibc only asks port 53 of the servers in /etc/resolv.conf, so the whole
# benchmark runs in a network namespace made here: loopback up, the
# responder on 127.0.0.1:53, and /etc/netns/NS/{resolv.conf,nsswitch.conf},
# which `ip netns exec` bind-mounts over /etc's: "nameserver 127.0.0.1"
# with no search list and ndots:1 (every name has dots: one query per
# family), and "hosts: dns", so glibc does not read /etc/hosts on every
# call (the names are not in it; ember reads it once at start; set
# NSS_HOSTS="files dns" to measure the usual setting). The
# machine's own files are never touched; the namespace and its files go
# away on exit. Needs root (skips otherwise).
#
# Responder on core 0, client on core 1; RUNS (3) interleaved runs of N
# (20000) lookups each; medians of lookups/s and client CPU µs per lookup
# (utime + stime of the client process, all its threads). ratio = glibc
# CPU per lookup / ember's (> 1: ember is cheaper).
#   bash bench/dns.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: dns.sh BUILD_DIR}
bench=$build/bench/dns_bench
responder=$build/bench/dns_responder
for b in "$bench" "$responder"; do
    [ -x "$b" ] || { echo "dns.sh: $b not built" >&2; exit 1; }
done
n=${N:-20000}
runs=${RUNS:-3}
inflight=${INFLIGHT:-100}
threads=${THREADS:-4}
nss_hosts=${NSS_HOSTS:-dns} # NSS_HOSTS="files dns": glibc reads /etc/hosts on every call too

ns=ember-dnsb-$$
skip() { echo "DNS benchmark skipped: $*"; exit 0; }
[ "$(id -u)" = 0 ] || skip "network namespaces need root (ip netns add)"
command -v ip >/dev/null || skip "no ip(8) (iproute2)"

tmp=$(mktemp -d)
rpid=""
made_netns_dir=""
cleanup() {
    set +e
    if [ -n "$rpid" ]; then kill "$rpid" 2>/dev/null; wait "$rpid" 2>/dev/null; fi
    ip netns del "$ns" 2>/dev/null
    rm -rf "/etc/netns/$ns"
    if [ -n "$made_netns_dir" ]; then rmdir /etc/netns 2>/dev/null; fi
    rm -rf "$tmp"
    return 0
}
trap cleanup EXIT

[ -d /etc/netns ] || made_netns_dir=1
ip netns add "$ns" 2>"$tmp/err" || skip "cannot create a network namespace: $(cat "$tmp/err")"
mkdir -p "/etc/netns/$ns"
printf 'nameserver 127.0.0.1\noptions ndots:1 timeout:2 attempts:2\n' >"/etc/netns/$ns/resolv.conf"
printf 'hosts: %s\n' "$nss_hosts" >"/etc/netns/$ns/nsswitch.conf"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up

# Not through in_ns: ip and taskset exec, so $! is the responder itself.
ip netns exec "$ns" taskset -c 0 "$responder" 127.0.0.1 53 >"$tmp/responder" &
rpid=$!
for _ in $(seq 1 100); do
    grep -q '^listening' "$tmp/responder" && break
    sleep 0.05
done
grep -q '^listening' "$tmp/responder" || { echo "dns.sh: the responder did not start" >&2; exit 1; }
# The path both take, checked once: the namespace's resolv.conf reaches the responder.
probe=$(in_ns getent ahosts probe.bench.test || true) # ahostsv4 sets AI_ADDRCONFIG: lo does not count
grep -q 192.0.2.1 <<<"$probe" ||
    { echo "dns.sh: glibc does not reach the responder in $ns" >&2; exit 1; }

kv() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k {print $2}'; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# One run: $1 = ember | glibc, $2 = 4 | any, $3 = a tag unique to the run.
run_one() {
    if [ "$1" = ember ]; then
        in_ns taskset -c 1 "$bench" ember 127.0.0.1:53 "$2" "$n" "$inflight" "$3"
    else
        in_ns taskset -c 1 "$bench" gai "$2" "$n" "$threads" "$3"
    fi
}

for r in $(seq 1 "$runs"); do
    for fam in 4 any; do
        for who in ember glibc; do # interleaved: a noisy moment hits both
            out=$(run_one "$who" "$fam" "r$r$who$fam$$")
            echo "$who $fam $(kv "$out" lookups_per_s) $(kv "$out" cpu_us_per_lookup)" >>"$tmp/runs"
        done
    done
done

echo "client: 1 core (1); responder: core 0; $runs runs of $n lookups, medians;"
echo "ember: one loop, $inflight in flight, cache off; glibc: getaddrinfo in $threads threads;"
echo "glibc: nsswitch 'hosts: $nss_hosts' in the namespace (names are not in /etc/hosts; ember read it once)"
printf '%-10s %-7s %12s %12s %9s\n' query client lookups_per_s cpu_us_per_lk cpu_ratio
for fam in 4 any; do
    label=A; [ "$fam" = any ] && label=A+AAAA
    for who in ember glibc; do
        lps=$(awk -v w="$who" -v f="$fam" '$1 == w && $2 == f {print $3}' "$tmp/runs" | median)
        cpu=$(awk -v w="$who" -v f="$fam" '$1 == w && $2 == f {print $4}' "$tmp/runs" | median)
        eval "cpu_$who=$cpu"
        ratio=""
        [ "$who" = glibc ] && ratio=$(awk -v a="$cpu" -v b="$cpu_ember" 'BEGIN { printf "%.2f", a / b }')
        printf '%-10s %-7s %12s %12s %9s\n' "$label" "$who" "$lps" "$cpu" "$ratio"
    done
done
