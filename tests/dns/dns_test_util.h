/* Shared by the dns tests: a resolver pointed only at the fake server,
 * with an empty hosts file and an empty resolv.conf, so nothing reaches
 * the machine's own resolver. */
#ifndef DNS_TEST_UTIL_H
#define DNS_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "em_test.h"
#include "ember/dns.h"
#include "fake_dns.h"

typedef struct dns_env {
    char dir[64];
    char hosts[96];
    char resolv[96];
} dns_env;

/* Write file path with text (may be ""). */
static inline void dns_write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* A temp dir with an empty hosts file and a resolv.conf holding
 * resolv_text (NULL: empty), and opts pointing at fake's servers. */
static inline void dns_env_init(dns_env *e, const char *resolv_text, const fake_dns *fake,
                                em_dns_resolver_opts *opts) {
    snprintf(e->dir, sizeof e->dir, "/tmp/ember-dns-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->hosts, sizeof e->hosts, "%s/hosts", e->dir);
    snprintf(e->resolv, sizeof e->resolv, "%s/resolv.conf", e->dir);
    dns_write_file(e->hosts, "");
    dns_write_file(e->resolv, resolv_text ? resolv_text : "");
    memset(opts, 0, sizeof *opts);
    opts->servers = fake ? fake_dns_servers(fake) : "127.0.0.1:9"; /* discard: never a real resolver */
    opts->hosts_file = e->hosts;
    opts->resolv_conf = e->resolv;
    opts->timeout_ms = 500;
    opts->tries = 3;
}

static inline void dns_env_free(dns_env *e) {
    unlink(e->hosts);
    unlink(e->resolv);
    rmdir(e->dir);
}

/* Does res hold the address text? */
static inline bool dns_has(const em_dns_result *res, const char *text) {
    em_ip want;
    if (em_ip_parse(&want, text, strlen(text)) != 0)
        return false;
    for (size_t i = 0; i < res->count; i++)
        if (em_ip_equal(&res->addrs[i], &want))
            return true;
    return false;
}

#endif
