/* The frame parser: every header rule of RFC 6455 §5 (and RFC 7692's RSV1),
 * each input parsed whole, byte by byte and in random pieces (the same
 * frames, payload and verdict every time), each piece in an exact-size
 * buffer before a PROT_NONE page. */
#include "ws_test_util.h"

typedef struct setup {
    em_ws_role role;
    uint8_t rsv_allowed;
    uint64_t max_payload, max_message;
} setup;

typedef struct outcome {
    char log[65536]; /* one line per frame header, then the payload bytes */
    size_t n;
    ssize_t status; /* EM_EAGAIN: ran out of input */
    int reason;
    size_t lo, hi; /* an error: the failing call had bytes [lo, hi) of the input */
} outcome;

static void logf_(outcome *o, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(o->log + o->n, sizeof o->log - o->n, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof o->log - o->n);
    o->n += (size_t)k;
}

enum { WHOLE, BYTES, PIECES };

/* Feeds in[0, n) in pieces as mode says, each piece copied to its own
 * guarded buffer. */
static void run(const setup *s, const uint8_t *in, size_t n, int mode, uint64_t seed, outcome *o) {
    em_ws_frame_parser p;
    em_ws_frame_parser_init(&p, s->role);
    p.rsv_allowed = s->rsv_allowed;
    p.max_payload = s->max_payload;
    p.max_message = s->max_message;
    memset(o, 0, sizeof *o);
    o->status = EM_EAGAIN;
    size_t off = 0;
    guarded g;
    char *end = guard_alloc(&g, n) + n; /* each piece goes right before the guard */
    while (off < n) {
        size_t step = n - off;
        if (mode == BYTES)
            step = 1;
        else if (mode == PIECES)
            step = 1 + (size_t)(test_rnd(&seed) % 23);
        if (step > n - off)
            step = n - off;
        char *b = end - step;
        memcpy(b, in + off, step);
        size_t at = 0;
        while (at < step) {
            if (em_ws_frame_left(&p) > 0) {
                em_slice sl;
                ssize_t m = em_ws_frame_payload(&p, b + at, step - at, &sl);
                assert_true(m > 0 && (size_t)m <= step - at);
                assert_ptr_equal(sl.ptr, b + at);
                assert_int_equal(sl.len, (size_t)m);
                for (size_t i = 0; i < sl.len; i++)
                    logf_(o, "%02x", (unsigned char)sl.ptr[i]);
                at += (size_t)m;
                continue;
            }
            ssize_t rc = em_ws_frame_parse(&p, b + at, step - at);
            if (rc == EM_EAGAIN) {
                at = step;
                break;
            }
            if (rc < 0) {
                o->status = rc;
                o->reason = p.reason;
                o->lo = off + at;
                o->hi = off + step;
                /* sticky */
                assert_int_equal(em_ws_frame_parse(&p, b + at, step - at), rc);
                guard_free(&g);
                return;
            }
            assert_true(rc > 0 && (size_t)rc <= step - at);
            at += (size_t)rc;
            const em_ws_frame *f = &p.frame;
            logf_(o, "\n[fin=%d rsv=%x op=%x len=%llu masked=%d] ", f->fin, f->rsv, f->opcode,
                  (unsigned long long)f->len, f->masked);
        }
        off += step;
    }
    guard_free(&g);
    o->lo = o->hi = n;
}

