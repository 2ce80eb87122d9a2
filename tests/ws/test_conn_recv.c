/* ws/conn_recv.c: frames into messages and control frames, on both ends,
 * over every split of the input; each protocol error's close code. */
#include "ws_conn_util.h"

static const int roles[2] = {EM_WS_ROLE_SERVER, EM_WS_ROLE_CLIENT};

static void check_last(harness *h, int op, const void *p, size_t n) {
    assert_true(h->nmsgs > 0);
    h_msg *m = &h->msgs[h->nmsgs - 1];
    assert_int_equal(m->op, op);
    assert_int_equal(m->len, n);
    assert_memory_equal(m->data, p, n);
}

/* Each message, framed, arrives in two writes split at every byte. */
static void test_every_split(void **state) {
    (void)state;
    static char big[70000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i * 7);
    struct {
        int op;
        const char *p;
        size_t n;
    } msgs[] = {{EM_WS_OP_TEXT, "h\xc3\xa9llo \xe2\x82\xac", 11},
                {EM_WS_OP_BINARY, big, 300},
                {EM_WS_OP_TEXT, "", 0},
                {EM_WS_OP_BINARY, big, sizeof big}};
    for (int r = 0; r < 2; r++) {
        harness h;
        h_init(&h, roles[r]);
        h_start(&h);
        int want = 0;
        for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
            uint8_t *f = malloc(msgs[m].n + 14);
            size_t len = h_frame(&h, f, 0x80 | (unsigned)msgs[m].op, msgs[m].p, msgs[m].n);
            size_t step = len > 1000 ? 997 : 1;
            for (size_t k = 0; k <= len; k += step) {
                h_send(&h, f, k);
                h_turn(&h);
                h_send(&h, f + k, len - k);
                h_until(&h, &h.nmsgs, ++want, 2000);
                assert_int_equal(h.nmsgs, want);
                check_last(&h, msgs[m].op, msgs[m].p, msgs[m].n);
                free(h.msgs[--h.nmsgs].data);
                want--;
            }
            free(f);
        }
        /* Nothing assembled stays behind between messages. */
        assert_true(!h.ws->cold || em_buf_cap(&h.ws->cold->msg) == 0);
        h_finish(&h);
        assert_int_equal(h.close_code, EM_WS_CLOSE_ABNORMAL);
        assert_int_equal(h.close_err, EM_EUNEXPECTEDEOF);
    }
}

/* Several frames in one write: each message a slice of the input. */
static void test_many_in_one_read(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    uint8_t buf[4096];
    size_t n = 0;
    for (int i = 0; i < 20; i++) {
        char p[16];
        int l = snprintf(p, sizeof p, "m%d", i);
        n += h_frame(&h, buf + n, 0x81, p, (size_t)l);
    }
    h_send(&h, buf, n);
    h_until(&h, &h.nmsgs, 20, 2000);
    assert_int_equal(h.nmsgs, 20);
    assert_string_equal(h.msgs[19].data, "m19");
    assert_null(h.ws->cold); /* whole messages are slices of the input: nothing assembled */
    h_finish(&h);
}

static void test_fragments_with_pings(void **state) {
    (void)state;
    for (int r = 0; r < 2; r++) {
        harness h;
        h_init(&h, roles[r]);
        h_start(&h);
        h_send_frame(&h, 0x01, "Hel", 3);
        h_send_frame(&h, 0x89, "p1", 2);
        h_send_frame(&h, 0x00, "lo ", 3);
        h_send_frame(&h, 0x89, "p2", 2);
        h_send_frame(&h, 0x8A, "unasked", 7);
        h_send_frame(&h, 0x00, "w\xc3", 2); /* a code point split by frames */
        h_until(&h, &h.pings, 2, 2000);
        assert_int_equal(h.nmsgs, 0);
        h_send_frame(&h, 0x00, "\xa9", 1);
        h_send_frame(&h, 0x80, "rld", 3);
        h_until(&h, &h.nmsgs, 1, 2000);
        check_last(&h, EM_WS_OP_TEXT, "Hello w\xc3\xa9rld", 12);
        assert_int_equal(h.pongs, 1);
        assert_int_equal(h.pings, 2);
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("p1")));
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
        assert_true(em_slice_eq(s, EM_SLICE_LIT("p2")));
        h_finish(&h);
    }
}

