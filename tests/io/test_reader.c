/* Tests for io/reader.c, over a fake stream that hands out an in-memory
 * byte array in small random pieces (and over a real pipe). */
#include "em_test.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ember/io.h"

typedef struct mem_stream {
    em_stream base;
    const char *data;
    size_t len, pos;
    size_t max_piece; /* each read returns 1..max_piece bytes */
    uint64_t rng;
    int reads;
    int eagain_every; /* every Nth read fails with EM_EAGAIN (0: never) */
    ssize_t end_err;  /* returned at the end instead of EM_EOF (0: EOF) */
} mem_stream;

static uint64_t rng_next(uint64_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static ssize_t mem_read(em_stream *s, void *buf, size_t len) {
    mem_stream *m = (mem_stream *)s;
    m->reads++;
    if (m->eagain_every && m->reads % m->eagain_every == 0)
        return EM_EAGAIN;
    if (m->pos == m->len)
        return m->end_err ? m->end_err : EM_EOF;
    size_t n = 1 + (size_t)(rng_next(&m->rng) % m->max_piece);
    if (n > len)
        n = len;
    if (n > m->len - m->pos)
        n = m->len - m->pos;
    memcpy(buf, m->data + m->pos, n);
    m->pos += n;
    return (ssize_t)n;
}

static const em_stream_vtable mem_vt = {mem_read, NULL, NULL, NULL};

static void mem_init(mem_stream *m, const void *data, size_t len, size_t max_piece, uint64_t seed) {
    memset(m, 0, sizeof *m);
    m->base.vt = &mem_vt;
    m->data = data;
    m->len = len;
    m->max_piece = max_piece;
    m->rng = seed | 1;
}

#define MEM(m, lit, piece) mem_init(&(m), lit, sizeof(lit) - 1, piece, 42)

static void test_read(void **state) {
    (void)state;
    mem_stream m;
    MEM(m, "hello world", 3);
    em_reader r;
    em_reader_init(&r, &m.base, 0);
    char buf[64];
    size_t got = 0;
    ssize_t n;
    assert_int_equal(em_reader_read(&r, buf, 0), 0);
    while ((n = em_reader_read(&r, buf + got, 4)) > 0) {
        assert_true(n <= 4);
        got += (size_t)n;
    }
    assert_int_equal(n, EM_EOF);
    assert_int_equal(got, 11);
    assert_memory_equal(buf, "hello world", 11);
    assert_int_equal(em_reader_read(&r, buf, 4), EM_EOF);
    em_reader_free(&r);
}

static void test_read_big_bypasses_buffer(void **state) {
    (void)state;
    static char data[100000], out[120000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 7);
    mem_stream m;
    mem_init(&m, data, sizeof data, 30000, 7);
    em_reader r;
    em_reader_init(&r, &m.base, 0);
    size_t got = 0;
    ssize_t n;
    /* Every request is at least a chunk (16 KiB). */
    while ((n = em_reader_read(&r, out + got, 20000)) > 0)
        got += (size_t)n;
    assert_int_equal(n, EM_EOF);
    assert_int_equal(got, sizeof data);
    assert_memory_equal(out, data, sizeof data);
    assert_null(r._buf._data); /* never needed its buffer */
    em_reader_free(&r);
}

static void test_read_exact(void **state) {
    (void)state;
    static const size_t pieces[] = {1, 2, 5, 64};
    for (size_t k = 0; k < sizeof pieces / sizeof pieces[0]; k++) {
        mem_stream m;
        MEM(m, "abcdefghij", pieces[k]);
        em_reader r;
        em_reader_init(&r, &m.base, 0);
        char buf[16];
        assert_int_equal(em_reader_read_exact(&r, buf, 0), 0);
        assert_int_equal(em_reader_read_exact(&r, buf, 3), 0);
        assert_memory_equal(buf, "abc", 3);
        assert_int_equal(em_reader_read_exact(&r, buf, 7), 0);
        assert_memory_equal(buf, "defghij", 7);
        assert_int_equal(em_reader_read_exact(&r, buf, 1), EM_EOF);
        em_reader_free(&r);

        MEM(m, "abcdefghij", pieces[k]);
        em_reader_init(&r, &m.base, 0);
        assert_int_equal(em_reader_read_exact(&r, buf, 4), 0);
        assert_int_equal(em_reader_read_exact(&r, buf, 7), EM_EUNEXPECTEDEOF);
        em_reader_free(&r);
    }
}

static void test_read_exact_larger_than_buffer(void **state) {
    (void)state;
    static char data[50000], out[50000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (char)(i * 13 + 1);
    mem_stream m;
    mem_init(&m, data, sizeof data, 999, 3);
    em_reader r;
    em_reader_init(&r, &m.base, 1024);
    assert_int_equal(em_reader_read_exact(&r, out, 10), 0);
    assert_int_equal(em_reader_read_exact(&r, out + 10, sizeof out - 10), 0);
    assert_memory_equal(out, data, sizeof data);
    assert_true(r._buf._cap <= 1024);
    assert_int_equal(em_reader_read_exact(&r, out, 2000), EM_EOF);
    em_reader_free(&r);

    mem_init(&m, data, 3000, 999, 3);
    em_reader_init(&r, &m.base, 1024);
    assert_int_equal(em_reader_read_exact(&r, out, 5000), EM_EUNEXPECTEDEOF);
    em_reader_free(&r);
}

/* EM_EAGAIN part-way must lose nothing: the retry picks up where it was. */
static void test_retry_after_eagain(void **state) {
    (void)state;
    static const char text[] = "line one\r\nline two\nthird line is longer\r\n";
    for (int every = 2; every <= 5; every++) {
        mem_stream m;
        MEM(m, text, 3);
        m.eagain_every = every;
        em_reader r;
        em_reader_init(&r, &m.base, 0);
        static const char *want[] = {"line one", "line two", "third line is longer"};
        for (int i = 0; i < 3; i++) {
            em_slice line;
            ssize_t n;
            while ((n = em_reader_read_line(&r, 0, &line)) == EM_EAGAIN)
                ;
            assert_int_equal(n, (ssize_t)strlen(want[i]));
            assert_true(em_slice_eq(line, em_slice_from_cstr(want[i])));
        }
        em_slice line;
        ssize_t n;
        while ((n = em_reader_read_line(&r, 0, &line)) == EM_EAGAIN)
            ;
        assert_int_equal(n, EM_EOF);
        em_reader_free(&r);

        MEM(m, "0123456789", 2);
        m.eagain_every = every;
        em_reader_init(&r, &m.base, 0);
        char buf[10];
        int err;
        while ((err = em_reader_read_exact(&r, buf, 10)) == EM_EAGAIN)
            ;
        assert_int_equal(err, 0);
        assert_memory_equal(buf, "0123456789", 10);
        em_reader_free(&r);
    }
}

static void test_read_until(void **state) {
    (void)state;
    for (size_t piece = 1; piece <= 8; piece++) {
        mem_stream m;
        MEM(m, "a;bb;;ccc;tail", piece);
        em_reader r;
        em_reader_init(&r, &m.base, 0);
        em_slice s;
        static const char *want[] = {"a;", "bb;", ";", "ccc;"};
        for (int i = 0; i < 4; i++) {
            ssize_t n = em_reader_read_until(&r, ';', 100, &s);
            assert_int_equal(n, (ssize_t)strlen(want[i]));
            assert_true(em_slice_eq(s, em_slice_from_cstr(want[i])));
        }
        assert_int_equal(em_reader_read_until(&r, ';', 100, &s), EM_EUNEXPECTEDEOF);
        assert_int_equal(s.len, 0);
        /* The partial record is still there for a plain read. */
        assert_int_equal(em_reader_buffered(&r), 4);
        char buf[8];
        assert_int_equal(em_reader_read(&r, buf, sizeof buf), 4);
        assert_memory_equal(buf, "tail", 4);
        assert_int_equal(em_reader_read_until(&r, ';', 100, &s), EM_EOF);
        em_reader_free(&r);
    }
}

static void test_read_until_limit(void **state) {
    (void)state;
    static const struct {
        const char *in;
        size_t limit, max;
        ssize_t want;
    } cases[] = {
        {"abcd;", 5, 0, 5}, /* exactly at the limit */
        {"abcde;", 5, 0, EM_ELIMIT},
        {"abcdefghij", 5, 0, EM_ELIMIT},
        {"abcd;", 0, 8, 5}, /* 0: the buffer max */
        {"abcdefgh;", 0, 8, EM_ELIMIT},
        {"abcdefgh;", 100, 8, EM_ELIMIT}, /* clamped to the buffer max */
        {"abcdefg;", 100, 8, 8},
        {"abc", 5, 0, EM_EUNEXPECTEDEOF},
        {"", 5, 0, EM_EOF},
        {";", 1, 0, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t piece = 1; piece <= 3; piece++) {
            mem_stream m;
            mem_init(&m, cases[i].in, strlen(cases[i].in), piece, 9);
            em_reader r;
            em_reader_init(&r, &m.base, cases[i].max);
            em_slice s;
            ssize_t n = em_reader_read_until(&r, ';', cases[i].limit, &s);
            assert_int_equal(n, cases[i].want);
            if (n > 0)
                assert_memory_equal(s.ptr, cases[i].in, (size_t)n);
            assert_true(r._buf._cap <= (cases[i].max ? cases[i].max : 65536));
            em_reader_free(&r);
        }
    }
}

static void test_read_line(void **state) {
    (void)state;
    static const char text[] = "GET / HTTP/1.1\r\nHost: x\n\r\n\nbare\rcr\r\nlast";
    static const char *want[] = {"GET / HTTP/1.1", "Host: x", "", "", "bare\rcr"};
    for (size_t piece = 1; piece <= 16; piece++) {
        mem_stream m;
        MEM(m, text, piece);
        em_reader r;
        em_reader_init(&r, &m.base, 0);
        em_slice line;
        for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
            ssize_t n = em_reader_read_line(&r, 0, &line);
            assert_int_equal(n, (ssize_t)strlen(want[i]));
            assert_int_equal(line.len, strlen(want[i]));
            assert_true(em_slice_eq(line, em_slice_from_cstr(want[i])));
        }
        assert_int_equal(em_reader_read_line(&r, 0, &line), EM_EUNEXPECTEDEOF);
        em_reader_free(&r);
    }
    /* The limit counts the terminator. */
    mem_stream m;
    MEM(m, "abc\r\n", 1);
    em_reader r;
    em_reader_init(&r, &m.base, 0);
    em_slice line;
    assert_int_equal(em_reader_read_line(&r, 4, &line), EM_ELIMIT);
    em_reader_free(&r);
    MEM(m, "abc\r\n", 1);
    em_reader_init(&r, &m.base, 0);
    assert_int_equal(em_reader_read_line(&r, 5, &line), 3);
    em_reader_free(&r);
}

static void test_stream_errors_pass_through(void **state) {
    (void)state;
    mem_stream m;
    MEM(m, "abc", 2);
    m.end_err = EM_ECONNRESET;
    em_reader r;
    em_reader_init(&r, &m.base, 0);
    em_slice s;
    assert_int_equal(em_reader_read_line(&r, 0, &s), EM_ECONNRESET);
    assert_int_equal(em_reader_buffered(&r), 3);
    char buf[8];
    assert_int_equal(em_reader_read_exact(&r, buf, 8), EM_ECONNRESET);
    assert_int_equal(em_reader_read(&r, buf, 8), 3);
    assert_int_equal(em_reader_read(&r, buf, 8), EM_ECONNRESET);
    em_reader_free(&r);
}

/* Many lines of random lengths in random pieces: every line comes back. */
static void test_random_lines(void **state) {
    (void)state;
    enum { N = 2000 };
    static char text[N * 130];
    static size_t lens[N];
    uint64_t rng = 99;
    size_t len = 0;
    for (int i = 0; i < N; i++) {
        lens[i] = (size_t)(rng_next(&rng) % 120);
        for (size_t k = 0; k < lens[i]; k++)
            text[len++] = (char)('a' + (i + (int)k) % 26);
        if (rng_next(&rng) & 1)
            text[len++] = '\r';
        text[len++] = '\n';
    }
    mem_stream m;
    mem_init(&m, text, len, 97, 5);
    em_reader r;
    em_reader_init(&r, &m.base, 256);
    em_slice line;
    for (int i = 0; i < N; i++) {
        assert_int_equal(em_reader_read_line(&r, 0, &line), (ssize_t)lens[i]);
        for (size_t k = 0; k < lens[i]; k++)
            assert_int_equal(line.ptr[k], (char)('a' + (i + (int)k) % 26));
    }
    assert_int_equal(em_reader_read_line(&r, 0, &line), EM_EOF);
    assert_true(r._buf._cap <= 256);
    em_reader_free(&r);
}

/* A real pipe, written by another thread in uneven bursts. */
typedef struct pipe_stream {
    em_stream base;
    int fd;
} pipe_stream;

static ssize_t pipe_read(em_stream *s, void *buf, size_t len) {
    ssize_t n;
    do
        n = read(((pipe_stream *)s)->fd, buf, len);
    while (n < 0 && errno == EINTR);
    return n > 0 ? n : n == 0 ? EM_EOF : em_err_from_errno(errno);
}

static const em_stream_vtable pipe_vt = {pipe_read, NULL, NULL, NULL};

static void *writer(void *arg) {
    int fd = *(int *)arg;
    char line[64];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(line, sizeof line, "line %d\r\n", i);
        for (int off = 0; off < n;) {
            ssize_t w = write(fd, line + off, (size_t)(i % 3 ? n - off : 1));
            if (w <= 0)
                break;
            off += (int)w;
        }
    }
    close(fd);
    return NULL;
}

static void test_pipe(void **state) {
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &p[1]), 0);
    pipe_stream ps = {{&pipe_vt}, p[0]};
    em_reader r;
    em_reader_init(&r, &ps.base, 128);
    em_slice line;
    char want[64];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(want, sizeof want, "line %d", i);
        assert_int_equal(em_reader_read_line(&r, 0, &line), n);
        assert_memory_equal(line.ptr, want, (size_t)n);
    }
    assert_int_equal(em_reader_read_line(&r, 0, &line), EM_EOF);
    pthread_join(t, NULL);
    close(p[0]);
    em_reader_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_read_big_bypasses_buffer),
        cmocka_unit_test(test_read_exact),
        cmocka_unit_test(test_read_exact_larger_than_buffer),
        cmocka_unit_test(test_retry_after_eagain),
        cmocka_unit_test(test_read_until),
        cmocka_unit_test(test_read_until_limit),
        cmocka_unit_test(test_read_line),
        cmocka_unit_test(test_stream_errors_pass_through),
        cmocka_unit_test(test_random_lines),
        cmocka_unit_test(test_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
