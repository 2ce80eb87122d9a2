/* Fuzz net/ip.c and net/sockaddr.c: whatever parses must format and parse
 * back to the same value, and without zones the parsers must accept exactly
 * what glibc's inet_pton accepts, with the same bytes and (for IPv6) the
 * same text out as inet_ntop. Any disagreement aborts. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/net.h"
#include "fuzz.h"

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "net_addr: %s\n", what);
        abort();
    }
}

static void ip_roundtrip(const em_ip *ip) {
    char buf[EM_IP_STRLEN];
    ssize_t n = em_ip_format(ip, buf, sizeof buf);
    check(n > 0 && (size_t)n == strlen(buf), "em_ip_format failed");
    em_ip back;
    check(em_ip_parse(&back, buf, (size_t)n) == 0, "formatted ip does not parse");
    check(em_ip_equal(ip, &back), "ip round-trip changed the value");
    char again[EM_IP_STRLEN];
    check(em_ip_format(&back, again, sizeof again) == n && strcmp(buf, again) == 0,
          "ip format is not canonical");
    /* Too small a buffer is refused, never truncated. */
    check(em_ip_format(ip, again, (size_t)n) == EM_ENOSPC, "short buffer accepted");
    (void)em_ip_classify(ip);
    em_ip u = em_ip_unmap(ip);
    check(u.family == (em_ip_is_v4_mapped(ip) ? EM_IP_V4 : ip->family), "unmap family");
}

static void sockaddr_roundtrip(const em_sockaddr *sa) {
    char buf[EM_SOCKADDR_STRLEN];
    ssize_t n = em_sockaddr_format(sa, buf, sizeof buf);
    check(n > 0 && (size_t)n == strlen(buf), "em_sockaddr_format failed");
    em_sockaddr back;
    check(em_sockaddr_parse(&back, buf, (size_t)n) == 0, "formatted sockaddr does not parse");
    check(em_sockaddr_equal(sa, &back), "sockaddr round-trip changed the value");
    em_sockaddr sys;
    check(em_sockaddr_from_sys(&sys, &sa->u.sa, em_sockaddr_len(sa)) == 0, "from_sys");
    check(em_sockaddr_equal(sa, &sys), "from_sys changed the value");
}

/* inet_pton wants a C string: only inputs without NUL or '%' compare. */
static void cross_check(const uint8_t *data, size_t size) {
    char s[128];
    if (size >= sizeof s || memchr(data, '\0', size) || memchr(data, '%', size))
        return;
    memcpy(s, data, size);
    s[size] = '\0';

    uint8_t want[16];
    em_ip ip;
    int sys4 = inet_pton(AF_INET, s, want);
    int em4 = em_ip4_parse(&ip, s, size);
    check((sys4 == 1) == (em4 == 0), "em_ip4_parse disagrees with inet_pton");
    if (em4 == 0)
        check(memcmp(ip.bytes, want, 4) == 0, "v4 bytes differ from inet_pton");

    int sys6 = inet_pton(AF_INET6, s, want);
    int em6 = em_ip6_parse(&ip, s, size);
    check((sys6 == 1) == (em6 == 0), "em_ip6_parse disagrees with inet_pton");
    if (em6 == 0) {
        check(memcmp(ip.bytes, want, 16) == 0, "v6 bytes differ from inet_pton");
        char ours[EM_IP_STRLEN], theirs[INET6_ADDRSTRLEN];
        check(em_ip_format(&ip, ours, sizeof ours) > 0, "v6 format");
        check(inet_ntop(AF_INET6, want, theirs, sizeof theirs) != NULL, "inet_ntop");
        check(strcmp(ours, theirs) == 0, "v6 text differs from inet_ntop");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    em_ip ip;
    if (em_ip_parse(&ip, s, size) == 0)
        ip_roundtrip(&ip);
    if (em_ip4_parse(&ip, s, size) == 0) {
        check(ip.family == EM_IP_V4, "v4 family");
        ip_roundtrip(&ip);
    }
    if (em_ip6_parse(&ip, s, size) == 0) {
        check(ip.family == EM_IP_V6, "v6 family");
        ip_roundtrip(&ip);
    }
    em_sockaddr sa;
    if (em_sockaddr_parse(&sa, s, size) == 0)
        sockaddr_roundtrip(&sa);
    cross_check(data, size);
    return 0;
}
