/* Look several names up at once on one loop, and print "NAME ADDRESS"
 * lines as the answers come (IPv4 and IPv6 each as soon as it arrives).
 *
 *   resolve NAME...       e.g. resolve example.org localhost ::1
 *   resolve [--selftest]  local names only (localhost and literals): no
 *                         query leaves the machine
 * Exit 0 when every name has at least one address, else 1.
 */
#include "example.h"

typedef struct app {
    em_loop loop;
    em_dns_resolver resolver;
    unsigned pending; /* lookups still running */
    int failed;       /* names without any address */
} app;

typedef struct query {
    em_dns_lookup lookup; /* zeroed before the start */
    const char *name;
    unsigned found;
    int status; /* the last error, for the report */
} query;

/* Called once per family (each_family): A and AAAA answer separately. */
static void on_answer(em_dns_lookup *l, int status, const em_dns_result *res) {
    query *q = EM_CONTAINER_OF(l, query, lookup);
    app *a = l->data;
    for (size_t i = 0; i < res->count; i++) { /* none when status != 0 */
        char text[EM_IP_STRLEN];
        if (em_ip_format(&res->addrs[i], text, sizeof text) > 0)
            printf("%s %s\n", q->name, text);
    }
    fflush(stdout);
    q->found += (unsigned)res->count;
    if (status)
        q->status = status; /* a name with only A has no AAAA: not yet a failure */
    if (em_dns_lookup_active(l))
        return; /* the other family is still on its way */
    if (!q->found) {
        fprintf(stderr, "resolve: %s: %s\n", q->name, em_strerror(q->status));
        a->failed++;
    }
    if (--a->pending == 0)
        em_dns_resolver_close(&a->resolver, NULL); /* then the loop runs dry */
}

int main(int argc, char **argv) {
    static const char *const local_names[] = { "localhost", "ember.localhost", "127.0.0.1",
                                               "::1", "[::1]" };
    const char *const *names = (const char *const *)argv + 1;
    int n = argc - 1;
    /* Servers from resolv.conf and /etc/hosts, as every program on the host
     * resolves; the self-test points the resolver nowhere (discard port,
     * no hosts file) so that nothing but local names could answer. */
    const em_dns_resolver_opts *ropts = NULL;
    static const em_dns_resolver_opts nowhere = { .servers = "127.0.0.1:9", .hosts_file = "",
                                                  .resolv_conf = "/dev/null", .tries = 1 };
    if (n == 0 || (n == 1 && !strcmp(argv[1], "--selftest"))) {
        names = local_names;
        n = (int)(sizeof local_names / sizeof local_names[0]);
        ropts = &nowhere;
    } else if (argv[1][0] == '-') {
        fprintf(stderr, "usage: resolve [--selftest] [NAME...]\n");
        return 2;
    }

    app a = { 0 };
    int rc = em_loop_init(&a.loop);
    if (rc == 0)
        rc = em_dns_resolver_init(&a.loop, &a.resolver, ropts);
    query *qs = rc ? NULL : calloc((size_t)n, sizeof *qs);
    if (!qs) { /* the process ends: nothing to close */
        fprintf(stderr, "resolve: %s\n", em_strerror(rc ? rc : EM_ENOMEM));
        return 1;
    }

    /* Every lookup starts now; they run side by side. */
    em_dns_lookup_opts lo = { .family = EM_DNS_ANY, .each_family = true, .timeout_ms = 10000 };
    for (int i = 0; i < n; i++) {
        qs[i].name = names[i];
        qs[i].lookup.data = &a;
        rc = em_dns_lookup_start(&a.resolver, &qs[i].lookup, names[i], &lo, on_answer);
        if (rc) {
            fprintf(stderr, "resolve: %s: %s\n", names[i], em_strerror(rc));
            a.failed++;
        } else {
            a.pending++;
        }
    }
    if (a.pending == 0)
        em_dns_resolver_close(&a.resolver, NULL);
    em_loop_run(&a.loop, EM_RUN_DEFAULT);
    free(qs);
    if (em_loop_close(&a.loop) != 0)
        return 1;
    return a.failed ? 1 : 0;
}
