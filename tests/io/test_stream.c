/* Tests for io/stream.c: vtable dispatch and em_stream_write_all. */
#include "em_test.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ember/io.h"

/* A fake stream whose writev takes at most `max_write` bytes per call and
 * fails with a scripted error on chosen calls. */
typedef struct fake {
    em_stream base;
    char out[4096];
    size_t out_len;
    size_t max_write;
    int calls;
    int fail_at;      /* writev call number that fails (0: none) */
    ssize_t fail_err; /* what it returns then */
    int shutdowns, closes;
} fake;

static ssize_t fake_read(em_stream *s, void *buf, size_t len) {
    (void)s;
    if (len == 0)
        return 0;
    memset(buf, 'r', len);
    return (ssize_t)len;
}

static ssize_t fake_writev(em_stream *s, const struct iovec *iov, int iovcnt) {
    fake *f = (fake *)s;
    f->calls++;
    if (f->calls == f->fail_at)
        return f->fail_err;
    size_t n = 0;
    for (int i = 0; i < iovcnt && n < f->max_write; i++) {
        size_t k = iov[i].iov_len;
        if (k > f->max_write - n)
            k = f->max_write - n;
        if (k > sizeof f->out - f->out_len)
            k = sizeof f->out - f->out_len;
        memcpy(f->out + f->out_len, iov[i].iov_base, k);
        f->out_len += k;
        n += k;
    }
    return (ssize_t)n;
}

static int fake_shutdown(em_stream *s) {
    ((fake *)s)->shutdowns++;
    return 0;
}

static int fake_close(em_stream *s) {
    ((fake *)s)->closes++;
    return 0;
}

static const em_stream_vtable fake_vt = {fake_read, fake_writev, fake_shutdown, fake_close};
static const em_stream_vtable bare_vt = {fake_read, fake_writev, NULL, NULL};

static void fake_init(fake *f, size_t max_write) {
    memset(f, 0, sizeof *f);
    f->base.vt = &fake_vt;
    f->max_write = max_write;
}

static void test_dispatch(void **state) {
    (void)state;
    fake f;
    fake_init(&f, 100);
    char buf[8];
    assert_int_equal(em_stream_read(&f.base, buf, sizeof buf), 8);
    assert_memory_equal(buf, "rrrrrrrr", 8);
    struct iovec iov[2] = {{"ab", 2}, {"cde", 3}};
    assert_int_equal(em_stream_writev(&f.base, iov, 2), 5);
    assert_memory_equal(f.out, "abcde", 5);
    assert_int_equal(em_stream_shutdown(&f.base), 0);
    assert_int_equal(f.shutdowns, 1);
    assert_int_equal(em_stream_close(&f.base), 0);
    assert_int_equal(f.closes, 1);
}

static void test_bad_streams(void **state) {
    (void)state;
    char buf[4];
    struct iovec iov = {buf, 4};
    assert_int_equal(em_stream_read(NULL, buf, 4), EM_EINVAL);
    assert_int_equal(em_stream_writev(NULL, &iov, 1), EM_EINVAL);
    assert_int_equal(em_stream_write_all(NULL, buf, 4), EM_EINVAL);
    assert_int_equal(em_stream_shutdown(NULL), EM_EINVAL);
    assert_int_equal(em_stream_close(NULL), EM_EINVAL);
    em_stream novt = {NULL};
    assert_int_equal(em_stream_read(&novt, buf, 4), EM_EINVAL);
    assert_int_equal(em_stream_close(&novt), EM_EINVAL);
    fake f;
    fake_init(&f, 10);
    assert_int_equal(em_stream_writev(&f.base, &iov, -1), EM_EINVAL);
    /* Optional entries: shutdown unsupported, close a no-op. */
    f.base.vt = &bare_vt;
    assert_int_equal(em_stream_shutdown(&f.base), EM_ENOTSUP);
    assert_int_equal(em_stream_close(&f.base), 0);
}

