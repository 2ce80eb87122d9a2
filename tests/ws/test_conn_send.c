/* ws/conn_send.c: whole messages and parts on both ends, pings and pongs,
 * send tokens, and backpressure against a peer that stops reading. */
#include "ws_conn_util.h"

static void test_send_both_roles(void **state) {
    (void)state;
    static char big[100000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 13);
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        assert_int_equal(h.opened, 1);
        uint64_t t1 = 0, t2 = 0, t3 = 0;
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("h\xc3\xa9llo"), &t1), 0);
        char copy[300];
        memset(copy, 'b', sizeof copy);
        assert_int_equal(em_ws_send_binary(h.ws, em_slice_make(copy, sizeof copy), &t2), 0);
        memset(copy, 'X', sizeof copy); /* the caller may reuse its bytes */
        int rc = em_ws_send(h.ws, EM_WS_OP_BINARY, em_slice_make(big, sizeof big), &t3);
        assert_true(rc == 0 || rc == EM_WS_FULL);
        assert_true(t1 < t2 && t2 < t3);
        em_slice s;
        em_ws_frame f;
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_TEXT);
        assert_true(f.fin);
        assert_int_equal(f.masked, role == EM_WS_ROLE_CLIENT);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("h\xc3\xa9llo")));
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_BINARY);
        assert_int_equal(s.len, 300);
        assert_int_equal(s.ptr[299], 'b');
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_BINARY);
        assert_int_equal(s.len, sizeof big);
        assert_memory_equal(s.ptr, big, sizeof big);
        h_until(&h, (int *)&h.sent_token, (int)t3, 2000);
        assert_int_equal(h.sent_token, t3);
        /* refusals: nothing sent */
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("\xc3\x28"), NULL), EM_EPARSE);
        assert_int_equal(em_ws_send(h.ws, EM_WS_OP_PING, EM_SLICE_LIT("x"), NULL), EM_EINVAL);
        assert_int_equal(em_ws_send(h.ws, EM_WS_OP_CONT, EM_SLICE_LIT("x"), NULL), EM_EINVAL);
        assert_int_equal(em_ws_send(h.ws, 7, EM_SLICE_LIT("x"), NULL), EM_EINVAL);
        assert_int_equal(em_ws_send_text(h.ws, em_slice_make(NULL, 3), NULL), EM_EINVAL);
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT(""), NULL), 0);
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_TEXT);
        assert_int_equal(s.len, 0);
        h_finish(&h);
    }
}

/* Client frames: every frame masked with a fresh key from the source. */
static int counting_random(void *ctx, void *out, size_t n) {
    int *calls = ctx;
    (*calls)++;
    memset(out, *calls, n);
    return 0;
}

static void test_client_keys(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_CLIENT);
    h_start(&h);
    int calls = 0;
    assert_non_null(em__ws_cold_get(h.ws));
    h.ws->cold->random = counting_random;
    h.ws->cold->random_ctx = &calls;
    h_run_ms(&h, 2);
    for (int i = 0; i < 3; i++)
        assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("abc"), NULL), 0);
    assert_int_equal(calls, 3);
    for (int i = 0; i < 3; i++) {
        em_slice s;
        em_ws_frame f;
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_TEXT);
        assert_int_equal(f.mask[0], i + 1);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("abc")));
    }
    /* the default source: getrandom in batches, keys differ */
    h.ws->cold->random = NULL;
    uint8_t keys[8][4];
    for (int i = 0; i < 8; i++)
        assert_int_equal(em_ws_send_binary(h.ws, EM_SLICE_LIT("k"), NULL), 0);
    for (int i = 0; i < 8; i++) {
        em_slice s;
        em_ws_frame f;
        assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_BINARY);
        memcpy(keys[i], f.mask, 4);
        for (int j = 0; j < i; j++)
            assert_memory_not_equal(keys[i], keys[j], 4);
    }
    h_finish(&h);
}