/* Runs every split; all must agree. Returns the whole run's outcome. */
static outcome whole_;
static size_t byte_pos; /* the error's position, from the byte-by-byte run */
static const outcome *check_all(const setup *s, const uint8_t *in, size_t n) {
    static outcome o;
    run(s, in, n, WHOLE, 0, &whole_);
    for (int mode = BYTES; mode <= PIECES; mode++) {
        for (uint64_t seed = 1; seed < (mode == BYTES ? 2u : 20u); seed++) {
            run(s, in, n, mode, seed * 0x9e3779b97f4a7c15ull, &o);
            if (o.status != whole_.status || o.reason != whole_.reason || o.n != whole_.n ||
                memcmp(o.log, whole_.log, o.n) != 0)
                fail_msg("mode %d seed %llu: %zd/%d vs whole %zd/%d\n%s\n---\n%s", mode,
                         (unsigned long long)seed, o.status, o.reason, whole_.status, whole_.reason,
                         o.log, whole_.log);
            /* errors are found at the byte that decides them: byte by
             * byte, hi is that byte's end; any other split fails in the
             * call that brings it */
            if (mode == BYTES)
                byte_pos = o.hi;
            else if (o.status != EM_EAGAIN)
                assert_true(o.lo < byte_pos && byte_pos <= o.hi);
        }
    }
    return &whole_;
}

static const setup SERVER = {EM_WS_ROLE_SERVER, 0, 0, 0};
static const setup CLIENT = {EM_WS_ROLE_CLIENT, 0, 0, 0};
static const uint8_t KEY[4] = {0x37, 0xfa, 0x21, 0x3d};

static void expect_error(const setup *s, const uint8_t *in, size_t n, ssize_t err, int reason,
                         size_t at) {
    const outcome *o = check_all(s, in, n);
    if (o->status != err || o->reason != reason)
        fail_msg("want %zd/%d, got %zd/%d", err, reason, o->status, o->reason);
    assert_int_equal(byte_pos, at);
}

/* RFC 6455 §5.7's examples. */
static void test_rfc_examples(void **state) {
    (void)state;
    static const uint8_t hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    const outcome *o = check_all(&CLIENT, hello, sizeof hello);
    assert_int_equal(o->status, EM_EAGAIN);
    assert_string_equal(o->log, "\n[fin=1 rsv=0 op=1 len=5 masked=0] 48656c6c6f");
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    o = check_all(&SERVER, masked, sizeof masked);
    assert_string_equal(o->log, "\n[fin=1 rsv=0 op=1 len=5 masked=1] 48656c6c6f");
    static const uint8_t frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f};
    o = check_all(&CLIENT, frag, sizeof frag);
    assert_string_equal(o->log, "\n[fin=0 rsv=0 op=1 len=3 masked=0] 48656c"
                                "\n[fin=1 rsv=0 op=0 len=2 masked=0] 6c6f");
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    o = check_all(&CLIENT, ping, sizeof ping);
    assert_string_equal(o->log, "\n[fin=1 rsv=0 op=9 len=5 masked=0] 48656c6c6f");
}

/* 0, 125, 126, 65535, 65536 bytes in their minimal forms; the payload
 * unmasked across pieces with the mask phase carried. */
static void test_lengths(void **state) {
    (void)state;
    static const uint64_t lens[] = {0, 1, 125, 126, 127, 65535, 65536, 70001};
    uint8_t *pl = malloc(70001), *fr = malloc(70001 + 14);
    char want[64];
    for (size_t i = 0; i < 70001; i++)
        pl[i] = (uint8_t)(i * 7 + 3);
    for (size_t li = 0; li < sizeof lens / sizeof *lens; li++) {
        uint64_t len = lens[li];
        for (int masked = 0; masked < 2; masked++) {
            size_t n = raw_frame(fr, 0x82, masked, KEY, pl, len, LEN_MIN);
            assert_int_equal(n, len + em_ws_frame_header_size(len, masked));
            setup s = masked ? SERVER : CLIENT;
            s.max_payload = UINT64_MAX;
            em_ws_frame_parser p;
            em_ws_frame_parser_init(&p, s.role);
            p.max_payload = UINT64_MAX;
            /* header, then the payload in pieces of 1..5 bytes */
            ssize_t h = em_ws_frame_parse(&p, (char *)fr, n);
            assert_int_equal(h, (ssize_t)em_ws_frame_header_size(len, masked));
            assert_true(p.frame.len == len && p.frame.masked == masked && p.frame.fin);
            assert_int_equal(em_ws_frame_left(&p), len);
            size_t at = (size_t)h, got = 0;
            while (em_ws_frame_left(&p) > 0) {
                em_slice sl;
                size_t step = 1 + at % 5;
                if (step > n - at)
                    step = n - at;
                ssize_t m = em_ws_frame_payload(&p, (char *)fr + at, step, &sl);
                assert_true(m > 0);
                assert_memory_equal(sl.ptr, pl + got, sl.len);
                got += sl.len;
                at += (size_t)m;
            }
            assert_int_equal(got, len);
            assert_int_equal(at, n);
            if (len <= 300) {
                /* and every split of a frame of that size */
                n = raw_frame(fr, 0x82, masked, KEY, pl, len, LEN_MIN);
                const outcome *o = check_all(&s, fr, n);
                snprintf(want, sizeof want, "\n[fin=1 rsv=0 op=2 len=%llu masked=%d] ",
                         (unsigned long long)len, masked);
                assert_memory_equal(o->log, want, strlen(want));
                assert_int_equal(o->n, strlen(want) + 2 * len);
            }
        }
    }
    free(pl);
    free(fr);
}

