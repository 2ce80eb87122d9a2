/* ws/conn_pmd.c: permessage-deflate on a connection: compressed messages
 * in and out on both ends, with and without context takeover, fragmented
 * and split across reads; the limit after inflating (1009), corrupt data
 * (1007), RSV1 where it may not be (1002); broadcast frames compressed
 * once; memory. The peer compresses and inflates with the other role's
 * em__ws_pmd. */
#include "ws_conn_util.h"

typedef struct peer_z {
    em__ws_pmd *z;
} peer_z;

static void peer_z_init(peer_z *p, const harness *h, const em__ws_pmd_params *params) {
    em_ws_role other = h->role == EM_WS_ROLE_SERVER ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER;
    p->z = em__ws_pmd_new(NULL, other, params, NULL);
    assert_non_null(p->z);
}

/* The peer sends msg compressed, in frames of at most frag bytes. */
static void peer_send_z(harness *h, peer_z *p, int op, const char *msg, size_t n, size_t frag) {
    em_buf z;
    em_buf_init(&z, 0);
    assert_int_equal(em__ws_pmd_compress(p->z, em_slice_make(msg, n), &z), 0);
    size_t len = em_buf_len(&z), off = 0;
    do {
        size_t k = len - off < frag ? len - off : frag;
        unsigned b0 = (off == 0 ? (unsigned)op | EM_WS_RSV1 : 0) | (off + k == len ? 0x80 : 0);
        h_send_frame(h, b0, em_buf_data(&z) + off, k);
        off += k;
    } while (off < len);
    em_buf_free(&z);
}

/* The peer reads one message and inflates it when RSV1 is set. */
static int peer_read_z(harness *h, peer_z *p, em_buf *out, bool *compressed) {
    em_slice s;
    em_ws_frame f;
    int op = h_read_frame(h, &s, &f, 3000);
    em_buf_clear(out);
    *compressed = f.rsv & EM_WS_RSV1;
    if (*compressed)
        assert_int_equal(em__ws_pmd_inflate(p->z, s, true, UINT64_MAX, out), 0);
    else
        assert_int_equal(em_buf_append(out, s.ptr, s.len), 0);
    return op;
}

