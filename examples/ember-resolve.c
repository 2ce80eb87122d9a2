/* ember-resolve [--server ADDR:PORT] [--family 4|6|any] [--timeout MS] NAME...
 *
 * Looks every NAME up at once on one loop and prints one line per address,
 * "NAME ADDRESS", in the order given. Exit 0 when every name resolved, 1
 * when any did not (with "ember-resolve: NAME: not found" on stderr), 2 on
 * a usage error. --selftest checks the command without any network: IP
 * literals, localhost, a bad name, and a local server that never answers.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ember.h"

/* The man page's synopsis (man/ember-resolve.1): --help prints it whole. */
static const char usage[] =
    "usage: ember-resolve [--server ADDR:PORT] [--family 4|6|any] [--timeout MS] NAME...\n"
    "       ember-resolve -h | --help\n"
    "       ember-resolve --selftest";

typedef struct job {
    em_dns_lookup l;
    const char *name;
    int status;
    em_dns_result res; /* a copy */
    bool done;
} job;

typedef struct run {
    em_dns_resolver_opts ropts;
    em_dns_family family;
    unsigned timeout_ms;
    unsigned pending;
} run;

static void on_answer(em_dns_lookup *l, int status, const em_dns_result *res) {
    job *j = EM_CONTAINER_OF(l, job, l);
    run *r = l->data;
    j->status = status;
    j->done = true;
    if (status == 0) {
        j->res = *res;
        j->res.addrs = malloc(res->count * sizeof *res->addrs);
        if (j->res.addrs)
            memcpy(j->res.addrs, res->addrs, res->count * sizeof *res->addrs);
        else
            j->status = EM_ENOMEM;
    }
    r->pending--;
}

/* Resolve names, print to out and err; the exit status. */
static int resolve_all(run *r, const char *const *names, int n, FILE *out, FILE *err) {
    em_loop loop;
    em_dns_resolver res;
    if (em_loop_init(&loop) != 0)
        return 1;
    int rc = em_dns_resolver_init(&loop, &res, &r->ropts);
    if (rc) {
        fprintf(err, "ember-resolve: %s\n", em_strerror(rc));
        if (em_loop_close(&loop) != 0)
            return 1;
        return rc == EM_EINVAL ? 2 : 1;
    }
    job *jobs = calloc((size_t)n, sizeof *jobs);
    if (!jobs)
        return 1;
    em_dns_lookup_opts lo = { .family = r->family, .timeout_ms = r->timeout_ms };
    for (int i = 0; i < n; i++) {
        jobs[i].name = names[i];
        jobs[i].l.data = r;
        jobs[i].status = em_dns_lookup_start(&res, &jobs[i].l, names[i], &lo, on_answer);
        if (jobs[i].status == 0)
            r->pending++;
    }
    while (r->pending)
        em_loop_run(&loop, EM_RUN_ONCE);
    em_dns_resolver_close(&res, NULL);
    em_loop_run(&loop, EM_RUN_DEFAULT);
    int status = em_loop_close(&loop) == 0 ? 0 : 1;
    for (int i = 0; i < n; i++) {
        job *j = &jobs[i];
        if (j->status) {
            fprintf(err, "ember-resolve: %s: %s\n", j->name,
                    j->status == EM_ENOTFOUND ? "not found" : em_strerror(j->status));
            status = 1;
            continue;
        }
        for (size_t k = 0; k < j->res.count; k++) {
            char text[EM_IP_STRLEN];
            if (em_ip_format(&j->res.addrs[k], text, sizeof text) > 0)
                fprintf(out, "%s %s\n", j->name, text);
        }
        em_dns_result_free(&j->res);
    }
    free(jobs);
    return status;
}

static int expect(const char *what, bool ok) {
    if (!ok)
        fprintf(stderr, "ember-resolve: selftest: %s\n", what);
    return ok ? 0 : 1;
}

/* No network: a server on 127.0.0.1 that this process binds and never
 * answers stands in for DNS. */
