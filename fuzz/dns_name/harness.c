/* Fuzz dns/name.c and dns/cache.c. The name check must agree with a
 * reference written another way (split on dots, judge each label, then
 * the last as a number); whatever it accepts has no byte outside
 * [A-Za-z0-9._-]. Then the input drives a tiny cache on a fake clock:
 * puts, gets and expiry must keep its count within the bound and never
 * hand back an expired answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dns/dns_internal.h"
#include "fuzz.h"

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "dns_name: %s\n", what);
        abort();
    }
}

static bool reference(const char *s, size_t len) {
    if (len == 0)
        return false;
    if (len > 1 && s[len - 1] == '.')
        len--;
    if (len > 253)
        return false;
    size_t start = 0, last = 0;
    bool last_numeric = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        size_t n = i - start;
        if (n == 0 || n > 63)
            return false;
        if (s[start] == '-' || s[i - 1] == '-') /* RFC 952, RFC 1123 §2.1 */
            return false;
        last_numeric = true;
        for (size_t k = start; k < i; k++) {
            char c = s[k];
            bool digit = c >= '0' && c <= '9';
            bool alpha = (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
            if (!digit && !alpha && c != '-' && c != '_')
                return false;
            last_numeric = last_numeric && digit;
        }
        last = start;
        start = i + 1;
    }
    /* nor a number in hex, "0x" and hex digits (the URL Standard's IPv4
     * number, inet_aton's too) */
    if (len - last >= 2 && s[last] == '0' && (s[last + 1] | 0x20) == 'x') {
        size_t k = last + 2;
        while (k < len && memchr("0123456789abcdefABCDEF", s[k], 22))
            k++;
        if (k == len)
            return false;
    }
    return !last_numeric;
}

static void fuzz_cache(const uint8_t *data, size_t size) {
    struct em__dns_cache *c = em__dns_cache_new(4, 60, 5);
    if (!c)
        return;
    em_ip ip = em_ip4_make(0xc0000201);
    uint64_t now = 0;
    for (size_t i = 0; i + 2 < size; i += 3) {
        char key[2] = { (char)('a' + data[i] % 8), 0 };
        int family = data[i + 1] & 1 ? 4 : 6;
        uint32_t ttl = data[i + 2] % 90;
        em_dns_result r;
        switch ((data[i + 1] >> 1) % 4) {
        case 0:
            if (em__dns_result_set(&r, &ip, 1, EM_DNS_V4, EM_DNS_SOURCE_DNS, ttl) == 0) {
                em__dns_cache_put(c, key, family, now, 0, &r);
                em_dns_result_free(&r);
            }
            break;
        case 1:
            em__dns_cache_put(c, key, family, now, EM_ENOTFOUND, NULL);
            break;
        case 2: {
            int rc = em__dns_cache_get(c, key, family, now, &r);
            check(rc == 0 || rc == EM_ENOTFOUND || rc == EM_EAGAIN || rc == EM_ENOMEM, "get status");
            if (rc == 0)
                check(r.count == 1 && r.ttl >= 1 && r.ttl <= 60, "a hit with a live ttl");
            em_dns_result_free(&r);
            break;
        }
        default:
            now += (uint64_t)ttl * 1000;
        }
        check(em__dns_cache_count(c) <= 4, "cache over its bound");
    }
    em__dns_cache_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    bool ok = em_dns_name_check(s, size) == 0;
    check(ok == reference(s, size), "em_dns_name_check disagrees with the reference");
    em_ip ip;
    int kind = em__dns_name_classify(s, size, &ip);
    check(kind == EM_EINVAL || kind == EM__DNS_LITERAL || kind == EM__DNS_LOCALHOST ||
              kind == EM__DNS_HOSTNAME,
          "classify");
    check(kind != EM__DNS_HOSTNAME || ok, "a host name that fails the check");
    if (ok) {
        char key[EM_DNS_NAME_MAX + 1];
        em__dns_name_key(s, size, key);
        check(em_dns_name_check(key, strlen(key)) == 0, "the key of a good name is good");
    }
    fuzz_cache(data, size);
    return 0;
}
