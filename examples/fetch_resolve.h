/* ember-fetch --resolve HOST:PORT:ADDR[,ADDR]...: the client has no hook of
 * its own for this, so the entries become a hosts file for the client's
 * resolver (em_dns_resolver_opts.hosts_file, read once when the client is
 * made): the entries whose HOST:PORT a URL on the command line names, then
 * the lines of the usual hosts file without the names they take over. The
 * client still connects to HOST by name, so Host, SNI and the certificate
 * check stay HOST's. Unlike curl, an entry then serves HOST on every port
 * (a redirect to another port of HOST goes to ADDR too), and one with IPv6
 * addresses only leaves HOST's A query to DNS. Included once, by
 * ember-fetch.c. */
#ifndef EMBER_FETCH_RESOLVE_H
#define EMBER_FETCH_RESOLVE_H

#include <strings.h>
#include <unistd.h>

/* Split spec; true when it is HOST:PORT:ADDR[,ADDR]... with a host name
 * ("+" before it, curl's "time the entry out", is taken and ignored), a
 * port of 1-65535 and IP addresses ("[...]" around IPv6 ones allowed).
 * host (cap bytes; may be NULL) gets HOST, *port PORT and *addrs the
 * addresses' text. */
static bool resolve_entry(const char *spec, char *host, size_t cap, unsigned *port,
                          const char **addrs) {
    if (*spec == '+')
        spec++;
    const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    if (!c2 || c1 == spec || em_dns_name_check(spec, (size_t)(c1 - spec)) != 0)
        return false;
    char *end;
    long p = strtol(c1 + 1, &end, 10);
    if (end != c2 || p < 1 || p > 65535)
        return false;
    for (const char *a = c2 + 1;;) {
        size_t n = strcspn(a, ",");
        em_ip ip;
        const char *s = a;
        size_t sl = n;
        if (n > 2 && s[0] == '[' && s[n - 1] == ']')
            s++, sl -= 2;
        if (!n || em_ip_parse(&ip, s, sl) != 0)
            return false;
        if (!a[n])
            break;
        a += n + 1;
    }
    if (host) {
        if ((size_t)(c1 - spec) >= cap)
            return false;
        memcpy(host, spec, (size_t)(c1 - spec));
        host[c1 - spec] = 0;
    }
    if (port)
        *port = (unsigned)p;
    if (addrs)
        *addrs = c2 + 1;
    return true;
}

/* Does an entry that applies (its port among ports) name host? */
static bool resolve_takes(const fopts *o, const unsigned *ports, size_t nports, const char *host) {
    for (size_t i = 0; i < o->nresolve; i++) {
        char h[EM_DNS_NAME_MAX + 2];
        unsigned port;
        if (!resolve_entry(o->resolve[i], h, sizeof h, &port, NULL) || strcasecmp(h, host))
            continue;
        for (size_t k = 0; k < nports; k++)
            if (ports[k] == port)
                return true;
    }
    return false;
}

/* Write the hosts file to a new temporary file, its name in path (cap
 * bytes): ports are those of the URLs, base the hosts file it stands in
 * for (NULL: /etc/hosts; "": none). Returns 0, 1 when no entry applies
 * (no file made), or -1 with errno. */
static int resolve_hosts(const fopts *o, const unsigned *ports, size_t nports, const char *base,
                         char *path, size_t cap) {
    size_t used = 0;
    for (size_t i = 0; i < o->nresolve; i++) {
        char h[EM_DNS_NAME_MAX + 2];
        const char *addrs;
        unsigned port;
        for (size_t k = 0; resolve_entry(o->resolve[i], h, sizeof h, &port, &addrs) && k < nports;
             k++)
            used += ports[k] == port;
    }
    if (!used)
        return 1;
    const char *tmp = getenv("TMPDIR");
    snprintf(path, cap, "%s/ember-fetch-hosts-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        return -1;
    }
    for (size_t i = 0; i < o->nresolve; i++) {
        char h[EM_DNS_NAME_MAX + 2];
        const char *addrs;
        unsigned port;
        if (!resolve_entry(o->resolve[i], h, sizeof h, &port, &addrs))
            continue;
        bool applies = false;
        for (size_t k = 0; k < nports; k++)
            applies |= ports[k] == port;
        bool v6 = strchr(addrs, ':') != NULL;
        for (const char *a = addrs; applies && *a;) {
            size_t n = strcspn(a, ",");
            bool br = a[0] == '[';
            fprintf(f, "%.*s %s\n", (int)(n - 2 * br), a + br, h);
            /* IPv4 only: its IPv4-mapped form answers AAAA from the table
             * too, so no DNS server is asked about HOST (the table answers
             * each family on its own) and -6 still reaches ADDR, as in curl */
            if (!v6)
                fprintf(f, "::ffff:%.*s %s\n", (int)n, a, h);
            a += n + (a[n] == ',');
        }
    }
    FILE *in = base && !*base ? NULL : fopen(base ? base : "/etc/hosts", "r");
    char *line = NULL;
    size_t lcap = 0;
    while (in && getline(&line, &lcap, in) >= 0) {
        line[strcspn(line, "#")] = 0;
        char *save = NULL, *tok = strtok_r(line, " \t\r\n", &save);
        bool first = true;
        const char *addr = tok;
        while (tok && (tok = strtok_r(NULL, " \t\r\n", &save)))
            if (!resolve_takes(o, ports, nports, tok)) {
                if (first)
                    fputs(addr, f);
                fprintf(f, " %s", tok);
                first = false;
            }
        if (!first)
            fputc('\n', f);
    }
    free(line);
    if (in)
        fclose(in);
    if (fclose(f) != 0) {
        int e = errno;
        unlink(path);
        errno = e;
        return -1;
    }
    return 0;
}

#endif
