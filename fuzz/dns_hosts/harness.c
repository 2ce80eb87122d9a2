/* Fuzz the hosts-file reader (dns/hosts.c): the input is the file. Every
 * name a reference reading (lines, '#' comments, blank-separated fields,
 * an address first) finds valid must then be answered from the table with
 * its address among the answers, and every answer has the family asked.
 * Nothing else may crash or leak (ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../../dns/dns_internal.h"
#include "fuzz.h"

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "dns_hosts: %s\n", what);
        abort();
    }
}

static void expect(const struct em__dns_hosts *h, const em_ip *ip, const char *name) {
    char key[EM_DNS_NAME_MAX + 1];
    em__dns_name_key(name, strlen(name), key);
    em_dns_result res;
    check(em__dns_hosts_find(h, key, ip->family, &res) == 0, "a listed name is not found");
    bool seen = false;
    for (size_t i = 0; i < res.count; i++) {
        check(res.addrs[i].family == ip->family, "answer of the wrong family");
        seen = seen || em_ip_equal(&res.addrs[i], ip);
    }
    check(seen, "a listed address is not among the answers");
    check(res.source == EM_DNS_SOURCE_HOSTS, "source");
    em_dns_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 1 << 16)
        return 0;
    int fd = memfd_create("hosts", 0);
    check(fd >= 0, "memfd");
    check(write(fd, data, size) == (ssize_t)size, "write");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    struct em__dns_hosts *h = NULL;
    check(em__dns_hosts_load(&h, path) == 0, "load");
    close(fd);

    /* The reference: each line up to a NUL (the reader's C strings end
     * there) and a '#'. */
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\n';
    for (size_t start = 0, i = 0; i <= size; i++) {
        if (text[i] != '\n')
            continue;
        text[i] = '\0';
        char *line = text + start;
        start = i + 1;
        line[strcspn(line, "#")] = '\0';
        char *save = NULL, *tok = strtok_r(line, " \t\r", &save);
        em_ip ip;
        if (!tok || em_ip_parse(&ip, tok, strlen(tok)) != 0)
            continue;
        while ((tok = strtok_r(NULL, " \t\r", &save)) != NULL)
            if (em_dns_name_check(tok, strlen(tok)) == 0)
                expect(h, &ip, tok);
    }
    free(text);
    em_dns_result res;
    check(em__dns_hosts_find(h, "name.never.listed.invalid", 4, &res) == EM_ENOTFOUND, "unlisted");
    em__dns_hosts_free(h);
    return 0;
}