static void test_write_all_short_writes(void **state) {
    (void)state;
    static const size_t sizes[] = {1, 2, 3, 7, 64, 1000, 5000};
    char msg[3000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (char)('a' + i % 26);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        fake f;
        fake_init(&f, sizes[k]);
        assert_int_equal(em_stream_write_all(&f.base, msg, sizeof msg), 0);
        assert_int_equal(f.out_len, sizeof msg);
        assert_memory_equal(f.out, msg, sizeof msg);
        assert_int_equal(f.calls, (int)((sizeof msg + sizes[k] - 1) / sizes[k]));
    }
    fake f;
    fake_init(&f, 1);
    assert_int_equal(em_stream_write_all(&f.base, msg, 0), 0);
    assert_int_equal(f.calls, 0);
}

static void test_write_all_errors(void **state) {
    (void)state;
    static const struct {
        int fail_at;
        ssize_t err;
        int want;
        size_t written;
    } cases[] = {
        {1, EM_EPIPE, EM_EPIPE, 0},
        {3, EM_ECONNRESET, EM_ECONNRESET, 20},
        {2, EM_EINTR, 0, 100}, /* interrupted: retried */
        {2, EM_EAGAIN, EM_EAGAIN, 10},
        {2, 0, EM_EIO, 10},   /* no progress and no error: refuse to spin */
        {1, 1000, EM_EIO, 0}, /* claims more than was asked */
    };
    char msg[100];
    memset(msg, 'x', sizeof msg);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fake f;
        fake_init(&f, 10);
        f.fail_at = cases[i].fail_at;
        f.fail_err = cases[i].err;
        assert_int_equal(em_stream_write_all(&f.base, msg, sizeof msg), cases[i].want);
        assert_int_equal(f.out_len, cases[i].written);
    }
}

/* A real fd-backed stream over a socketpair. */
typedef struct fd_stream {
    em_stream base;
    int fd;
} fd_stream;

static ssize_t fd_read(em_stream *s, void *buf, size_t len) {
    ssize_t n = read(((fd_stream *)s)->fd, buf, len);
    return n > 0 ? n : n == 0 ? EM_EOF : em_err_from_errno(errno);
}

static ssize_t fd_writev(em_stream *s, const struct iovec *iov, int iovcnt) {
    ssize_t n = writev(((fd_stream *)s)->fd, iov, iovcnt);
    return n >= 0 ? n : em_err_from_errno(errno);
}

static int fd_shutdown(em_stream *s) {
    return shutdown(((fd_stream *)s)->fd, SHUT_WR) == 0 ? 0 : em_err_from_errno(errno);
}

static int fd_close(em_stream *s) {
    fd_stream *f = (fd_stream *)s;
    int r = close(f->fd);
    f->fd = -1;
    return r == 0 ? 0 : em_err_from_errno(errno);
}

static const em_stream_vtable fd_vt = {fd_read, fd_writev, fd_shutdown, fd_close};

static void test_socketpair(void **state) {
    (void)state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    fd_stream a = {{&fd_vt}, sv[0]}, b = {{&fd_vt}, sv[1]};
    assert_int_equal(em_stream_write_all(&a.base, "ping", 4), 0);
    assert_int_equal(em_stream_shutdown(&a.base), 0);
    char buf[16];
    size_t got = 0;
    ssize_t n;
    while ((n = em_stream_read(&b.base, buf + got, sizeof buf - got)) > 0)
        got += (size_t)n;
    assert_int_equal(n, EM_EOF);
    assert_int_equal(got, 4);
    assert_memory_equal(buf, "ping", 4);
    assert_int_equal(em_stream_close(&a.base), 0);
    assert_int_equal(em_stream_close(&b.base), 0);
    assert_int_equal(em_stream_close(&b.base), EM_EBADF); /* errors pass through */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_bad_streams),
        cmocka_unit_test(test_write_all_short_writes),
        cmocka_unit_test(test_write_all_errors),
        cmocka_unit_test(test_socketpair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
