/* The serializer: headers in their shortest form for every length class,
 * refused headers, and masked client frames, each read back by the
 * parser. */
#include "ws_test_util.h"

static void test_header_sizes(void **state) {
    (void)state;
    static const struct {
        uint64_t len;
        size_t size;
    } cases[] = {{0, 2}, {125, 2}, {126, 4}, {65535, 4}, {65536, 10}, {0x7fffffffffffffffull, 10}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        for (int masked = 0; masked < 2; masked++) {
            em_ws_frame f = {.len = cases[i].len,
                             .opcode = EM_WS_OP_BINARY,
                             .fin = true,
                             .masked = masked,
                             .mask = {1, 2, 3, 4}};
            char h[EM_WS_MAX_HEADER];
            ssize_t n = em_ws_frame_header_write(h, &f);
            size_t want = cases[i].size + (masked ? 4u : 0u);
            assert_int_equal(n, (ssize_t)want);
            assert_int_equal(em_ws_frame_header_size(f.len, masked), want);
            /* the parser reads it back */
            em_ws_frame_parser p;
            em_ws_frame_parser_init(&p, masked ? EM_WS_ROLE_SERVER : EM_WS_ROLE_CLIENT);
            p.max_payload = UINT64_MAX;
            p.max_message = UINT64_MAX;
            assert_int_equal(em_ws_frame_parse(&p, h, (size_t)n), n);
            assert_true(p.frame.len == f.len && p.frame.fin && p.frame.masked == masked);
            assert_int_equal(p.frame.opcode, EM_WS_OP_BINARY);
            if (masked)
                assert_memory_equal(p.frame.mask, f.mask, 4);
        }
    }
    /* RFC 6455 §5.7: a 256-byte and a 64 KiB binary frame */
    char h[EM_WS_MAX_HEADER];
    em_ws_frame f = {.len = 256, .opcode = EM_WS_OP_BINARY, .fin = true};
    assert_int_equal(em_ws_frame_header_write(h, &f), 4);
    assert_memory_equal(h, "\x82\x7e\x01\x00", 4);
    f.len = 65536;
    assert_int_equal(em_ws_frame_header_write(h, &f), 10);
    assert_memory_equal(h, "\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
    f = (em_ws_frame){.len = 3, .opcode = EM_WS_OP_TEXT, .rsv = EM_WS_RSV1, .fin = false};
    assert_int_equal(em_ws_frame_header_write(h, &f), 2);
    assert_memory_equal(h, "\x41\x03", 2);
}

static void test_header_refused(void **state) {
    (void)state;
    char h[EM_WS_MAX_HEADER];
    for (unsigned op = 0; op < 256; op++) {
        em_ws_frame f = {.len = 1, .opcode = (uint8_t)op, .fin = true};
        bool ok = op <= 2 || (op >= 8 && op <= 10);
        assert_int_equal(em_ws_frame_header_write(h, &f) > 0, ok);
    }
    em_ws_frame f = {.len = 126, .opcode = EM_WS_OP_PING, .fin = true};
    assert_int_equal(em_ws_frame_header_write(h, &f), EM_EINVAL);
    f = (em_ws_frame){.len = 1, .opcode = EM_WS_OP_CLOSE, .fin = false};
    assert_int_equal(em_ws_frame_header_write(h, &f), EM_EINVAL);
    f = (em_ws_frame){.len = 1, .opcode = EM_WS_OP_TEXT, .rsv = 0x08, .fin = true};
    assert_int_equal(em_ws_frame_header_write(h, &f), EM_EINVAL);
    f = (em_ws_frame){.len = 1ull << 63, .opcode = EM_WS_OP_TEXT, .fin = true};
    assert_int_equal(em_ws_frame_header_write(h, &f), EM_EINVAL);
}

static int counter_rnd(void *ctx, void *out, size_t n) {
    uint8_t *c = ctx, *o = out;
    for (size_t i = 0; i < n; i++)
        o[i] = (*c)++;
    return 0;
}

static int failing_rnd(void *ctx, void *out, size_t n) {
    (void)ctx;
    (void)out;
    (void)n;
    return EM_EIO;
}

static void test_write_masked(void **state) {
    (void)state;
    static const size_t lens[] = {0, 1, 5, 125, 126, 1000, 65535, 65536, 100003};
    char *pl = malloc(100003), *dst = malloc(100003 + 14);
    for (size_t i = 0; i < 100003; i++)
        pl[i] = (char)(i * 13);
    uint8_t ctr = 0x10;
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        size_t len = lens[li];
        em_ws_frame f = {.len = len, .opcode = EM_WS_OP_TEXT, .fin = true};
        size_t total = em_ws_frame_header_size(len, true) + len;
        assert_int_equal(em_ws_frame_write_masked(dst, total - 1, &f, pl, counter_rnd, &ctr),
                         EM_ENOBUFS);
        assert_false(f.masked);
        ssize_t n = em_ws_frame_write_masked(dst, total, &f, pl, counter_rnd, &ctr);
        assert_int_equal(n, (ssize_t)total);
        assert_true(f.masked);
        assert_int_equal(f.mask[0], (uint8_t)(ctr - 4));
        em_ws_frame_parser p;
        em_ws_frame_parser_init(&p, EM_WS_ROLE_SERVER);
        ssize_t h = em_ws_frame_parse(&p, dst, (size_t)n);
        assert_int_equal(h, (ssize_t)em_ws_frame_header_size(len, true));
        em_slice s;
        assert_int_equal(em_ws_frame_payload(&p, dst + h, (size_t)(n - h), &s), (ssize_t)len);
        assert_memory_equal(s.ptr, pl, len);
    }
    em_ws_frame f = {.len = 3, .opcode = EM_WS_OP_TEXT, .fin = true};
    assert_int_equal(em_ws_frame_write_masked(dst, 100, &f, pl, failing_rnd, NULL), EM_EIO);
    f.opcode = 3;
    assert_int_equal(em_ws_frame_write_masked(dst, 100, &f, pl, counter_rnd, &ctr), EM_EINVAL);
    free(pl);
    free(dst);
}

static void test_random_os(void **state) {
    (void)state;
    uint8_t a[16] = {0}, b[16] = {0};
    assert_int_equal(em_ws_random_os(NULL, a, sizeof a), 0);
    assert_int_equal(em_ws_random_os(NULL, b, sizeof b), 0);
    assert_memory_not_equal(a, b, sizeof a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_sizes),
        cmocka_unit_test(test_header_refused),
        cmocka_unit_test(test_write_masked),
        cmocka_unit_test(test_random_os),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
