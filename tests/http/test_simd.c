/* The scanners of every SIMD level against byte-by-byte references written
 * here from the RFC's character classes (not from the library's table), on
 * inputs that end at a PROT_NONE page; then whole parses of mutated
 * requests, which must render identically at every level. */
#include "http_test_util.h"

static int ref_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}
static int ref_vstop(unsigned char c) {
    return (c < 0x20 && c != '\t') || c == 0x7f;
}
static int ref_tstop(unsigned char c) {
    return c <= 0x20 || c == '#' || c >= 0x7f;
}
/* RFC 3986 reg-name bytes other than pct-encoded: unreserved, sub-delims. */
static int ref_hostc(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("-._~!$&'()*+,;=", c));
}

/* The exact answer, and whether byte c may be a false stop. */
typedef struct kernel_ref {
    const char *name;
    int (*stop)(unsigned char c);
    int (*false_ok)(unsigned char c);
} kernel_ref;

static int not_tchar(unsigned char c) {
    return !ref_tchar(c);
}
static int never(unsigned char c) {
    (void)c;
    return 0;
}
static int name_false_ok(unsigned char c) {
    return c == '|' || c == '~';
}
static int not_hostc(unsigned char c) {
    return !ref_hostc(c);
}
static int host_false_ok(unsigned char c) {
    return c == ';' || c == '=' || c == '~';
}

static const char *ref_scan(const char *p, const char *end, int (*stop)(unsigned char)) {
    while (p < end && !stop((unsigned char)*p))
        p++;
    return p;
}

static em__http_scan_fn kernel(const em__http_scanners *k, int which) {
    return which == 0 ? k->name : which == 1 ? k->value : which == 2 ? k->target : k->host;
}

static const kernel_ref refs[4] = {
    {"name", not_tchar, name_false_ok},
    {"value", ref_vstop, never},
    {"target", ref_tstop, never},
    {"host", not_hostc, host_false_ok},
};

/* Check one scan of [p, end) (lo = buffer start) at the current level. */
static void check_scan(const em__http_scanners *k, const char *lo, const char *p, const char *end) {
    for (int w = 0; w < 4; w++) {
        const char *want = ref_scan(p, end, refs[w].stop);
        const char *got = kernel(k, w)(p, end, lo);
        if (got != want && !(got < want && refs[w].false_ok((unsigned char)*got)))
            fail_msg("level %d %s: offset %td, want %td (len %td, byte %#x)", k->level,
                     refs[w].name, got - p, want - p, end - p, got < end ? (unsigned char)*got : 0);
    }
    const char *colon;
    const char *v = k->field(p, end, lo, &colon);
    assert_ptr_equal(colon, k->name(p, end, lo));
    assert_ptr_equal(v, colon == end ? end : k->value(colon + 1, end, lo));
}

static const em__http_scanners *level_kernels(int level) {
#if defined(__x86_64__) || defined(__i386__)
    if (level == EM__HTTP_SIMD_SSE42)
        return &em__http_scan_sse42;
    if (level == EM__HTTP_SIMD_AVX2)
        return &em__http_scan_avx2;
#endif
    return &em__http_scan_scalar;
}

/* Every byte value at every position of buffers up to 70 bytes long, every
 * start offset, the buffer ending at the guard page. */
static void test_every_byte_every_position(void **state) {
    (void)state;
    int lv[3], nl = test_levels(lv);
    enum { N = 70 };
    char src[N] = {0};
    guarded g;
    guard_copy(&g, src, N);
    for (int l = 0; l < nl; l++) {
        const em__http_scanners *k = level_kernels(lv[l]);
        for (size_t len = 0; len <= N; len++) {
            char *b = g.data + (N - len);
            for (int c = 0; c < 256; c++) {
                for (size_t pos = 0; pos < len; pos++) {
                    memset(b, 'a', len);
                    b[pos] = (char)c;
                    /* a few starts: the buffer start, and just before pos */
                    check_scan(k, b, b, b + len);
                    if (pos > 0)
                        check_scan(k, b, b + pos - 1, b + len);
                    check_scan(k, b, b + pos, b + len);
                }
            }
            memset(b, 'a', len);
            check_scan(k, b, b, b + len);
            check_scan(k, b, b + len, b + len);
        }
    }
    guard_free(&g);
}

static uint32_t rng_state = 12345;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static char random_byte(void) {
    static const char common[] = "abcXYZ09-_:; ,/=|~\t\r\n\"#()";
    uint32_t r = rnd() % 16;
    if (r < 12)
        return common[rnd() % (sizeof common - 1)];
    return (char)(rnd() & 0xff);
}