static void test_parts(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        em_ws *ws = h.ws;
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("x"), true, NULL),
                         EM_EINVAL);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_PING, EM_SLICE_LIT("x"), true, NULL),
                         EM_EINVAL);
        /* "a€" with the € split between parts */
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("a\xe2"), false, NULL), 0);
        assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("no"), NULL), EM_EBUSY);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("no"), true, NULL),
                         EM_EBUSY);
        assert_int_equal(em_ws_ping(ws, EM_SLICE_LIT("between")), 0);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("\x82"), false, NULL), 0);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xac"), true, NULL), 0);
        /* a binary message in parts, then a whole one */
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_BINARY, EM_SLICE_LIT("\xff"), false, NULL),
                         0);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT(""), true, NULL), 0);
        assert_int_equal(em_ws_send_text(ws, EM_SLICE_LIT("after"), NULL), 0);
        struct {
            int op;
            bool fin;
            const char *p;
        } want[] = {{EM_WS_OP_TEXT, false, "a\xe2"},  {EM_WS_OP_PING, true, "between"},
                    {EM_WS_OP_CONT, false, "\x82"},   {EM_WS_OP_CONT, true, "\xac"},
                    {EM_WS_OP_BINARY, false, "\xff"}, {EM_WS_OP_CONT, true, ""},
                    {EM_WS_OP_TEXT, true, "after"}};
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            em_slice s;
            em_ws_frame f;
            assert_int_equal(h_read_frame(&h, &s, &f, 2000), want[i].op);
            assert_int_equal(f.fin, want[i].fin);
            assert_true(em_slice_eq(s, em_slice_from_cstr(want[i].p)));
        }
        /* invalid UTF-8 in a first part: refused, nothing sent, still open */
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("\xc0"), false, NULL),
                         EM_EPARSE);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("ok\xe2"), true, NULL),
                         EM_EPARSE);
        /* ... in a later part: the message cannot be finished: 1011 */
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_TEXT, EM_SLICE_LIT("ok"), false, NULL), 0);
        assert_int_equal(em_ws_send_part(ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xed\xa0"), true, NULL),
                         EM_EPARSE);
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_TEXT);
        h_expect_close(&h, 1011);
        h_finish(&h);
        assert_int_equal(h.close_code, 1011);
        assert_int_equal(h.close_err, EM_EPARSE);
    }
}

/* A text message sent in parts keeps its validator in the cold part, also
 * while the bytes so far end between code points (its state is zero): a
 * message received meanwhile, assembled in that part, must not free it
 * when delivered (it did, and the next part read through a NULL part). */
static void test_parts_across_received_message(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        assert_int_equal(em_ws_send_part(h.ws, EM_WS_OP_TEXT, EM_SLICE_LIT("ab"), false, NULL), 0);
        h_send_frame(&h, 0x01, "frag", 4); /* a fragmented message: assembled */
        h_send_frame(&h, 0x80, "ment", 4);
        h_until(&h, &h.nmsgs, 1, 2000);
        assert_string_equal(h.msgs[0].data, "fragment");
        assert_int_equal(
            em_ws_send_part(h.ws, EM_WS_OP_CONT, EM_SLICE_LIT("c\xe2\x82"), false, NULL), 0);
        assert_int_equal(em_ws_send_part(h.ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xac"), true, NULL), 0);
        const char *want[] = {"ab", "c\xe2\x82", "\xac"};
        for (size_t i = 0; i < 3; i++) {
            em_slice got;
            assert_int_equal(h_read_frame(&h, &got, NULL, 2000), i ? EM_WS_OP_CONT : EM_WS_OP_TEXT);
            assert_true(em_slice_eq(got, em_slice_from_cstr(want[i])));
        }
        h_finish(&h);
    }
}

/* A text message sent in parts and finished leaves nothing in use in the
 * cold part, also when its parts split a code point: the next message
 * assembled there frees the part after it (the finished message's
 * validator state stayed behind and kept the part for good). */
static void test_parts_done_free_cold(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h_start(&h);
        h_run_ms(&h, 2);
        assert_int_equal(
            em_ws_send_part(h.ws, EM_WS_OP_TEXT, EM_SLICE_LIT("c\xe2\x82"), false, NULL), 0);
        assert_int_equal(em_ws_send_part(h.ws, EM_WS_OP_CONT, EM_SLICE_LIT("\xac"), true, NULL), 0);
        h_send_frame(&h, 0x01, "frag", 4); /* a fragmented message: assembled */
        h_send_frame(&h, 0x80, "ment", 4);
        h_until(&h, &h.nmsgs, 1, 2000);
        assert_string_equal(h.msgs[0].data, "fragment");
        assert_null(h.ws->cold);
        assert_int_equal(em_ws_memory(h.ws), sizeof(struct em_ws));
        h_finish(&h);
    }
}