/* A control frame split across reads at every byte. */
static void test_split_ping(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    uint8_t f[200];
    char p[125];
    memset(p, 'x', sizeof p);
    size_t len = h_frame(&h, f, 0x89, p, sizeof p);
    for (size_t k = 0; k <= len; k++) {
        h_send(&h, f, k);
        h_turn(&h);
        h_send(&h, f + k, len - k);
        h_until(&h, &h.pings, (int)k + 1, 2000);
        assert_int_equal(h.last_ping_len, 125);
        assert_memory_equal(h.last_ping, p, 125);
        em_slice s;
        assert_int_equal(h_read_frame(&h, &s, NULL, 2000), EM_WS_OP_PONG);
        assert_int_equal(s.len, 125);
    }
    assert_null(EM__WS_COLD(h.ws, ctl));
    h_finish(&h);
}

/* Bytes the peer sends; the close code ember answers with and on_close's
 * error. */
static void expect_failure(int role, const uint8_t *bytes, size_t n, int code, int err,
                           const em_ws_opts *opts) {
    harness h;
    h_init(&h, role);
    if (opts)
        h.opts = *opts;
    h_start(&h);
    h_send(&h, bytes, n);
    h_expect_close(&h, code);
    h_expect_eof(&h, 2000);
    h_close_peer(&h); /* as a peer does after the close */
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.closed, 1);
    assert_int_equal(h.close_code, code);
    assert_int_equal(h.close_err, err);
    assert_int_equal(h.nmsgs, 0);
    h_finish(&h);
}

static void test_protocol_errors(void **state) {
    (void)state;
    static const uint8_t key[4] = {1, 2, 3, 4};
    uint8_t b[300];
    char big[200] = {0};
    for (int r = 0; r < 2; r++) {
        bool m = roles[r] == EM_WS_ROLE_SERVER;
        size_t n;
        n = raw_frame(b, 0x83, m, key, "x", 1, LEN_MIN); /* reserved opcode */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x8B, m, key, "x", 1, LEN_MIN);
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0xC1, m, key, "x", 1, LEN_MIN); /* RSV1, no extension */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0xA1, m, key, "x", 1, LEN_MIN); /* RSV2 */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x09, m, key, "x", 1, LEN_MIN); /* fragmented ping */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x89, m, key, big, 126, LEN_MIN); /* ping > 125 */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x81, !m, key, "x", 1, LEN_MIN); /* mask wrong for the role */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x80, m, key, "x", 1, LEN_MIN); /* continuation, no message */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x01, m, key, "a", 1, LEN_MIN); /* new message inside one */
        n += raw_frame(b + n, 0x81, m, key, "b", 1, LEN_MIN);
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x82, m, key, "xy", 2, LEN_16); /* non-minimal length */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x88, m, key, "x", 1, LEN_MIN); /* close of 1 byte */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x88, m, key, "\x03\xe7", 2, LEN_MIN); /* code 999 */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x88, m, key, "\x03\xed", 2, LEN_MIN); /* 1005 on the wire */
        expect_failure(roles[r], b, n, 1002, EM_EPROTO, NULL);
        n = raw_frame(b, 0x88, m, key, "\x03\xe8\xc0\xaf", 4, LEN_MIN); /* reason not UTF-8 */
        expect_failure(roles[r], b, n, 1007, EM_EPARSE, NULL);
        n = raw_frame(b, 0x81, m, key, "\xed\xa0\x80", 3, LEN_MIN); /* surrogate */
        expect_failure(roles[r], b, n, 1007, EM_EPARSE, NULL);
        n = raw_frame(b, 0x81, m, key, "ab\xe2\x82", 4, LEN_MIN); /* ends mid code point */
        expect_failure(roles[r], b, n, 1007, EM_EPARSE, NULL);
    }
}

/* Invalid UTF-8 in the first piece of a long fragment: the close comes
 * before the rest of the frame (or message) is sent. */
static void test_utf8_fail_fast(void **state) {
    (void)state;
    for (int r = 0; r < 2; r++) {
        for (int frag = 0; frag < 2; frag++) {
            harness h;
            h_init(&h, roles[r]);
            h_start(&h);
            char p[1000];
            memset(p, 'a', sizeof p);
            p[10] = (char)0xC0;
            uint8_t *f = malloc(2000);
            size_t n = h_frame(&h, f, frag ? 0x01 : 0x81, p, sizeof p);
            h_send(&h, f, n - 900); /* header and the first bytes only */
            h_expect_close(&h, 1007);
            h_close_peer(&h);
            h_until(&h, &h.closed, 1, 2000);
            assert_int_equal(h.close_code, 1007);
            assert_int_equal(h.close_err, EM_EPARSE);
            free(f);
            h_finish(&h);
        }
    }
}

