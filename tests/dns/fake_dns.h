/* A scripted DNS server for the dns tests: UDP and TCP on one 127.0.0.1
 * port, served by its own thread, so no test ever asks a real resolver.
 * Names not in the script get NXDOMAIN. */
#ifndef FAKE_DNS_H
#define FAKE_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct fake_dns_rule {
    const char *name;   /* no trailing dot; "*.x.test" answers every name under x.test */
    int rcode;          /* 0 NOERROR (no records of a type: NODATA), 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED */
    const char *a;      /* "192.0.2.1,192.0.2.2" or NULL */
    const char *aaaa;   /* "2001:db8::1" or NULL */
    const char *cname;  /* answer with a CNAME to this name, then its records */
    uint32_t ttl;       /* seconds; 0 means 300 */
    unsigned a_delay_ms, aaaa_delay_ms; /* answer this late (UDP) */
    bool silent;        /* never answer */
    bool tc;            /* UDP answers are truncated (TC set): forces TCP */
} fake_dns_rule;

typedef struct fake_dns fake_dns;

/* Start serving rules (kept by pointer: they must outlive the server).
 * NULL on failure. */
fake_dns *fake_dns_start(const fake_dns_rule *rules, size_t n);
/* "127.0.0.1:PORT", for em_dns_resolver_opts.servers. */
const char *fake_dns_servers(const fake_dns *f);
/* Queries seen for name (NULL: any name) and type (1 A, 28 AAAA, 0 any),
 * over UDP and TCP. */
unsigned fake_dns_queries(fake_dns *f, const char *name, int qtype);
/* Queries that came over TCP. */
unsigned fake_dns_tcp_queries(fake_dns *f);
void fake_dns_stop(fake_dns *f);

#endif