/* §5.2: the minimal number of bytes; the top bit of a 64-bit length. */
static void test_length_encodings(void **state) {
    (void)state;
    uint8_t fr[32];
    size_t n = raw_frame(fr, 0x82, false, KEY, NULL, 125, LEN_16);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_LEN_ENCODING, 4);
    n = raw_frame(fr, 0x82, false, KEY, NULL, 0, LEN_16);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_LEN_ENCODING, 4);
    n = raw_frame(fr, 0x82, false, KEY, NULL, 65535, LEN_64);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_LEN_ENCODING, 10);
    n = raw_frame(fr, 0x82, false, KEY, NULL, 126, LEN_64);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_LEN_ENCODING, 10);
    n = raw_frame(fr, 0x82, true, KEY, NULL, 5, LEN_64);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_LEN_ENCODING, 10);
    /* the high bit is refused at its byte, before the rest arrives */
    n = raw_frame(fr, 0x82, false, KEY, NULL, 0x8000000000000000ull, LEN_64);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_LEN_HIGH_BIT, 3);
    n = raw_frame(fr, 0x82, false, KEY, NULL, UINT64_MAX, LEN_64);
    expect_error(&CLIENT, fr, 3, EM_EPROTO, EM_WS_REASON_LEN_HIGH_BIT, 3);
    /* the largest legal length is only too big */
    n = raw_frame(fr, 0x82, false, KEY, NULL, 0x7fffffffffffffffull, LEN_64);
    expect_error(&CLIENT, fr, n, EM_EMSGSIZE, EM_WS_REASON_FRAME_SIZE, 10);
    setup s = CLIENT;
    s.max_payload = UINT64_MAX;
    s.max_message = UINT64_MAX;
    const outcome *o = check_all(&s, fr, n);
    assert_int_equal(o->status, EM_EAGAIN);
    assert_string_equal(o->log, "\n[fin=1 rsv=0 op=2 len=9223372036854775807 masked=0] ");
}

static void test_opcodes(void **state) {
    (void)state;
    uint8_t fr[16];
    for (unsigned op = 0; op < 16; op++) {
        size_t n = raw_frame(fr, 0x80 | op, true, KEY, "ab", 2, LEN_MIN);
        bool known = op == 1 || op == 2 || op == 8 || op == 9 || op == 10;
        if (op == 0) {
            expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_NO_MESSAGE, 1);
        } else if (!known) {
            /* refused at the first byte */
            expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_OPCODE, 1);
        } else {
            const outcome *o = check_all(&SERVER, fr, n);
            assert_int_equal(o->status, EM_EAGAIN);
            assert_int_equal(o->n, strlen("\n[fin=1 rsv=0 op=1 len=2 masked=1] 6162"));
        }
    }
}

