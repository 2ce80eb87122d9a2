/* The hosts file, read once per resolver. c-ares 1.18 takes no hosts path
 * (only $CARES_HOSTS, process-wide), so the resolver reads the file here
 * and c-ares only asks DNS ("b" lookups). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns_internal.h"

typedef struct host_entry {
    em_ip ip;
    char name[EM_DNS_NAME_MAX + 1]; /* a key: lower case, no trailing dot */
} host_entry;

struct em__dns_hosts {
    host_entry *v;
    size_t n, cap;
};

static int add(struct em__dns_hosts *h, const em_ip *ip, const char *name, size_t len) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? h->cap * 2 : 16;
        host_entry *v = realloc(h->v, cap * sizeof *v);
        if (!v)
            return EM_ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n].ip = *ip;
    em__dns_name_key(name, len, h->v[h->n].name);
    h->n++;
    return 0;
}

/* "ADDRESS NAME [ALIAS...] [# comment]"; lines that do not parse, and names
 * that fail the name check, are skipped as glibc and c-ares skip them. */
static int parse_line(struct em__dns_hosts *h, char *line) {
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    static const char ws[] = " \t\r\n";
    char *save = NULL;
    char *tok = strtok_r(line, ws, &save);
    em_ip ip;
    if (!tok || em_ip_parse(&ip, tok, strlen(tok)) != 0)
        return 0;
    while ((tok = strtok_r(NULL, ws, &save)) != NULL) {
        size_t len = strlen(tok);
        if (em_dns_name_check(tok, len) == 0) {
            int rc = add(h, &ip, tok, len);
            if (rc)
                return rc;
        }
    }
    return 0;
}

int em__dns_hosts_load(struct em__dns_hosts **out, const char *path) {
    struct em__dns_hosts *h = calloc(1, sizeof *h);
    if (!h)
        return EM_ENOMEM;
    *out = h;
    if (!path || !*path)
        return 0;
    FILE *f = fopen(path, "re");
    if (!f) {
        int e = errno;
        return e == ENOENT ? 0 : em_err_from_errno(e);
    }
    char *line = NULL;
    size_t cap = 0;
    int rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0)
        rc = parse_line(h, line);
    if (rc == 0 && ferror(f))
        rc = EM_EIO;
    free(line);
    fclose(f);
    return rc;
}

void em__dns_hosts_free(struct em__dns_hosts *h) {
    if (!h)
        return;
    free(h->v);
    free(h);
}

int em__dns_hosts_find(const struct em__dns_hosts *h, const char *key, int family,
                       em_dns_result *res) {
    memset(res, 0, sizeof *res);
    size_t n = 0;
    for (size_t i = 0; h && i < h->n; i++)
        n += h->v[i].ip.family == family && strcmp(h->v[i].name, key) == 0;
    if (n == 0)
        return EM_ENOTFOUND;
    em_ip *ips = malloc(n * sizeof *ips);
    if (!ips)
        return EM_ENOMEM;
    n = 0;
    for (size_t i = 0; i < h->n; i++)
        if (h->v[i].ip.family == family && strcmp(h->v[i].name, key) == 0)
            ips[n++] = h->v[i].ip;
    int rc = em__dns_result_set(res, ips, n, family == 4 ? EM_DNS_V4 : EM_DNS_V6,
                                EM_DNS_SOURCE_HOSTS, 0);
    free(ips);
    return rc;
}
