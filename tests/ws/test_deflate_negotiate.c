/* permessage-deflate negotiation (ws/deflate_negotiate.c): the server's
 * choice among offers and its answer, the client's offer and its check of
 * the answer, RFC 7692 §7.1's four parameters both ways, and RFC 6455
 * §9.1's header grammar (quoted values, several offers and headers). */
#include "ws_test_util.h"

#include "ws_conn_internal.h"

static em_ws_deflate_opts on(void) {
    em_ws_deflate_opts o;
    memset(&o, 0, sizeof o);
    o.enable = true;
    return o;
}

typedef struct neg {
    int rc;
    em__ws_pmd_params p;
    char resp[EM__WS_PMD_EXT_MAX];
} neg;

static neg negotiate(const char *offers, const em_ws_deflate_opts *o) {
    neg n;
    memset(&n, 0xa5, sizeof n);
    n.rc = em__ws_pmd_negotiate(em_slice_from_cstr(offers), o, &n.p, n.resp, sizeof n.resp);
    return n;
}

static void assert_params(const em__ws_pmd_params *p, bool snct, bool cnct, int sb, int cb) {
    assert_int_equal(p->server_no_context_takeover, snct);
    assert_int_equal(p->client_no_context_takeover, cnct);
    assert_int_equal(p->server_max_window_bits, sb);
    assert_int_equal(p->client_max_window_bits, cb);
}