static void test_rsv_bits(void **state) {
    (void)state;
    uint8_t fr[64];
    for (unsigned rsv = 0x10; rsv <= 0x70; rsv += 0x10) {
        size_t n = raw_frame(fr, 0x81 | rsv, true, KEY, "hi", 2, LEN_MIN);
        expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_RSV, 1);
    }
    setup s = SERVER;
    s.rsv_allowed = EM_WS_RSV1;
    /* an extension's RSV1 on the first frame of a message only */
    size_t n = raw_frame(fr, 0x41, true, KEY, "a", 1, LEN_MIN);
    n += raw_frame(fr + n, 0x89, true, KEY, "p", 1, LEN_MIN);
    n += raw_frame(fr + n, 0x80, true, KEY, "b", 1, LEN_MIN);
    const outcome *o = check_all(&s, fr, n);
    assert_int_equal(o->status, EM_EAGAIN);
    assert_string_equal(o->log, "\n[fin=0 rsv=40 op=1 len=1 masked=1] 61"
                                "\n[fin=1 rsv=0 op=9 len=1 masked=1] 70"
                                "\n[fin=1 rsv=0 op=0 len=1 masked=1] 62");
    size_t m = raw_frame(fr, 0x41, true, KEY, "a", 1, LEN_MIN);
    n = m + raw_frame(fr + m, 0xc0, true, KEY, "b", 1, LEN_MIN);
    expect_error(&s, fr, n, EM_EPROTO, EM_WS_REASON_RSV, m + 1);
    n = raw_frame(fr, 0xc9, true, KEY, "p", 1, LEN_MIN);
    expect_error(&s, fr, n, EM_EPROTO, EM_WS_REASON_RSV, 1);
    n = raw_frame(fr, 0xa1, true, KEY, "p", 1, LEN_MIN);
    expect_error(&s, fr, n, EM_EPROTO, EM_WS_REASON_RSV, 1);
}

static void test_control_frames(void **state) {
    (void)state;
    uint8_t fr[200], pl[200];
    memset(pl, 'x', sizeof pl);
    for (unsigned op = 8; op <= 10; op++) {
        size_t n = raw_frame(fr, 0x80 | op, true, KEY, pl, 125, LEN_MIN);
        const outcome *o = check_all(&SERVER, fr, n);
        assert_int_equal(o->status, EM_EAGAIN);
        /* 126 bytes: refused at the length byte */
        n = raw_frame(fr, 0x80 | op, true, KEY, pl, 126, LEN_MIN);
        expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_CONTROL_LEN, 2);
        n = raw_frame(fr, 0x80 | op, true, KEY, pl, 5, LEN_16);
        expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_CONTROL_LEN, 2);
        /* fragmented: refused at the first byte */
        n = raw_frame(fr, op, true, KEY, pl, 5, LEN_MIN);
        expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_CONTROL_FRAG, 1);
    }
    size_t n = raw_frame(fr, 0x88, true, KEY, "\x03", 1, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_CLOSE_LEN, 2);
    n = raw_frame(fr, 0x88, true, KEY, NULL, 0, LEN_MIN);
    assert_int_equal(check_all(&SERVER, fr, n)->status, EM_EAGAIN);
}

static void test_mask_rules(void **state) {
    (void)state;
    uint8_t fr[32];
    size_t n = raw_frame(fr, 0x81, false, KEY, "hi", 2, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_MASK, 2);
    n = raw_frame(fr, 0x81, true, KEY, "hi", 2, LEN_MIN);
    expect_error(&CLIENT, fr, n, EM_EPROTO, EM_WS_REASON_MASK, 2);
    /* the zero-filled parser is a server's */
    em_ws_frame_parser p;
    memset(&p, 0, sizeof p);
    n = raw_frame(fr, 0x81, true, KEY, "hi", 2, LEN_MIN);
    assert_int_equal(em_ws_frame_parse(&p, (char *)fr, n), 6);
    em_slice sl;
    assert_int_equal(em_ws_frame_payload(&p, (char *)fr + 6, 2, &sl), 2);
    assert_memory_equal(sl.ptr, "hi", 2);
}

