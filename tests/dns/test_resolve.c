/* dns/resolve.c: the blocking face, and resolver settings. */
#include "dns_internal.h"
#include "dns_test_util.h"

static const fake_dns_rule rules[] = {
    { .name = "both.test", .a = "192.0.2.1", .aaaa = "2001:db8::1" },
    { .name = "silent.test", .silent = true },
};

static void test_blocking(void **state) {
    fake_dns *fake = fake_dns_start(rules, 2);
    assert_non_null(fake);
    dns_env env;
    em_dns_resolver_opts o;
    dns_env_init(&env, NULL, fake, &o);
    em_dns_result res;
    assert_int_equal(em_dns_resolve("both.test", EM_DNS_ANY, &o, &res), 0);
    assert_int_equal(res.count, 2);
    assert_int_equal(res.family, EM_DNS_ANY);
    assert_true(dns_has(&res, "192.0.2.1") && dns_has(&res, "2001:db8::1"));
    em_dns_result_free(&res);
    assert_null(res.addrs);
    assert_int_equal(em_dns_resolve("both.test", EM_DNS_V6, &o, &res), 0);
    assert_int_equal(res.count, 1);
    assert_int_equal(res.family, EM_DNS_V6);
    em_dns_result_free(&res);
    assert_int_equal(em_dns_resolve("nx.test", EM_DNS_ANY, &o, &res), EM_ENOTFOUND);
    assert_int_equal(res.count, 0);
    o.timeout_ms = 100;
    o.tries = 1;
    assert_int_equal(em_dns_resolve("silent.test", EM_DNS_ANY, &o, &res), EM_ETIMEDOUT);
    assert_int_equal(em_dns_resolve("a b", EM_DNS_ANY, &o, &res), EM_EINVAL);
    assert_int_equal(em_dns_resolve("[::1]", EM_DNS_ANY, &o, &res), 0);
    assert_int_equal(res.source, EM_DNS_SOURCE_LITERAL);
    em_dns_result_free(&res);
    assert_int_equal(em_dns_resolve("localhost", EM_DNS_V4, &o, &res), 0);
    assert_true(dns_has(&res, "127.0.0.1"));
    em_dns_result_free(&res);
    em_dns_result_free(NULL);
    fake_dns_stop(fake);
    dns_env_free(&env);
}

static void on_closed(em_dns_resolver *r) { *(bool *)r->data = true; }

static void test_resolver_init_close(void **state) {
    em_loop loop;
    assert_int_equal(em_loop_init(&loop), 0);
    dns_env env;
    em_dns_resolver_opts o;
    dns_env_init(&env, NULL, NULL, &o);
    em_dns_resolver r;
    o.servers = "not an address";
    assert_int_equal(em_dns_resolver_init(&loop, &r, &o), EM_EINVAL);
    o.servers = "127.0.0.1:5353,[::1]:53";
    o.hosts_file = "/nonexistent/hosts"; /* missing: empty */
    bool closed = false;
    r.data = &closed;
    assert_int_equal(em_dns_resolver_init(&loop, &r, &o), 0);
    assert_ptr_equal(r.data, &closed);
    em_dns_resolver_close(&r, on_closed);
    em_dns_resolver_close(&r, on_closed); /* again: nothing */
    assert_false(closed);
    EM_TEST_RUN_UNTIL(&loop, closed, 5000);
    /* Defaults (no opts) start and close too, and the loop ends empty. */
    assert_int_equal(em_dns_resolver_init(&loop, &r, NULL), 0);
    em_dns_resolver_close(&r, NULL);
    assert_int_equal(em_loop_run(&loop, EM_RUN_DEFAULT), 0);
    assert_int_equal(em_loop_close(&loop), 0);
    dns_env_free(&env);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocking),
        cmocka_unit_test(test_resolver_init_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