static void test_round_trip(void **state) {
    (void)state;
    static char text[5000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "the quick brown fox "[i % 20];
    for (int role = 0; role < 2; role++) {
        for (int nct = 0; nct < 2; nct++) {
            em__ws_pmd_params params = {nct, nct, 15, 15};
            harness h;
            h_init(&h, role);
            h.pmd = &params;
            h_start(&h);
            assert_true(em_ws_deflate_on(h.ws));
            peer_z pz;
            peer_z_init(&pz, &h, &params);
            /* in: whole, twice (the second refers back with takeover),
             * fragmented, and split at many points */
            peer_send_z(&h, &pz, EM_WS_OP_TEXT, text, sizeof text, 1 << 20);
            peer_send_z(&h, &pz, EM_WS_OP_TEXT, text, sizeof text, 1 << 20);
            peer_send_z(&h, &pz, EM_WS_OP_BINARY, text, 3000, 7);
            peer_send_z(&h, &pz, EM_WS_OP_TEXT, "", 0, 100);
            h_until(&h, &h.nmsgs, 4, 3000);
            assert_int_equal(h.nmsgs, 4);
            for (int i = 0; i < 2; i++) {
                assert_int_equal(h.msgs[i].len, sizeof text);
                assert_memory_equal(h.msgs[i].data, text, sizeof text);
            }
            assert_int_equal(h.msgs[2].op, EM_WS_OP_BINARY);
            assert_int_equal(h.msgs[2].len, 3000);
            assert_int_equal(h.msgs[3].len, 0);
            /* out: at least min_size compressed, shorter plain */
            em_buf got;
            em_buf_init(&got, 0);
            bool z;
            for (int i = 0; i < 2; i++)
                assert_int_equal(em_ws_send_text(h.ws, em_slice_make(text, sizeof text), NULL), 0);
            assert_int_equal(em_ws_send_text(h.ws, EM_SLICE_LIT("short"), NULL), 0);
            for (int i = 0; i < 2; i++) {
                assert_int_equal(peer_read_z(&h, &pz, &got, &z), EM_WS_OP_TEXT);
                assert_true(z);
                assert_int_equal(em_buf_len(&got), sizeof text);
                assert_memory_equal(em_buf_data(&got), text, sizeof text);
            }
            assert_int_equal(peer_read_z(&h, &pz, &got, &z), EM_WS_OP_TEXT);
            assert_false(z);
            assert_true(em_slice_eq(em_buf_slice(&got), EM_SLICE_LIT("short")));
            em_buf_free(&got);
            em__ws_pmd_free(pz.z);
            h_finish(&h);
        }
    }
}

/* A compressed message split across reads at every byte. */
static void test_every_split(void **state) {
    (void)state;
    em__ws_pmd_params params = {false, false, 15, 15};
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.pmd = &params;
    h_start(&h);
    peer_z pz;
    peer_z_init(&pz, &h, &params);
    const char *msg = "h\xc3\xa9llo h\xc3\xa9llo h\xc3\xa9llo";
    for (int i = 0; i < 40; i++) {
        em_buf z;
        em_buf_init(&z, 0);
        assert_int_equal(em__ws_pmd_compress(pz.z, em_slice_from_cstr(msg), &z), 0);
        uint8_t f[128];
        size_t n =
            h_frame(&h, f, 0x80 | EM_WS_OP_TEXT | EM_WS_RSV1, em_buf_data(&z), em_buf_len(&z));
        size_t k = (size_t)i % (n + 1);
        h_send(&h, f, k);
        h_turn(&h);
        h_send(&h, f + k, n - k);
        h_until(&h, &h.nmsgs, i + 1, 2000);
        assert_string_equal(h.msgs[i].data, msg);
        em_buf_free(&z);
    }
    em__ws_pmd_free(pz.z);
    h_finish(&h);
}

static void expect_close(harness *h, int code, int err) {
    h_expect_close(h, code);
    h_close_peer(h);
    h_until(h, &h->closed, 1, 2000);
    assert_int_equal(h->close_code, code);
    assert_int_equal(h->close_err, err);
    h_finish(h);
}

static void test_failures(void **state) {
    (void)state;
    em__ws_pmd_params params = {true, true, 15, 15};
    static char zeros[100000];
    /* past max_message once inflated: 1009, though the wire bytes are few */
    harness h;
    h_init(&h, EM_WS_ROLE_SERVER);
    h.pmd = &params;
    h.opts.max_message = 1000;
    h_start(&h);
    peer_z pz;
    peer_z_init(&pz, &h, &params);
    peer_send_z(&h, &pz, EM_WS_OP_BINARY, zeros, 1000, 1 << 20); /* exactly: fine */
    h_until(&h, &h.nmsgs, 1, 2000);
    assert_int_equal(h.msgs[0].len, 1000);
    peer_send_z(&h, &pz, EM_WS_OP_BINARY, zeros, sizeof zeros, 1 << 20);
    expect_close(&h, 1009, EM_EMSGSIZE);
    em__ws_pmd_free(pz.z);
    /* deflate on, a message sent uncompressed: max_message holds it too,
     * whole or fragmented (the wire bound's room is for compressed data) */
    for (int frag = 0; frag < 2; frag++) {
        h_init(&h, EM_WS_ROLE_SERVER);
        h.pmd = &params;
        h.opts.max_message = 1000;
        h_start(&h);
        h_send_frame(&h, 0x80 | EM_WS_OP_BINARY, zeros, 1000); /* exactly: fine */
        h_until(&h, &h.nmsgs, 1, 2000);
        if (frag) {
            h_send_frame(&h, EM_WS_OP_BINARY, zeros, 700);
            h_send_frame(&h, 0x80, zeros, 700);
        } else {
            h_send_frame(&h, 0x80 | EM_WS_OP_BINARY, zeros, 1001);
        }
        expect_close(&h, 1009, EM_EMSGSIZE);
        assert_int_equal(h.nmsgs, 1);
    }
    /* corrupt data: 1007 */
    h_init(&h, EM_WS_ROLE_SERVER);
    h.pmd = &params;
    h_start(&h);
    h_send_frame(&h, 0x80 | EM_WS_OP_BINARY | EM_WS_RSV1, "\xff\xff\xff\xff", 4);
    expect_close(&h, 1007, EM_EPARSE);
    /* RSV1 on a continuation frame: 1002 */
    h_init(&h, EM_WS_ROLE_SERVER);
    h.pmd = &params;
    h_start(&h);
    h_send_frame(&h, EM_WS_OP_BINARY, "ab", 2);
    h_send_frame(&h, 0x80 | EM_WS_RSV1, "cd", 2);
    expect_close(&h, 1002, EM_EPROTO);
    /* compressed text that inflates to invalid UTF-8: 1007 */
    h_init(&h, EM_WS_ROLE_CLIENT);
    h.pmd = &params;
    h_start(&h);
    peer_z_init(&pz, &h, &params);
    peer_send_z(&h, &pz, EM_WS_OP_TEXT, "ok\xc0 no", 6, 1 << 20);
    expect_close(&h, 1007, EM_EPARSE);
    em__ws_pmd_free(pz.z);
}

/* Broadcast: compressed once, sent compressed to connections whose
 * compressor resets per message with the full window, plain to others. */
static void test_frame_buf_deflate(void **state) {
    (void)state;
    static char text[4000];
    memset(text, 'w', sizeof text);
    em_ws_frame_buf *fb;
    assert_int_equal(
        em_ws_frame_buf_new(&fb, EM_WS_OP_TEXT, em_slice_make(text, sizeof text), true), 0);
    em__ws_pmd_params cases[3] = {
        {true, false, 15, 15}, {false, false, 15, 15}, {true, false, 10, 15}};
    for (int i = 0; i < 4; i++) {
        harness h;
        h_init(&h, EM_WS_ROLE_SERVER);
        h.pmd = i < 3 ? &cases[i] : NULL;
        h_start(&h);
        h_run_ms(&h, 1);
        peer_z pz = {0};
        if (h.pmd)
            peer_z_init(&pz, &h, h.pmd);
        int rc = em_ws_send_frame_buf(h.ws, fb, NULL);
        assert_true(rc == 0 || rc == EM_WS_FULL);
        em_buf got;
        em_buf_init(&got, 0);
        bool z;
        if (pz.z) {
            assert_int_equal(peer_read_z(&h, &pz, &got, &z), EM_WS_OP_TEXT);
        } else {
            em_slice s;
            em_ws_frame f;
            assert_int_equal(h_read_frame(&h, &s, &f, 2000), EM_WS_OP_TEXT);
            z = f.rsv & EM_WS_RSV1;
            assert_int_equal(em_buf_append(&got, s.ptr, s.len), 0);
        }
        assert_int_equal(z, i == 0);
        assert_int_equal(em_buf_len(&got), sizeof text);
        assert_memory_equal(em_buf_data(&got), text, sizeof text);
        em_buf_free(&got);
        if (pz.z)
            em__ws_pmd_free(pz.z);
        h_finish(&h);
    }
    em_ws_frame_buf_release(fb);
}

/* With context takeover the zlib state is counted; without it, an idle
 * connection holds none. */
static void test_memory(void **state) {
    (void)state;
    for (int nct = 0; nct < 2; nct++) {
        em__ws_pmd_params params = {nct, nct, 15, 15};
        harness h;
        h_init(&h, EM_WS_ROLE_SERVER);
        h.pmd = &params;
        h_start(&h);
        peer_z pz;
        peer_z_init(&pz, &h, &params);
        static char text[1000];
        memset(text, 'a', sizeof text);
        peer_send_z(&h, &pz, EM_WS_OP_TEXT, text, sizeof text, 1 << 20);
        h_until(&h, &h.nmsgs, 1, 2000);
        assert_int_equal(em_ws_send_text(h.ws, em_slice_make(text, sizeof text), NULL), 0);
        h_run_ms(&h, 5);
        size_t mem = em_ws_memory(h.ws);
        print_message("em_ws_memory with%s context takeover after a message each way: %zu\n",
                      nct ? "out" : "", mem);
        if (nct)
            assert_true(mem < sizeof(struct em_ws) + 256);
        else
            assert_true(mem > sizeof(struct em_ws) + 32 * 1024);
        em__ws_pmd_free(pz.z);
        h_finish(&h);
    }
}

/* A compressed message refused by the send queue (EM_ENOBUFS, nothing
 * sent) must leave no trace in a compressor that keeps its context: the
 * peer's window never saw it, so a later message may not refer to it
 * (RFC 7692 §7.2.1: with context takeover both ends share one history). */
static void test_refused_send_not_in_window(void **state) {
    (void)state;
    static char text[5000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof text; i++) {
        x = x * 1103515245u + 12345u;
        text[i] = (char)('a' + (x >> 16) % 26);
    }
    for (int role = 0; role < 2; role++) {
        em__ws_pmd_params params = {false, false, 15, 15};
        harness h;
        h_init(&h, role);
        h.pmd = &params;
        h.opts.max_queue = 2048; /* the whole message compresses to ~3 KB */
        h_start(&h);
        peer_z pz;
        peer_z_init(&pz, &h, &params);
        assert_int_equal(em_ws_send_text(h.ws, em_slice_make(text, sizeof text), NULL), EM_ENOBUFS);
        /* its first 1000 bytes again: a match against the refused copy
         * would reach into history the peer does not have */
        int rc = em_ws_send_text(h.ws, em_slice_make(text, 1000), NULL);
        assert_true(rc == 0 || rc == EM_WS_FULL);
        em_buf got;
        em_buf_init(&got, 0);
        bool z;
        assert_int_equal(peer_read_z(&h, &pz, &got, &z), EM_WS_OP_TEXT);
        assert_true(z);
        assert_int_equal(em_buf_len(&got), 1000);
        assert_memory_equal(em_buf_data(&got), text, 1000);
        em_buf_free(&got);
        em__ws_pmd_free(pz.z);
        h_finish(&h);
    }
}

/* Streaming (on_message_part) has no max_message, but one read of a bomb
 * must not become one huge piece: deflate reaches 1032:1, so a 64 KiB
 * read would be inflated into 64 MiB at once. Pieces stay small. */
static size_t stream_max_piece, stream_total;
static int stream_done;

static void on_part_sizes(em_ws *ws, int op, em_slice d, bool last) {
    (void)ws;
    assert_int_equal(op, EM_WS_OP_BINARY);
    if (d.len > stream_max_piece)
        stream_max_piece = d.len;
    for (size_t i = 0; i < d.len; i++)
        if (d.ptr[i] != 0)
            fail_msg("byte %zu of the message is %d", stream_total + i, d.ptr[i]);
    stream_total += d.len;
    stream_done += last;
}

static void test_stream_bomb_pieces(void **state) {
    (void)state;
    size_t n = 32u << 20;
    char *zeros = calloc(1, n);
    assert_non_null(zeros);
    for (int nct = 0; nct < 2; nct++) {
        em__ws_pmd_params params = {nct, nct, 15, 15};
        harness h;
        h_init(&h, EM_WS_ROLE_SERVER);
        h.cbs.on_message_part = on_part_sizes;
        h.pmd = &params;
        h_start(&h);
        peer_z pz;
        peer_z_init(&pz, &h, &params);
        stream_max_piece = stream_total = 0;
        stream_done = 0;
        peer_send_z(&h, &pz, EM_WS_OP_BINARY, zeros, n, 1 << 20);
        h_until(&h, &stream_done, 1, 10000);
        assert_int_equal(stream_total, n);
        print_message("largest piece of a %zu-byte bomb: %zu\n", n, stream_max_piece);
        assert_true(stream_max_piece <= 1024 * 1024);
        em__ws_pmd_free(pz.z);
        h_finish(&h);
    }
    free(zeros);
}

/* Streamed compressed text comes out whole, code points split across the
 * inflate slices carried to the next piece. */
static em_buf stream_acc;

static void on_part_acc(em_ws *ws, int op, em_slice d, bool last) {
    (void)ws;
    assert_int_equal(op, EM_WS_OP_TEXT);
    assert_int_equal(em_buf_append(&stream_acc, d.ptr, d.len), 0);
    stream_done += last;
}

static void test_stream_text_slices(void **state) {
    (void)state;
    static const char *const words[] = {"κόσμε ", "𝄞 ", "✓ ", "ascii ", "é"};
    em_buf text;
    em_buf_init(&text, 0);
    uint32_t x = 7;
    while (em_buf_len(&text) < 300000) {
        x = x * 1103515245u + 12345u;
        const char *w = words[(x >> 16) % 5];
        assert_int_equal(em_buf_append(&text, w, strlen(w)), 0);
    }
    em__ws_pmd_params params = {false, false, 15, 15};
    harness h;
    h_init(&h, EM_WS_ROLE_CLIENT);
    h.cbs.on_message_part = on_part_acc;
    h.pmd = &params;
    h_start(&h);
    peer_z pz;
    peer_z_init(&pz, &h, &params);
    em_buf_init(&stream_acc, 0);
    stream_done = 0;
    peer_send_z(&h, &pz, EM_WS_OP_TEXT, em_buf_data(&text), em_buf_len(&text), 3000);
    h_until(&h, &stream_done, 1, 10000);
    assert_int_equal(em_buf_len(&stream_acc), em_buf_len(&text));
    assert_memory_equal(em_buf_data(&stream_acc), em_buf_data(&text), em_buf_len(&text));
    em_buf_free(&stream_acc);
    em_buf_free(&text);
    em__ws_pmd_free(pz.z);
    h_finish(&h);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_every_split),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_frame_buf_deflate),
        cmocka_unit_test(test_memory),
        cmocka_unit_test(test_refused_send_not_in_window),
        cmocka_unit_test(test_stream_bomb_pieces),
        cmocka_unit_test(test_stream_text_slices),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