static void test_fragmentation(void **state) {
    (void)state;
    uint8_t fr[128];
    /* continuation with no message */
    size_t n = raw_frame(fr, 0x80, true, KEY, "a", 1, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_NO_MESSAGE, 1);
    /* a new text frame inside a fragmented message */
    size_t m = raw_frame(fr, 0x01, true, KEY, "a", 1, LEN_MIN);
    n = m + raw_frame(fr + m, 0x81, true, KEY, "b", 1, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_IN_MESSAGE, m + 1);
    /* a message ended by FIN, then a continuation */
    m = raw_frame(fr, 0x01, true, KEY, "a", 1, LEN_MIN);
    m += raw_frame(fr + m, 0x80, true, KEY, "b", 1, LEN_MIN);
    n = m + raw_frame(fr + m, 0x80, true, KEY, "c", 1, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EPROTO, EM_WS_REASON_NO_MESSAGE, m + 1);
    /* empty fragments and control frames in between are fine */
    n = raw_frame(fr, 0x02, true, KEY, NULL, 0, LEN_MIN);
    n += raw_frame(fr + n, 0x8a, true, KEY, NULL, 0, LEN_MIN);
    n += raw_frame(fr + n, 0x00, true, KEY, "x", 1, LEN_MIN);
    n += raw_frame(fr + n, 0x89, true, KEY, "pp", 2, LEN_MIN);
    n += raw_frame(fr + n, 0x80, true, KEY, NULL, 0, LEN_MIN);
    n += raw_frame(fr + n, 0x81, true, KEY, "t", 1, LEN_MIN);
    const outcome *o = check_all(&SERVER, fr, n);
    assert_int_equal(o->status, EM_EAGAIN);
    assert_string_equal(o->log, "\n[fin=0 rsv=0 op=2 len=0 masked=1] "
                                "\n[fin=1 rsv=0 op=a len=0 masked=1] "
                                "\n[fin=0 rsv=0 op=0 len=1 masked=1] 78"
                                "\n[fin=1 rsv=0 op=9 len=2 masked=1] 7070"
                                "\n[fin=1 rsv=0 op=0 len=0 masked=1] "
                                "\n[fin=1 rsv=0 op=1 len=1 masked=1] 74");
}

static void test_limits(void **state) {
    (void)state;
    uint8_t fr[4200], pl[2100];
    memset(pl, 'y', sizeof pl);
    setup s = SERVER;
    s.max_payload = 1000;
    size_t n = raw_frame(fr, 0x82, true, KEY, pl, 1000, LEN_MIN);
    assert_int_equal(check_all(&s, fr, n)->status, EM_EAGAIN);
    n = raw_frame(fr, 0x82, true, KEY, pl, 1001, LEN_MIN);
    expect_error(&s, fr, n, EM_EMSGSIZE, EM_WS_REASON_FRAME_SIZE, 4);
    s.max_payload = 100;
    n = raw_frame(fr, 0x82, true, KEY, pl, 101, LEN_MIN);
    expect_error(&s, fr, n, EM_EMSGSIZE, EM_WS_REASON_FRAME_SIZE, 2);
    /* a message of frames within the frame limit crosses the message limit */
    s.max_payload = 0;
    s.max_message = 2000;
    n = raw_frame(fr, 0x02, true, KEY, pl, 1000, LEN_MIN);
    n += raw_frame(fr + n, 0x89, true, KEY, pl, 100, LEN_MIN);
    size_t m = n + raw_frame(fr + n, 0x00, true, KEY, pl, 1000, LEN_MIN);
    assert_int_equal(check_all(&s, fr, m)->status, EM_EAGAIN);
    m = n + raw_frame(fr + n, 0x00, true, KEY, pl, 1001, LEN_MIN);
    expect_error(&s, fr, m, EM_EMSGSIZE, EM_WS_REASON_MESSAGE_SIZE, n + 4);
    /* defaults */
    n = raw_frame(fr, 0x82, true, KEY, NULL, EM_WS_DEFAULT_MAX_PAYLOAD + 1, LEN_MIN);
    expect_error(&SERVER, fr, n, EM_EMSGSIZE, EM_WS_REASON_FRAME_SIZE, 10);
}