static void test_ping_pong_api(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    h_run_ms(&h, 2);
    char p[126];
    memset(p, 'p', sizeof p);
    assert_int_equal(em_ws_ping(h.ws, em_slice_make(p, 126)), EM_EINVAL);
    assert_int_equal(em_ws_ping(h.ws, em_slice_make(p, 125)), 0);
    assert_int_equal(em_ws_pong(h.ws, EM_SLICE_LIT("unsolicited")), 0);
    em_slice s;
    assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PING);
    assert_int_equal(s.len, 125);
    assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
    assert_true(em_slice_eq(s, EM_SLICE_LIT("unsolicited")));
    h_finish(&h);
}

/* A peer that stops reading: EM_WS_FULL past the high watermark, then
 * EM_ENOBUFS past max_queue (nothing sent); on_unthrottled once it reads
 * again. Pings meanwhile get one answer, for the latest. */
static void test_backpressure(void **state) {
    (void)state;
    for (int role = 0; role < 2; role++) {
        harness h;
        h_init(&h, role);
        h.opts.high_watermark = 64 * 1024;
        h.opts.low_watermark = 16 * 1024;
        h.opts.max_queue = 256 * 1024;
        h_start_opts(&h, NULL, 4096);
        h_run_ms(&h, 2);
        static char chunk[16 * 1024];
        memset(chunk, 'c', sizeof chunk);
        int rc, sent = 0, full = 0;
        uint64_t last = 0;
        for (int i = 0; i < 1000; i++) {
            rc = em_ws_send_binary(h.ws, em_slice_make(chunk, sizeof chunk), &last);
            if (rc == EM_WS_FULL)
                full++;
            if (rc == EM_ENOBUFS)
                break;
            assert_true(rc == 0 || rc == EM_WS_FULL);
            sent++;
        }
        assert_int_equal(rc, EM_ENOBUFS);
        assert_true(full > 0);
        assert_true(em_ws_queued(h.ws) > 64 * 1024);
        assert_true(em_ws_queued(h.ws) <= 256 * 1024);
        assert_true(em_ws_memory(h.ws) > em_ws_queued(h.ws));
        assert_int_equal(h.unthrottled, 0);
        /* pings while full: one pong, for the latest */
        h_send_frame(&h, 0x89, "one", 3);
        h_send_frame(&h, 0x89, "two", 3);
        h_run_ms(&h, 20);
        assert_int_equal(h.pings, 2);
        /* the peer reads everything */
        int got = 0, pongs = 0;
        em_slice s;
        while (got < sent) {
            int op = h_read_frame(&h, &s, NULL, 3000);
            if (op == EM_WS_OP_PONG) {
                assert_true(em_slice_eq(s, EM_SLICE_LIT("two")));
                pongs++;
                continue;
            }
            assert_int_equal(op, EM_WS_OP_BINARY);
            assert_int_equal(s.len, sizeof chunk);
            got++;
        }
        h_until(&h, &h.unthrottled, 1, 2000);
        assert_int_equal(h.unthrottled, 1);
        if (!pongs) {
            assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
            assert_true(em_slice_eq(s, EM_SLICE_LIT("two")));
        }
        assert_int_equal(h_read_frame(&h, &s, NULL, 50), -2); /* one pong only */
        h_until(&h, (int *)&h.sent_token, (int)last, 2000);
        assert_true(h.sent_token >= last); /* the pong took a token too */
        assert_int_equal(em_ws_queued(h.ws), 0);
        h_finish(&h);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_both_roles),
        cmocka_unit_test(test_client_keys),
        cmocka_unit_test(test_parts),
        cmocka_unit_test(test_parts_across_received_message),
        cmocka_unit_test(test_parts_done_free_cold),
        cmocka_unit_test(test_ping_pong_api),
        cmocka_unit_test(test_backpressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
