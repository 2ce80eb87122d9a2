/* Buffered reader over any em_stream: exact reads, delimited records and
 * lines, with a hard bound on the buffer. */
#include <string.h>

#include "ember/io.h"

#define DEFAULT_MAX   (64u * 1024)
#define DEFAULT_CHUNK (16u * 1024)

EM_API void em_reader_init(em_reader *r, em_stream *s, size_t buffer_max) {
    r->_s = s;
    em_buf_init(&r->_buf, buffer_max ? buffer_max : DEFAULT_MAX);
    r->_chunk = r->_buf._max < DEFAULT_CHUNK ? r->_buf._max : DEFAULT_CHUNK;
}

EM_API void em_reader_free(em_reader *r) {
    em_buf_free(&r->_buf);
}

EM_API size_t em_reader_buffered(const em_reader *r) {
    return em_buf_len(&r->_buf);
}

/* A stream read that maps the "0 bytes" of a sloppy stream to EOF and
 * refuses impossible counts. */
static ssize_t stream_read(em_stream *s, void *dst, size_t len) {
    ssize_t n = em_stream_read(s, dst, len);
    if (n == 0)
        return EM_EOF;
    if (n > 0 && (size_t)n > len)
        return EM_EIO;
    return n;
}

/* One stream read into the buffer, asking for at least `need` bytes of room
 * (a chunk if more). Returns bytes read, EM_EOF or an em_err. The caller
 * makes sure the buffer is below max. */
static ssize_t fill(em_reader *r, size_t need) {
    em_buf *b = &r->_buf;
    size_t room = b->_max - em_buf_len(b);
    size_t want = need > r->_chunk ? need : r->_chunk;
    if (want > room)
        want = room;
    if (em_buf_avail(b) < want) {
        int err = em_buf_reserve(b, want);
        if (err)
            return err;
    }
    ssize_t n = stream_read(r->_s, em_buf_wptr(b), em_buf_avail(b));
    if (n > 0)
        em_buf_commit(b, (size_t)n);
    return n;
}

/* Copy up to len buffered bytes out and consume them. */
static size_t take(em_reader *r, void *dst, size_t len) {
    size_t n = em_buf_len(&r->_buf);
    if (n > len)
        n = len;
    if (n) {
        memcpy(dst, em_buf_data(&r->_buf), n);
        em_buf_consume(&r->_buf, n);
    }
    return n;
}

EM_API ssize_t em_reader_read(em_reader *r, void *dst, size_t len) {
    if (len == 0)
        return 0;
    if (em_buf_len(&r->_buf) == 0) {
        /* Big reads skip the buffer: one copy fewer. */
        if (len >= r->_chunk)
            return stream_read(r->_s, dst, len);
        ssize_t n = fill(r, len);
        if (n < 0)
            return n;
    }
    return (ssize_t)take(r, dst, len);
}

EM_API int em_reader_read_exact(em_reader *r, void *dst, size_t n) {
    if (n == 0)
        return 0;
    if (n <= r->_buf._max) {
        /* Gather in the buffer first so an error consumes nothing. */
        while (em_buf_len(&r->_buf) < n) {
            ssize_t got = fill(r, n - em_buf_len(&r->_buf));
            if (got == EM_EOF)
                return em_buf_len(&r->_buf) ? EM_EUNEXPECTEDEOF : EM_EOF;
            if (got < 0)
                return (int)got;
        }
        take(r, dst, n);
        return 0;
    }
    char *p = dst;
    size_t done = take(r, p, n);
    while (done < n) {
        ssize_t got = stream_read(r->_s, p + done, n - done);
        if (got == EM_EOF)
            return done ? EM_EUNEXPECTEDEOF : EM_EOF;
        if (got < 0)
            return (int)got;
        done += (size_t)got;
    }
    return 0;
}

EM_API ssize_t em_reader_read_until(em_reader *r, char delim, size_t limit, em_slice *out) {
    em_buf *b = &r->_buf;
    if (limit == 0 || limit > b->_max)
        limit = b->_max;
    *out = em_slice_make("", 0);
    size_t scanned = 0; /* never rescan bytes already searched */
    for (;;) {
        size_t len = em_buf_len(b);
        const char *p = em_buf_data(b);
        size_t end = len < limit ? len : limit;
        if (end > scanned) {
            const char *q = memchr(p + scanned, delim, end - scanned);
            if (q) {
                size_t n = (size_t)(q - p) + 1;
                *out = em_slice_make(p, n);
                /* Consuming only moves the cursor: the bytes stay put until
                 * the next call writes to the buffer. */
                em_buf_consume(b, n);
                return (ssize_t)n;
            }
            scanned = end;
        }
        if (len >= limit)
            return EM_ELIMIT;
        ssize_t got = fill(r, 1);
        if (got == EM_EOF)
            return len ? EM_EUNEXPECTEDEOF : EM_EOF;
        if (got < 0)
            return got;
    }
}

EM_API ssize_t em_reader_read_line(em_reader *r, size_t limit, em_slice *line) {
    em_slice s;
    ssize_t n = em_reader_read_until(r, '\n', limit, &s);
    if (n < 0) {
        *line = s;
        return n;
    }
    size_t len = (size_t)n - 1;
    if (len > 0 && s.ptr[len - 1] == '\r')
        len--;
    *line = em_slice_make(s.ptr, len);
    return (ssize_t)len;
}