static void test_random_buffers(void **state) {
    (void)state;
    int lv[3], nl = test_levels(lv);
    enum { N = 300 };
    char src[N] = {0};
    guarded g;
    guard_copy(&g, src, N);
    for (int iter = 0; iter < 20000; iter++) {
        size_t len = rnd() % N;
        char *b = g.data + (N - len);
        for (size_t i = 0; i < len; i++)
            b[i] = random_byte();
        /* long runs of one class reach the wide loops */
        if (len > 40 && (iter & 1))
            memset(b + rnd() % 20, 'q', 20);
        size_t start = len ? rnd() % (len + 1) : 0;
        for (int l = 0; l < nl; l++)
            check_scan(level_kernels(lv[l]), b, b + start, b + len);
    }
    guard_free(&g);
}

/* Whole requests, mutated: every level must render exactly as scalar. */
static void test_differential_parse(void **state) {
    (void)state;
    static const char *const seeds[] = {
        "GET /index.html?a=1&b=2 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 "
        "(X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\nAccept: text/html,*/*;q=0.8"
        "\r\nAccept-Encoding: gzip, deflate, br\r\nCookie: a=b; c=d; e=fffffffffffffffffffffffff"
        "\r\nConnection: keep-alive\r\n\r\n",
        "POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\nX-Pipe|Tilde~: v\r\n"
        "Expect: 100-continue\r\n\r\nhello",
        "PUT /u HTTP/1.1\r\nHost: [::1]:80\r\nTransfer-Encoding: gzip, chunked\r\nTE: trailers\r\n"
        "\r\n",
        "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\nProxy-Authorization: Basic QWxhZGRpbjpvcGVu"
        "IHNlc2FtZQ==\r\n\r\n",
    };
    int lv[3], nl = test_levels(lv);
    textbuf *ref = malloc(sizeof *ref), *got = malloc(sizeof *got);
    assert_non_null(ref);
    assert_non_null(got);
    char buf[1024];
    for (int iter = 0; iter < 6000; iter++) {
        const char *seed = seeds[iter % 4];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int muts = 1 + (int)(rnd() % 4);
        for (int m = 0; m < muts && n > 1; m++) {
            size_t at = rnd() % n;
            switch (rnd() % 3) {
            case 0:
                buf[at] = random_byte();
                break;
            case 1:
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default:
                if (n < sizeof buf - 1) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = random_byte();
                    n++;
                }
            }
        }
        assert_int_equal(em__http_simd_force(EM__HTTP_SIMD_SCALAR), 0);
        request_whole(buf, n, NULL, ref);
        for (int l = 1; l < nl; l++) {
            assert_int_equal(em__http_simd_force(lv[l]), 0);
            request_whole(buf, n, NULL, got);
            if (strcmp(ref->s, got->s))
                fail_msg("level %d differs on input %d:\n%s\nvs\n%s", lv[l], iter, ref->s, got->s);
            size_t k = rnd() % (n + 1);
            request_split(buf, n, k, NULL, got);
            if (strcmp(ref->s, got->s))
                fail_msg("level %d split %zu differs:\n%s\nvs\n%s", lv[l], k, ref->s, got->s);
        }
    }
    em__http_simd_force(em__http_simd_default());
    free(ref);
    free(got);
}

static void test_force_and_levels(void **state) {
    (void)state;
    int def = em__http_simd_default();
    assert_true(em__http_simd_supported(EM__HTTP_SIMD_SCALAR));
    assert_true(em__http_simd_supported(def));
    assert_int_equal(em__http_simd_force(EM__HTTP_SIMD_SCALAR), 0);
    assert_int_equal(em__http_simd_level(), EM__HTTP_SIMD_SCALAR);
    assert_int_equal(em__http_simd_force(7), EM_ENOTSUP);
    assert_int_equal(em__http_simd_level(), EM__HTTP_SIMD_SCALAR);
    assert_int_equal(em__http_simd_force(def), 0);
    assert_int_equal(em__http_simd_level(), def);
    const char *env = getenv("EMBER_SIMD");
    if (env && !strcmp(env, "off"))
        assert_int_equal(def, EM__HTTP_SIMD_SCALAR);
    print_message("default SIMD level: %d (EMBER_SIMD=%s)\n", def, env ? env : "unset");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_force_and_levels),
        cmocka_unit_test(test_every_byte_every_position),
        cmocka_unit_test(test_random_buffers),
        cmocka_unit_test(test_differential_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
