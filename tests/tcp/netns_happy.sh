#!/usr/bin/env bash
# Happy Eyeballs in a network namespace of our own: runs the namespace
# group of tcp_test_connect_host (EMBER_HE_NETNS=1) inside it.
#   netns_happy.sh TEST_BINARY
# The namespace's loopback carries the test addresses; SYNs to
# 2001:db8:0:66::/64, fd00:66::/64 (a ULA) and 192.0.2.64/27 are dropped
# (black holes), to
# 2001:db8:0:77::1 and 192.0.2.97 refuse (nothing listens there: the
# test listens on 2001:db8::1 and 192.0.2.1 only), and 2001:db8:dead::/48
# has no route. The fake DNS server of the test runs on
# the namespace's 127.0.0.1. Nothing leaves the namespace; it is deleted
# on every exit. Exit 77 (skip) where namespaces cannot be made.
set -euo pipefail
bin=$1
skip() { echo "SKIP: $*" >&2; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root to create a network namespace (CI runs as root)"
command -v ip >/dev/null || skip "ip (iproute2) not installed: scripts/install-deps.sh build"
command -v iptables >/dev/null && command -v ip6tables >/dev/null ||
  skip "iptables/ip6tables not installed: scripts/install-deps.sh build"

ns="ember-he-$$"
ip netns add "$ns" 2>/dev/null || skip "ip netns add failed (no CAP_SYS_ADMIN or no netns support)"
trap 'ip netns del "$ns" 2>/dev/null || true' EXIT INT TERM
in_ns() { ip netns exec "$ns" "$@"; }

in_ns ip link set lo up
for a in 192.0.2.1 192.0.2.65 192.0.2.66 192.0.2.67 192.0.2.97; do
  in_ns ip addr add "$a/32" dev lo
done
for a in 2001:db8::1 2001:db8:0:66::1 2001:db8:0:66::2 2001:db8:0:66::3 2001:db8:0:77::1 \
         fd00:66::1; do
  in_ns ip addr add "$a/128" dev lo nodad
done
in_ns ip6tables -w 10 -A INPUT -p tcp --syn -d 2001:db8:0:66::/64 -j DROP ||
  skip "ip6tables does not work in the namespace (no nf_tables/ip6_tables in the kernel?)"
in_ns ip6tables -w 10 -A INPUT -p tcp --syn -d fd00:66::/64 -j DROP
in_ns iptables -w 10 -A INPUT -p tcp --syn -d 192.0.2.64/27 -j DROP

# No route for 2001:db8:dead::/48: connect fails at once (ENETUNREACH).
if in_ns ip -6 route get 2001:db8:dead::1 >/dev/null 2>&1; then
  echo "netns_happy: 2001:db8:dead::1 is routed in the namespace" >&2
  exit 1
fi

in_ns env EMBER_HE_NETNS=1 "$bin"