static void test_api_contract(void **state) {
    (void)state;
    uint8_t fr[32];
    em_ws_frame_parser p;
    em_ws_frame_parser_init(&p, EM_WS_ROLE_SERVER);
    assert_int_equal(em_ws_frame_parse(&p, "", 0), EM_EAGAIN);
    size_t n = raw_frame(fr, 0x81, true, KEY, "hello", 5, LEN_MIN);
    assert_int_equal(em_ws_frame_parse(&p, (char *)fr, 3), EM_EAGAIN);
    assert_int_equal(em_ws_frame_parse(&p, (char *)fr + 3, n - 3), 3);
    /* a header while the payload is pending is a caller's mistake */
    assert_int_equal(em_ws_frame_parse(&p, (char *)fr + 6, n - 6), EM_EINVAL);
    em_slice sl;
    assert_int_equal(em_ws_frame_payload(&p, (char *)fr + 6, 2, &sl), 2);
    assert_int_equal(em_ws_frame_left(&p), 3);
    assert_int_equal(em_ws_frame_payload(&p, (char *)fr + 8, 10, &sl), 3);
    assert_memory_equal(fr + 6, "hello", 5);
    assert_int_equal(em_ws_frame_left(&p), 0);
    assert_int_equal(em_ws_frame_payload(&p, (char *)fr, 10, &sl), 0);
    assert_int_equal(sl.len, 0);
    assert_int_equal(em_ws_close_code(EM_EPROTO), 1002);
    assert_int_equal(em_ws_close_code(EM_EMSGSIZE), 1009);
    assert_int_equal(em_ws_close_code(EM_EPARSE), 1007);
    assert_int_equal(em_ws_close_code(0), 1000);
    assert_int_equal(em_ws_close_code(EM_ENOMEM), 1011);
}

/* Random valid streams: many frames of random kinds, split at random. */
static void test_random_streams(void **state) {
    (void)state;
    uint64_t rng = 0x1234567;
    static uint8_t fr[1 << 16], pl[400];
    for (int iter = 0; iter < 200; iter++) {
        size_t n = 0;
        bool open = false;
        em_ws_role role = iter & 1 ? EM_WS_ROLE_CLIENT : EM_WS_ROLE_SERVER;
        for (int k = 0; k < 20; k++) {
            uint64_t x = test_rnd(&rng);
            size_t len = (size_t)(x % 4 == 0 ? x >> 8 & 0xff : (x >> 8) % 400);
            for (size_t i = 0; i < len; i++)
                pl[i] = (uint8_t)test_rnd(&rng);
            unsigned op;
            bool fin = x >> 40 & 1;
            if (x >> 41 & 1) {
                op = 8 + (unsigned)(x >> 42) % 3;
                fin = true;
                if (len > 125)
                    len = 125;
                if (op == 8 && len == 1)
                    len = 0;
            } else {
                op = open ? 0 : 1 + (unsigned)(x >> 42 & 1);
                open = !fin;
            }
            uint8_t key[4];
            memcpy(key, &x, 4);
            n += raw_frame(fr + n, (fin ? 0x80 : 0) | op, role == EM_WS_ROLE_SERVER, key, pl, len,
                           LEN_MIN);
        }
        setup s = {role, 0, 0, 0};
        assert_int_equal(check_all(&s, fr, n)->status, EM_EAGAIN);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc_examples),     cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_length_encodings), cmocka_unit_test(test_opcodes),
        cmocka_unit_test(test_rsv_bits),         cmocka_unit_test(test_control_frames),
        cmocka_unit_test(test_mask_rules),       cmocka_unit_test(test_fragmentation),
        cmocka_unit_test(test_limits),           cmocka_unit_test(test_api_contract),
        cmocka_unit_test(test_random_streams),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
