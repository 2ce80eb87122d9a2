/* dns/cache.c: TTLs on a fake clock, negative entries, the LRU bound. */
#include <stdio.h>
#include <string.h>

#include "dns_internal.h"
#include "em_test.h"

static em_dns_result one(const char *text, uint32_t ttl) {
    em_ip ip;
    assert_int_equal(em_ip_parse(&ip, text, strlen(text)), 0);
    em_dns_result r;
    assert_int_equal(em__dns_result_set(&r, &ip, 1, EM_DNS_V4, EM_DNS_SOURCE_DNS, ttl), 0);
    return r;
}

static void test_ttl(void **state) {
    struct em__dns_cache *c = em__dns_cache_new(8, 3600, 5);
    em_dns_result in = one("192.0.2.1", 10), out;
    em__dns_cache_put(c, "a.test", 4, 1000, 0, &in);
    assert_int_equal(em__dns_cache_get(c, "a.test", 4, 1000, &out), 0);
    assert_int_equal(out.count, 1);
    assert_int_equal(out.ttl, 10);
    assert_int_equal(out.source, EM_DNS_SOURCE_CACHE);
    em_dns_result_free(&out);
    assert_int_equal(em__dns_cache_get(c, "a.test", 6, 1000, &out), EM_EAGAIN); /* other family */
    assert_int_equal(em__dns_cache_get(c, "a.test", 4, 10999, &out), 0);
    assert_int_equal(out.ttl, 1);
    em_dns_result_free(&out);
    assert_int_equal(em__dns_cache_get(c, "a.test", 4, 11000, &out), EM_EAGAIN); /* expired */
    assert_int_equal(em__dns_cache_count(c), 0);

    in.ttl = 0; /* TTL 0: not kept */
    em__dns_cache_put(c, "z.test", 4, 0, 0, &in);
    assert_int_equal(em__dns_cache_count(c), 0);
    in.ttl = 999999; /* cut to max_ttl */
    em__dns_cache_put(c, "m.test", 4, 0, 0, &in);
    assert_int_equal(em__dns_cache_get(c, "m.test", 4, 3599999, &out), 0);
    em_dns_result_free(&out);
    assert_int_equal(em__dns_cache_get(c, "m.test", 4, 3600000, &out), EM_EAGAIN);
    em_dns_result_free(&in);
    em__dns_cache_free(c);
}

static void test_negative_and_others(void **state) {
    struct em__dns_cache *c = em__dns_cache_new(8, 3600, 5);
    em_dns_result out;
    em__dns_cache_put(c, "nx.test", 4, 0, EM_ENOTFOUND, NULL);
    assert_int_equal(em__dns_cache_get(c, "nx.test", 4, 4999, &out), EM_ENOTFOUND);
    assert_int_equal(em__dns_cache_get(c, "nx.test", 4, 5000, &out), EM_EAGAIN);
    em__dns_cache_put(c, "t.test", 4, 0, EM_ETIMEDOUT, NULL);
    em__dns_cache_put(c, "s.test", 4, 0, EM_EDNSFAIL, NULL);
    assert_int_equal(em__dns_cache_count(c), 0);
    /* A later answer replaces the entry. */
    em_dns_result in = one("192.0.2.2", 60);
    em__dns_cache_put(c, "r.test", 4, 0, EM_ENOTFOUND, NULL);
    em__dns_cache_put(c, "r.test", 4, 0, 0, &in);
    assert_int_equal(em__dns_cache_count(c), 1);
    assert_int_equal(em__dns_cache_get(c, "r.test", 4, 0, &out), 0);
    em_dns_result_free(&out);
    em_dns_result_free(&in);
    em__dns_cache_free(c);
}

static void test_lru_bound(void **state) {
    struct em__dns_cache *c = em__dns_cache_new(3, 3600, 5);
    em_dns_result in = one("192.0.2.3", 60), out;
    em__dns_cache_put(c, "a", 4, 0, 0, &in);
    em__dns_cache_put(c, "b", 4, 0, 0, &in);
    em__dns_cache_put(c, "c", 4, 0, 0, &in);
    assert_int_equal(em__dns_cache_get(c, "a", 4, 0, &out), 0); /* a is now the newest */
    em_dns_result_free(&out);
    em__dns_cache_put(c, "d", 4, 0, 0, &in); /* evicts b */
    assert_int_equal(em__dns_cache_count(c), 3);
    assert_int_equal(em__dns_cache_get(c, "b", 4, 0, &out), EM_EAGAIN);
    assert_int_equal(em__dns_cache_get(c, "a", 4, 0, &out), 0);
    em_dns_result_free(&out);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        em__dns_cache_put(c, key, i % 2 ? 4 : 6, 0, 0, &in);
    }
    assert_int_equal(em__dns_cache_count(c), 3);
    em_dns_result_free(&in);
    em__dns_cache_free(c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_negative_and_others),
        cmocka_unit_test(test_lru_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
