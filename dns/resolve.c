/* The blocking face: one lookup on a private loop with its own resolver,
 * the same code as the async face. */
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

typedef struct blocking {
    em_dns_resolver r;
    em_dns_lookup l;
    em_dns_result *out;
    int status;
} blocking;

static void on_answer(em_dns_lookup *l, int status, const em_dns_result *res) {
    blocking *b = l->data;
    b->status = status;
    if (status == 0)
        b->status = em__dns_result_set(b->out, res->addrs, res->count, res->family,
                                       res->source, res->ttl);
    em_dns_resolver_close(&b->r, NULL);
}

int em_dns_resolve(const char *host, em_dns_family family, const em_dns_resolver_opts *opts,
                   em_dns_result *res) {
    memset(res, 0, sizeof *res);
    em_loop loop;
    int rc = em_loop_init(&loop);
    if (rc)
        return rc;
    blocking b;
    memset(&b, 0, sizeof b);
    b.out = res;
    b.l.data = &b;
    rc = em_dns_resolver_init(&loop, &b.r, opts);
    if (rc == 0) {
        em_dns_lookup_opts lo = { .family = family };
        rc = em_dns_lookup_start(&b.r, &b.l, host, &lo, on_answer);
        if (rc)
            em_dns_resolver_close(&b.r, NULL);
        int run = em_loop_run(&loop, EM_RUN_DEFAULT); /* until the resolver closed */
        if (rc == 0)
            rc = run ? run : b.status;
    }
    if (em_loop_close(&loop) != 0 && rc == 0)
        rc = EM_EBUSY;
    if (rc)
        em_dns_result_free(res);
    return rc;
}