static void test_max_message(void **state) {
    (void)state;
    em_ws_opts o = {.max_message = 1000};
    static char p[1001];
    memset(p, 'z', sizeof p);
    for (int r = 0; r < 2; r++) {
        harness h;
        h_init(&h, roles[r]);
        h.opts = o;
        h_start(&h);
        h_send_frame(&h, 0x82, p, 1000); /* exactly the limit: accepted */
        h_send_frame(&h, 0x02, p, 600);  /* fragmented, exactly the limit */
        h_send_frame(&h, 0x80, p, 400);
        h_until(&h, &h.nmsgs, 2, 2000);
        assert_int_equal(h.nmsgs, 2);
        assert_int_equal(h.msgs[0].len, 1000);
        assert_int_equal(h.msgs[1].len, 1000);
        h_finish(&h);
        uint8_t f[1100];
        bool m = roles[r] == EM_WS_ROLE_SERVER;
        static const uint8_t key[4] = {9, 9, 9, 9};
        /* One past it, in one frame: refused at the header. */
        size_t n = raw_frame(f, 0x82, m, key, NULL, 1001, LEN_MIN);
        expect_failure(roles[r], f, n, 1009, EM_EMSGSIZE, &o);
        /* In fragments: refused at the header that crosses it. */
        n = raw_frame(f, 0x02, m, key, p, 600, LEN_MIN);
        n += raw_frame(f + n, 0x80, m, key, NULL, 401, LEN_MIN);
        expect_failure(roles[r], f, n, 1009, EM_EMSGSIZE, &o);
    }
}

static void test_streamed_parts(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.cbs.on_message_part = h_on_part;
    h.opts.max_message = 4; /* no bound on streams */
    h_start(&h);
    /* "a€b" with the € (e2 82 ac) split by frames and reads */
    h_send_frame(&h, 0x01, "a\xe2", 2);
    h_run_ms(&h, 5);
    h_send_frame(&h, 0x00, "\x82", 1);
    h_run_ms(&h, 5);
    h_send_frame(&h, 0x80,
                 "\xac"
                 "bcdefgh",
                 8);
    h_send_frame(&h, 0x82, "0123456789", 10);
    int done = 0;
    uint64_t end = h_ms() + 2000;
    while (done < 2 && h_ms() < end) {
        h_turn(&h);
        done = 0;
        for (int i = 0; i < h.nmsgs; i++)
            done += h.msgs[i].last;
    }
    char all[64] = "";
    for (int i = 0; i < h.nmsgs && h.msgs[i].op == EM_WS_OP_TEXT; i++) {
        assert_true(em_ws_utf8_valid(h.msgs[i].data, h.msgs[i].len));
        strcat(all, h.msgs[i].data);
    }
    assert_string_equal(all, "a\xe2\x82\xac"
                             "bcdefgh");
    h_msg *b = &h.msgs[h.nmsgs - 1];
    assert_int_equal(b->op, EM_WS_OP_BINARY);
    assert_true(b->last);
    assert_string_equal(b->data, "0123456789");
    h_finish(&h);
}

static void test_data_after_close_ignored(void **state) {
    (void)state;
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h_start(&h);
    uint8_t b[64];
    size_t n = h_frame(&h, b, 0x88,
                       "\x03\xe8"
                       "bye",
                       5);
    n += h_frame(&h, b + n, 0x81, "late", 4);
    h_send(&h, b, n);
    h_expect_close(&h, 1000);
    h_expect_eof(&h, 2000);
    h_close_peer(&h);
    h_until(&h, &h.closed, 1, 2000);
    assert_int_equal(h.nmsgs, 0);
    assert_int_equal(h.peer_closed, 1);
    assert_int_equal(h.peer_close_code, 1000);
    assert_int_equal(h.close_code, 1000);
    assert_int_equal(h.close_err, 0);
    assert_string_equal(h.reason, "bye");
    h_finish(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_many_in_one_read),
        cmocka_unit_test(test_fragments_with_pings),
        cmocka_unit_test(test_split_ping),
        cmocka_unit_test(test_protocol_errors),
        cmocka_unit_test(test_utf8_fail_fast),
        cmocka_unit_test(test_max_message),
        cmocka_unit_test(test_streamed_parts),
        cmocka_unit_test(test_data_after_close_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
