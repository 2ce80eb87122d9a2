/* Growable byte buffers with O(1) consume and linear total copying
 * (curl's dynbuf and h2o's buffer are the models). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/io.h"

/* The first allocation; small enough for many idle buffers. */
#define MIN_CAP 64

EM_API void em_buf_init(em_buf *b, size_t max) {
    b->_data = NULL;
    b->_cap = 0;
    b->_rpos = 0;
    b->_wpos = 0;
    b->_max = max ? max : SIZE_MAX;
}

EM_API void em_buf_free(em_buf *b) {
    free(b->_data);
    em_buf_init(b, b->_max);
}

/* Move the readable bytes to the front. */
static void compact(em_buf *b) {
    size_t len = b->_wpos - b->_rpos;
    if (len)
        memmove(b->_data, b->_data + b->_rpos, len);
    b->_rpos = 0;
    b->_wpos = len;
}

/* Grow to hold at least need bytes, dropping the consumed prefix on the way
 * (one copy of the readable bytes either way). */
static int grow(em_buf *b, size_t need) {
    size_t cap = b->_cap > SIZE_MAX / 2 ? SIZE_MAX : b->_cap * 2;
    if (cap < MIN_CAP)
        cap = MIN_CAP;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
    if (cap > b->_max)
        cap = b->_max;
    size_t len = b->_wpos - b->_rpos;
    char *p;
    if (b->_rpos == 0) {
        p = realloc(b->_data, cap);
        if (!p)
            return EM_ENOMEM;
    } else {
        p = malloc(cap);
        if (!p)
            return EM_ENOMEM;
        memcpy(p, b->_data + b->_rpos, len);
        free(b->_data);
    }
    b->_data = p;
    b->_cap = cap;
    b->_rpos = 0;
    b->_wpos = len;
    return 0;
}

EM_API int em_buf_reserve(em_buf *b, size_t n) {
    if (b->_cap - b->_wpos >= n)
        return 0;
    size_t len = b->_wpos - b->_rpos;
    if (n > b->_max - len)
        return EM_ENOBUFS;
    /* Compacting moves len bytes. Doing it only when at least as many bytes
     * were consumed since the last move charges each move to consumed bytes,
     * so total copying stays linear. At max there is no choice. */
    if (b->_cap - len >= n && (b->_rpos >= len || b->_cap == b->_max)) {
        compact(b);
        return 0;
    }
    return grow(b, len + n);
}

EM_API void em_buf_commit(em_buf *b, size_t n) {
    assert(n <= b->_cap - b->_wpos);
    b->_wpos += n;
}

EM_API int em_buf_append(em_buf *b, const void *p, size_t n) {
    if (n == 0)
        return 0;
    int err = em_buf_reserve(b, n);
    if (err)
        return err;
    memcpy(b->_data + b->_wpos, p, n);
    b->_wpos += n;
    return 0;
}

EM_API int em_buf_printf(em_buf *b, const char *fmt, ...) {
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    size_t avail = b->_cap - b->_wpos;
    int n = vsnprintf(avail ? b->_data + b->_wpos : NULL, avail, fmt, ap);
    va_end(ap);
    int err = 0;
    if (n < 0) {
        err = EM_EINVAL;
    } else if ((size_t)n < avail) {
        b->_wpos += (size_t)n;
    } else {
        /* vsnprintf needs room for a NUL we do not keep; when only that byte
         * is missing under max, format aside and copy. */
        err = em_buf_reserve(b, (size_t)n + 1);
        if (err == 0) {
            vsnprintf(b->_data + b->_wpos, (size_t)n + 1, fmt, ap2);
            b->_wpos += (size_t)n;
        } else if (err == EM_ENOBUFS && (err = em_buf_reserve(b, (size_t)n)) == 0) {
            char *tmp = malloc((size_t)n + 1);
            if (!tmp) {
                err = EM_ENOMEM;
            } else {
                vsnprintf(tmp, (size_t)n + 1, fmt, ap2);
                memcpy(b->_data + b->_wpos, tmp, (size_t)n);
                b->_wpos += (size_t)n;
                free(tmp);
            }
        }
    }
    va_end(ap2);
    return err;
}

EM_API void em_buf_consume(em_buf *b, size_t n) {
    assert(n <= b->_wpos - b->_rpos);
    b->_rpos += n;
    /* Empty: restart at the front for free (the bytes stay in memory, so
     * slices into them survive until the next write). */
    if (b->_rpos == b->_wpos)
        b->_rpos = b->_wpos = 0;
}

EM_API void em_buf_clear(em_buf *b) {
    b->_rpos = b->_wpos = 0;
}
