/* ws/conn_write.c: client masking keys from batched getrandom (fresh per
 * frame, across batch refills), and the list of completions waiting for
 * send tokens. */
#include "ws_conn_util.h"

static void test_batched_keys(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_CLIENT);
    h_start(&h);
    h_run_ms(&h, 1);
    enum { N = 2500 }; /* 4 KiB batches hold 1024 keys: two refills */
    uint32_t prev = 0;
    int zero = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(em_ws_send_binary(h.ws, EM_SLICE_LIT("abcdefgh"), NULL), 0);
        em_slice s;
        em_ws_frame f;
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_BINARY);
        assert_true(f.masked);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("abcdefgh")));
        uint32_t k;
        memcpy(&k, f.mask, 4);
        assert_true(i == 0 || k != prev);
        zero += k == 0; /* a key used twice would have been wiped to 0 */
        prev = k;
    }
    assert_int_equal(zero, 0);
    h_finish(&h);
}

static int order[8], norder, errs[8];

static void pend_fn(em_ws *ws, struct em__ws_pend *p, int err) {
    (void)ws;
    order[norder] = (int)p->token;
    errs[norder++] = err;
}

static void test_pend_list(void **state) {
    (void)state;
    em_ws ws;
    memset(&ws, 0, sizeof ws);
    struct em__ws_pend p[5];
    uint64_t toks[5] = {3, 5, 5, 8, 9};
    for (int i = 0; i < 5; i++) {
        p[i].fn = pend_fn;
        em__ws_pend_add(&ws, &p[i], toks[i]);
    }
    em__ws_pend_sent(&ws, 2);
    assert_int_equal(norder, 0);
    em__ws_pend_sent(&ws, 5);
    assert_int_equal(norder, 3);
    assert_int_equal(order[0], 3);
    assert_int_equal(order[2], 5);
    assert_int_equal(errs[2], 0);
    em__ws_pend_fail_all(&ws, EM_ECLOSED);
    assert_int_equal(norder, 5);
    assert_int_equal(order[4], 9);
    assert_int_equal(errs[4], EM_ECLOSED);
    assert_null(ws.pend);
    /* Empty, then one alone, then two: the circle's ends stay right. */
    em__ws_pend_add(&ws, &p[0], 10);
    em__ws_pend_sent(&ws, 10);
    assert_int_equal(norder, 6);
    assert_int_equal(order[5], 10);
    assert_null(ws.pend);
    em__ws_pend_add(&ws, &p[1], 11);
    em__ws_pend_add(&ws, &p[2], 12);
    em__ws_pend_sent(&ws, 11);
    assert_int_equal(norder, 7);
    assert_ptr_equal(ws.pend, &p[2]);
    em__ws_pend_sent(&ws, 12);
    assert_int_equal(norder, 8);
    assert_int_equal(order[7], 12);
    assert_null(ws.pend);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batched_keys),
        cmocka_unit_test(test_pend_list),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