static int selftest(void) {
    int silent = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    em_sockaddr sa = em_sockaddr_loopback4(0);
    if (silent < 0 || bind(silent, &sa.u.sa, em_sockaddr_len(&sa)) != 0 ||
        em_sock_local_addr(silent, &sa) != 0)
        return 1;
    char server[EM_SOCKADDR_STRLEN];
    if (em_sockaddr_format(&sa, server, sizeof server) < 0)
        return 1;
    run r = { .ropts = { .servers = server, .hosts_file = "", .resolv_conf = "/dev/null",
                         .timeout_ms = 100, .tries = 1 },
              .family = EM_DNS_ANY, .timeout_ms = 300 };
    char *text = NULL, *errs = NULL;
    size_t len = 0, elen = 0;
    FILE *out = open_memstream(&text, &len), *err = open_memstream(&errs, &elen);
    if (!out || !err)
        return 1;
    static const char *const good[] = { "192.0.2.1", "[::1]", "localhost" };
    int fails = expect("literals and localhost", resolve_all(&r, good, 3, out, err) == 0);
    static const char *const bad[] = { "bad name", "silent.example" };
    fails += expect("bad names fail", resolve_all(&r, bad, 2, out, err) == 1);
    fclose(out);
    fclose(err);
    fails += expect("output", strcmp(text, "192.0.2.1 192.0.2.1\n[::1] ::1\n"
                                           "localhost ::1\nlocalhost 127.0.0.1\n") == 0 ||
                                  strcmp(text, "192.0.2.1 192.0.2.1\n[::1] ::1\n"
                                               "localhost 127.0.0.1\nlocalhost ::1\n") == 0);
    fails += expect("errors", strstr(errs, "ember-resolve: bad name: invalid argument\n") &&
                                  strstr(errs, "ember-resolve: silent.example: operation timed out\n"));
    if (fails)
        fprintf(stderr, "--- stdout\n%s--- stderr\n%s", text, errs);
    free(text);
    free(errs);
    close(silent);
    return fails ? 1 : 0;
}

static unsigned number(const char *v) {
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    if (*v < '0' || *v > '9' || *end || n > 600000) {
        fprintf(stderr, "ember-resolve: --timeout wants milliseconds, got '%s' (see --help)\n", v);
        exit(2);
    }
    return (unsigned)n;
}

int main(int argc, char **argv) {
    run r = { .family = EM_DNS_ANY };
    /* Every argument starting with '-' is an option, before or among the
     * names, until "--"; names are gathered in argv's front. No host name
     * starts with '-' (RFC 1123 §2.1), so none is lost. */
    int names = 0;
    bool opts_done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (opts_done || a[0] != '-') {
            argv[1 + names++] = argv[i];
            continue;
        }
        if (!strcmp(a, "--")) {
            opts_done = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("%s\n", usage);
            return 0;
        }
        if (!strcmp(a, "--selftest"))
            return selftest();
        if (strcmp(a, "--server") && strcmp(a, "--timeout") && strcmp(a, "--family")) {
            fprintf(stderr, "ember-resolve: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "ember-resolve: %s wants a value (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "--server"))
            r.ropts.servers = v;
        else if (!strcmp(a, "--timeout"))
            r.timeout_ms = number(v);
        else if (!strcmp(v, "4") || !strcmp(v, "6") || !strcmp(v, "any"))
            r.family = !strcmp(v, "4") ? EM_DNS_V4 : !strcmp(v, "6") ? EM_DNS_V6 : EM_DNS_ANY;
        else {
            fprintf(stderr, "ember-resolve: --family wants 4, 6 or any, got '%s' (see --help)\n", v);
            return 2;
        }
        i++;
    }
    if (names == 0) {
        fprintf(stderr, "%s\n", usage);
        return 2;
    }
    return resolve_all(&r, (const char *const *)argv + 1, names, stdout, stderr);
}