static void test_server_plain(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    neg n = negotiate("permessage-deflate", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate");
    assert_params(&n.p, false, false, 15, 15);
    /* off: the header is not even read */
    o.enable = false;
    assert_int_equal(negotiate("permessage-deflate", &o).rc, 0);
    assert_int_equal(negotiate("permessage-deflate; ;;", &o).rc, 0);
    o.enable = true;
    assert_int_equal(negotiate("", &o).rc, 0);
    assert_int_equal(negotiate("  ", &o).rc, 0);
    assert_int_equal(negotiate("x-webkit-deflate-frame", &o).rc, 0);
}

static void test_server_client_window(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    /* no value: the client takes our choice; with ours at 15 nothing to say */
    neg n = negotiate("permessage-deflate; client_max_window_bits", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate");
    assert_params(&n.p, false, false, 15, 15);
    o.client_max_window_bits = 10;
    n = negotiate("permessage-deflate; client_max_window_bits", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate; client_max_window_bits=10");
    assert_params(&n.p, false, false, 15, 10);
    /* with a value: the smaller of the two */
    n = negotiate("permessage-deflate; client_max_window_bits=12", &o);
    assert_string_equal(n.resp, "permessage-deflate; client_max_window_bits=10");
    n = negotiate("permessage-deflate; client_max_window_bits=9", &o);
    assert_string_equal(n.resp, "permessage-deflate; client_max_window_bits=9");
    assert_params(&n.p, false, false, 15, 9);
    /* the client's promise stands even when we ask for nothing */
    o.client_max_window_bits = 0;
    n = negotiate("permessage-deflate; client_max_window_bits=8", &o);
    assert_string_equal(n.resp, "permessage-deflate; client_max_window_bits=8");
    assert_params(&n.p, false, false, 15, 8);
    n = negotiate("permessage-deflate; client_max_window_bits=15", &o);
    assert_string_equal(n.resp, "permessage-deflate");
    /* not offered: the server must not send it, whatever it wants */
    o.client_max_window_bits = 9;
    n = negotiate("permessage-deflate", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate");
    assert_params(&n.p, false, false, 15, 15);
}

static void test_server_quoted_values(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    neg n = negotiate("permessage-deflate; client_max_window_bits=\"10\"", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate; client_max_window_bits=10");
    n = negotiate("permessage-deflate; server_max_window_bits=\"1\\1\"", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate; server_max_window_bits=11");
    assert_params(&n.p, false, false, 11, 15);
    /* a quoted value that is no number, or empty: declined */
    assert_int_equal(negotiate("permessage-deflate; server_max_window_bits=\"\"", &o).rc, 0);
    assert_int_equal(negotiate("permessage-deflate; server_max_window_bits=\"1 0\"", &o).rc, 0);
    /* other extensions' quoted values may hold separators */
    n = negotiate("foo; bar=\"a, b; c=\\\"d\\\"\", permessage-deflate", &o);
    assert_int_equal(n.rc, 1);
}

static void test_server_server_window(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    neg n = negotiate("permessage-deflate; server_max_window_bits=10", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate; server_max_window_bits=10");
    assert_params(&n.p, false, false, 10, 15);
    o.server_max_window_bits = 9;
    n = negotiate("permessage-deflate; server_max_window_bits=10", &o);
    assert_string_equal(n.resp, "permessage-deflate; server_max_window_bits=9");
    assert_params(&n.p, false, false, 9, 15);
    /* unasked, the server may still shrink its own window */
    o.server_max_window_bits = 12;
    n = negotiate("permessage-deflate", &o);
    assert_string_equal(n.resp, "permessage-deflate; server_max_window_bits=12");
    assert_params(&n.p, false, false, 12, 15);
    /* 8: zlib compresses with 9, which never reaches back past 250 bytes */
    o.server_max_window_bits = 0;
    n = negotiate("permessage-deflate; server_max_window_bits=8", &o);
    assert_int_equal(n.rc, 1);
    assert_params(&n.p, false, false, 8, 15);
}

static void test_server_context_takeover(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    neg n = negotiate("permessage-deflate; server_no_context_takeover", &o);
    assert_string_equal(n.resp, "permessage-deflate; server_no_context_takeover");
    assert_params(&n.p, true, false, 15, 15);
    /* the client's hint is echoed: our inflater can then hold nothing */
    n = negotiate("permessage-deflate; client_no_context_takeover", &o);
    assert_string_equal(n.resp, "permessage-deflate; client_no_context_takeover");
    assert_params(&n.p, false, true, 15, 15);
    /* the server may impose both */
    o.server_no_context_takeover = true;
    o.client_no_context_takeover = true;
    n = negotiate("permessage-deflate", &o);
    assert_string_equal(
        n.resp, "permessage-deflate; server_no_context_takeover; client_no_context_takeover");
    assert_params(&n.p, true, true, 15, 15);
    /* everything at once: the longest answer fits */
    o.server_max_window_bits = 15;
    o.client_max_window_bits = 14;
    n = negotiate("permessage-deflate; client_max_window_bits; server_max_window_bits=15", &o);
    assert_int_equal(n.rc, 1);
    assert_string_equal(n.resp, "permessage-deflate; server_no_context_takeover; "
                                "client_no_context_takeover; server_max_window_bits=15; "
                                "client_max_window_bits=14");
    assert_true(strlen(n.resp) < EM__WS_PMD_EXT_MAX);
}

static void test_server_declines(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    static const char *const bad[] = {
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; foo",
        "permessage-deflate; foo=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=08",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=-9",
        "permessage-deflate; server_max_window_bits=ten",
        "permessage-deflate; client_max_window_bits=0",
        "permessage-deflate; client_max_window_bits=1",
        "permessage-deflate; client_max_window_bits=100",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=\"\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        neg n = negotiate(bad[i], &o);
        if (n.rc != 0)
            fail_msg("%s: %d", bad[i], n.rc);
        /* a later good offer is taken */
        char two[512];
        snprintf(two, sizeof two, "%s, permessage-deflate; server_max_window_bits=11", bad[i]);
        n = negotiate(two, &o);
        assert_int_equal(n.rc, 1);
        assert_params(&n.p, false, false, 11, 15);
    }
    /* the first acceptable offer wins */
    neg n = negotiate("permessage-deflate; server_max_window_bits=12, permessage-deflate", &o);
    assert_params(&n.p, false, false, 12, 15);
}

static void test_server_lists(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    /* other extensions, empty elements, whitespace, several headers joined */
    neg n = negotiate(" , x-webkit-deflate-frame; no_context_takeover ,,\t"
                      "permessage-deflate ;\tclient_max_window_bits = 9 , foo",
                      &o);
    assert_int_equal(n.rc, 1);
    assert_params(&n.p, false, false, 15, 9);
    n = negotiate("PerMessage-Deflate; Server_No_Context_Takeover", &o);
    assert_int_equal(n.rc, 1);
    assert_params(&n.p, true, false, 15, 15);
}

static void test_server_malformed(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    static const char *const bad[] = {
        "permessage-deflate;",
        "permessage-deflate; ",
        "permessage-deflate; =1",
        "permessage-deflate; a=",
        "permessage-deflate; a=\"open",
        "permessage-deflate; a=\"x\\",
        "permessage-deflate; a=\"\x01\"",
        "permessage-deflate x",
        "permessage-deflate; a b",
        "permessage-deflate; a=b c",
        ";",
        "; permessage-deflate",
        "=",
        "permessage-deflate; a=(b)",
        "per{message}-deflate",
        "permessage-deflate, ;",
        "permessage-deflate; client_max_window_bits=1\x7f",
        /* a malformed tail after a good offer still fails */
        "permessage-deflate, foo;",
        "permessage-deflate, \"x\"",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        neg n = negotiate(bad[i], &o);
        if (n.rc != EM_EPARSE)
            fail_msg("%s: %d", bad[i], n.rc);
    }
}

static void test_server_errors(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    em__ws_pmd_params p;
    char small[20];
    assert_int_equal(
        em__ws_pmd_negotiate(EM_SLICE_LIT("permessage-deflate; server_max_window_bits=9"), &o, &p,
                             small, sizeof small),
        EM_ENOBUFS);
    o.server_max_window_bits = 7;
    assert_int_equal(negotiate("permessage-deflate", &o).rc, EM_EINVAL);
    o.server_max_window_bits = 0;
    o.client_max_window_bits = 16;
    assert_int_equal(negotiate("permessage-deflate", &o).rc, EM_EINVAL);
}

/* ---- client --------------------------------------------------------------- */

static void test_client_offer(void **state) {
    (void)state;
    char buf[EM__WS_PMD_EXT_MAX];
    em_ws_deflate_opts o = on();
    assert_int_equal(em__ws_pmd_offer(&o, buf, sizeof buf),
                     (ssize_t)strlen("permessage-deflate; client_max_window_bits"));
    assert_string_equal(buf, "permessage-deflate; client_max_window_bits");
    o.server_no_context_takeover = o.client_no_context_takeover = true;
    o.server_max_window_bits = 10;
    o.client_max_window_bits = 8;
    ssize_t n = em__ws_pmd_offer(&o, buf, sizeof buf);
    assert_string_equal(buf, "permessage-deflate; server_no_context_takeover; "
                             "client_no_context_takeover; server_max_window_bits=10; "
                             "client_max_window_bits=8");
    assert_int_equal(n, (ssize_t)strlen(buf));
    /* 15 is the default and goes unsaid */
    o = on();
    o.server_max_window_bits = 15;
    o.client_max_window_bits = 15;
    em__ws_pmd_offer(&o, buf, sizeof buf);
    assert_string_equal(buf, "permessage-deflate; client_max_window_bits");
    o.enable = false;
    assert_int_equal(em__ws_pmd_offer(&o, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    o.enable = true;
    assert_int_equal(em__ws_pmd_offer(&o, buf, 10), EM_ENOBUFS);
    assert_string_equal(buf, "");
    o.client_max_window_bits = 7;
    assert_int_equal(em__ws_pmd_offer(&o, buf, sizeof buf), EM_EINVAL);
}

static int accept_(const char *answer, const em_ws_deflate_opts *o, em__ws_pmd_params *p) {
    return em__ws_pmd_accept(em_slice_from_cstr(answer), o, p);
}

static void test_client_accept(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    em__ws_pmd_params p;
    assert_int_equal(accept_("", &o, &p), 0);
    assert_int_equal(accept_(" \t", &o, &p), 0);
    assert_int_equal(accept_(" , ,", &o, &p), 0); /* empty list elements only */
    assert_int_equal(accept_("permessage-deflate", &o, &p), 1);
    assert_params(&p, false, false, 15, 15);
    /* the server may add these unasked */
    assert_int_equal(accept_("permessage-deflate; server_no_context_takeover; "
                             "client_no_context_takeover; server_max_window_bits=9; "
                             "client_max_window_bits=\"10\"",
                             &o, &p),
                     1);
    assert_params(&p, true, true, 9, 10);
    /* our hint binds us even if unanswered; our window offer too */
    o.client_no_context_takeover = true;
    o.client_max_window_bits = 11;
    assert_int_equal(accept_("permessage-deflate", &o, &p), 1);
    assert_params(&p, false, true, 15, 11);
    assert_int_equal(accept_("permessage-deflate; client_max_window_bits=11", &o, &p), 1);
    assert_int_equal(accept_("permessage-deflate; client_max_window_bits=8", &o, &p), 1);
    assert_params(&p, false, true, 15, 8);
    assert_int_equal(accept_("permessage-deflate; client_max_window_bits=12", &o, &p), EM_EPROTO);
    /* what we asked of the server must be confirmed */
    o = on();
    o.server_max_window_bits = 10;
    o.server_no_context_takeover = true;
    assert_int_equal(accept_("permessage-deflate; server_no_context_takeover; "
                             "server_max_window_bits=10",
                             &o, &p),
                     1);
    assert_params(&p, true, false, 10, 15);
    assert_int_equal(accept_("permessage-deflate; server_no_context_takeover; "
                             "server_max_window_bits=8",
                             &o, &p),
                     1);
    assert_int_equal(accept_("permessage-deflate; server_max_window_bits=10", &o, &p), EM_EPROTO);
    assert_int_equal(accept_("permessage-deflate; server_no_context_takeover", &o, &p), EM_EPROTO);
    assert_int_equal(accept_("permessage-deflate; server_no_context_takeover; "
                             "server_max_window_bits=11",
                             &o, &p),
                     EM_EPROTO);
}

static void test_client_refuses(void **state) {
    (void)state;
    em_ws_deflate_opts o = on();
    em__ws_pmd_params p;
    static const char *const bad[] = {
        "x-webkit-deflate-frame",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate, foo",
        "permessage-deflate; client_max_window_bits", /* an answer has a value */
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover=1",
        "permessage-deflate; foo",
        "permessage-deflate;",
        "permessage-deflate; a=\"b",
        "; permessage-deflate",
        "permessage-deflate x",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (accept_(bad[i], &o, &p) != EM_EPROTO)
            fail_msg("%s accepted", bad[i]);
    /* not offered at all */
    o.enable = false;
    assert_int_equal(accept_("permessage-deflate", &o, &p), EM_EPROTO);
    assert_int_equal(accept_("", &o, &p), 0);
}

/* Every client setting against every server setting: the client's offer,
 * the server's answer and the client's reading of it agree, and each side
 * gets at most what it allowed. */
static void test_round_trip_all(void **state) {
    (void)state;
    static const uint8_t bits[] = {0, 8, 9, 12, 15};
    unsigned n = 0;
    for (unsigned cf = 0; cf < 4; cf++)
        for (unsigned sf = 0; sf < 4; sf++)
            for (size_t a = 0; a < sizeof bits; a++)
                for (size_t b = 0; b < sizeof bits; b++)
                    for (size_t c = 0; c < sizeof bits; c++)
                        for (size_t d = 0; d < sizeof bits; d++) {
                            em_ws_deflate_opts co = on(), so = on();
                            co.server_no_context_takeover = cf & 1;
                            co.client_no_context_takeover = cf >> 1 & 1;
                            so.server_no_context_takeover = sf & 1;
                            so.client_no_context_takeover = sf >> 1 & 1;
                            co.server_max_window_bits = bits[a];
                            co.client_max_window_bits = bits[b];
                            so.server_max_window_bits = bits[c];
                            so.client_max_window_bits = bits[d];
                            char offer[EM__WS_PMD_EXT_MAX];
                            assert_true(em__ws_pmd_offer(&co, offer, sizeof offer) > 0);
                            neg s = negotiate(offer, &so);
                            assert_int_equal(s.rc, 1);
                            em__ws_pmd_params cp;
                            int rc = em__ws_pmd_accept(em_slice_from_cstr(s.resp), &co, &cp);
                            if (rc != 1)
                                fail_msg("offer '%s' answer '%s': %d", offer, s.resp, rc);
                            assert_memory_equal(&cp, &s.p, sizeof cp);
                            int csb = bits[a] ? bits[a] : 15, ccb = bits[b] ? bits[b] : 15;
                            int ssb = bits[c] ? bits[c] : 15, scb = bits[d] ? bits[d] : 15;
                            assert_true(cp.server_max_window_bits <= csb &&
                                        cp.server_max_window_bits <= ssb);
                            assert_true(cp.client_max_window_bits <= ccb &&
                                        cp.client_max_window_bits <= scb);
                            assert_true(
                                cp.server_no_context_takeover ==
                                (co.server_no_context_takeover || so.server_no_context_takeover));
                            assert_true(
                                cp.client_no_context_takeover ==
                                (co.client_no_context_takeover || so.client_no_context_takeover));
                            n++;
                        }
    assert_int_equal(n, 16 * 625);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_server_plain),
        cmocka_unit_test(test_server_client_window),
        cmocka_unit_test(test_server_quoted_values),
        cmocka_unit_test(test_server_server_window),
        cmocka_unit_test(test_server_context_takeover),
        cmocka_unit_test(test_server_declines),
        cmocka_unit_test(test_server_lists),
        cmocka_unit_test(test_server_malformed),
        cmocka_unit_test(test_server_errors),
        cmocka_unit_test(test_client_offer),
        cmocka_unit_test(test_client_accept),
        cmocka_unit_test(test_client_refuses),
        cmocka_unit_test(test_round_trip_all),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
