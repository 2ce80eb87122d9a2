/** @file
 * ember io: byte slices, growable buffers, the stream interface and a
 * buffered reader over any stream.
 *
 * None of these types is thread-safe; use each from one thread at a time.
 */
#ifndef EMBER_IO_H
#define EMBER_IO_H

#include <stdarg.h>
#include <string.h>
#include <sys/uio.h>

#include "ember/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- slices ----------------------------------------------------------- */

/** A borrowed view of bytes: never NUL-terminated by contract. Whoever hands
 * out a slice says how long the bytes stay valid. */
typedef struct em_slice {
    const char *ptr; /**< first byte; may be NULL when len is 0 */
    size_t len;      /**< number of bytes at ptr */
} em_slice;

/** A slice of a string literal (no strlen at run time). */
#define EM_SLICE_LIT(s) ((em_slice){ "" s, sizeof(s) - 1 })

/** A slice of the n bytes at p (borrowed: p must outlive the slice). */
static inline em_slice em_slice_make(const void *p, size_t n) {
    em_slice s = { (const char *)p, n };
    return s;
}
/** Slice of a NUL-terminated string (NULL gives the empty slice). */
EM_API em_slice em_slice_from_cstr(const char *s);
/** Byte-wise equality. */
EM_API bool em_slice_eq(em_slice a, em_slice b);
/** ASCII case-insensitive equality (HTTP tokens, header names). */
EM_API bool em_slice_eq_nocase(em_slice a, em_slice b);
/** True if s begins with the bytes of prefix (an empty prefix always matches). */
EM_API bool em_slice_starts_with(em_slice s, em_slice prefix);
/** Index of the first byte c in s, or -1. */
EM_API ssize_t em_slice_find_byte(em_slice s, char c);
/** Index of the first occurrence of needle in s, or -1 (empty needle: 0). */
EM_API ssize_t em_slice_find(em_slice s, em_slice needle);
/** s without leading and trailing spaces and tabs (HTTP OWS). */
EM_API em_slice em_slice_trim(em_slice s);
/** Bytes [off, off+n) of s, clamped to s. */
EM_API em_slice em_slice_sub(em_slice s, size_t off, size_t n);
/** Parse an unsigned decimal with no sign, no spaces, no overflow (at least
 * one digit). Returns 0 or EM_EINVAL / EM_ERANGE. */
EM_API EM_NODISCARD int em_slice_to_u64(em_slice s, uint64_t *out);

/* ---- growable buffers ------------------------------------------------- */

/** A byte buffer with a read cursor and a write cursor: data lives in
 * [rpos, wpos), free space in [wpos, cap). Consuming moves rpos (O(1)); the
 * bytes are moved to the front only when that frees enough room for a
 * reserve, so the total copying is linear in the bytes that pass through.
 * The buffer never grows past `max`: writes beyond it fail with EM_ENOBUFS.
 * Once the allocation is at max, a reserve that fits is honoured by
 * compacting even when that moves more than it frees (reserve in chunks). */
typedef struct em_buf {
    char *_data;
    size_t _cap;
    size_t _rpos;
    size_t _wpos;
    size_t _max;
} em_buf;

/** Empty buffer that may grow to max bytes (0 means SIZE_MAX). Allocates
 * nothing until the first write. */
EM_API void em_buf_init(em_buf *b, size_t max);
/** Release the allocation; b stays usable as an empty buffer with the same
 * max. Invalidates slices into b. */
EM_API void em_buf_free(em_buf *b);
/** Readable bytes. */
static inline size_t em_buf_len(const em_buf *b) { return b->_wpos - b->_rpos; }
/** The readable bytes; never NULL (a buffer with no allocation gives ""), so
 * the result is safe to pass to memcpy and friends. */
static inline const char *em_buf_data(const em_buf *b) {
    return b->_data ? b->_data + b->_rpos : "";
}
/** The readable bytes as a slice, valid until the next change to b. */
static inline em_slice em_buf_slice(const em_buf *b) {
    return em_slice_make(em_buf_data(b), b->_wpos - b->_rpos);
}
/** Writable bytes available without growing. */
static inline size_t em_buf_avail(const em_buf *b) { return b->_cap - b->_wpos; }
/** The most bytes b may hold (SIZE_MAX when em_buf_init was given 0). */
static inline size_t em_buf_max(const em_buf *b) { return b->_max; }
/** Bytes allocated (0 before the first write); shrink with em_buf_free. */
static inline size_t em_buf_cap(const em_buf *b) { return b->_cap; }
/** Where to write; NULL only while nothing is allocated (avail is then 0). */
static inline char *em_buf_wptr(em_buf *b) { return b->_data ? b->_data + b->_wpos : NULL; }
/** Make at least n bytes writable at em_buf_wptr() (compacting or growing).
 * Returns 0, EM_ENOBUFS past max, or EM_ENOMEM. Invalidates slices into b. */
EM_API EM_NODISCARD int em_buf_reserve(em_buf *b, size_t n);
/** Mark n bytes written at em_buf_wptr() (n <= em_buf_avail()). */
EM_API void em_buf_commit(em_buf *b, size_t n);
/** Copy n bytes from p to the end. Returns 0, EM_ENOBUFS past max, or
 * EM_ENOMEM (nothing appended then). */
EM_API EM_NODISCARD int em_buf_append(em_buf *b, const void *p, size_t n);
/** em_buf_append() of the bytes of s. */
static inline int em_buf_append_slice(em_buf *b, em_slice s) {
    return em_buf_append(b, s.ptr, s.len);
}
/** Append printf-style formatted text (no NUL kept). Returns 0, EM_ENOBUFS
 * past max, EM_ENOMEM, or EM_EINVAL for a format error. */
EM_API EM_NODISCARD int em_buf_printf(em_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Drop n readable bytes from the front (n <= em_buf_len()). O(1). */
EM_API void em_buf_consume(em_buf *b, size_t n);
/** Drop everything; keeps the allocation. */
EM_API void em_buf_clear(em_buf *b);

/* ---- streams ---------------------------------------------------------- */

typedef struct em_stream em_stream;

/** The small const vtable every byte stream provides (TCP now, TLS later).
 * read returns bytes read (>0), EM_EOF at end of stream, or an em_err;
 * writev returns bytes written (may be short) or an em_err. */
typedef struct em_stream_vtable {
    /** Read up to len bytes into buf: the count (> 0), EM_EOF, or an em_err. */
    ssize_t (*read)(em_stream *s, void *buf, size_t len);
    /** Write from iov[0..iovcnt): bytes written (may be short) or an em_err. */
    ssize_t (*writev)(em_stream *s, const struct iovec *iov, int iovcnt);
    /** End the write direction: 0 or an em_err. May be NULL
     * (em_stream_shutdown() then returns EM_ENOTSUP). */
    int (*shutdown)(em_stream *s);
    /** Close the stream and release what it holds: 0 or an em_err. May be
     * NULL. */
    int (*close)(em_stream *s);
} em_stream_vtable;

/** Embed as the first member of a concrete stream. */
struct em_stream {
    const em_stream_vtable *vt; /**< the concrete stream's operations (static, never freed) */
};

/** Read through s->vt->read: bytes read (> 0), EM_EOF at the end, or an em_err
 * (EM_EINVAL for a stream without read). Blocks as the concrete stream does. */
EM_API ssize_t em_stream_read(em_stream *s, void *buf, size_t len);
/** Write through s->vt->writev: bytes written (may be short) or an em_err. */
EM_API ssize_t em_stream_writev(em_stream *s, const struct iovec *iov, int iovcnt);
/** Write all len bytes (looping on short writes). Returns 0 or em_err. */
EM_API EM_NODISCARD int em_stream_write_all(em_stream *s, const void *buf, size_t len);
/** Shut down the write side (the peer reads EOF). */
EM_API int em_stream_shutdown(em_stream *s);
/** Close through s->vt->close (0 when it has none). s itself is the caller's
 * memory. */
EM_API int em_stream_close(em_stream *s);

/* ---- buffered reader -------------------------------------------------- */

/** Buffered reads over a stream. Slices it returns point into its buffer and
 * are valid until the next call on the reader. */
typedef struct em_reader {
    em_stream *_s;
    em_buf _buf;
    size_t _chunk;
} em_reader;

/** buffer_max bounds the longest line/delimited record (0: 64 KiB). */
EM_API void em_reader_init(em_reader *r, em_stream *s, size_t buffer_max);
/** Free the reader's buffer (slices it returned become invalid). The stream is
 * not closed. */
EM_API void em_reader_free(em_reader *r);
/** Up to len bytes: buffered ones first, else one stream read. Returns bytes
 * (>0), EM_EOF, or em_err. */
EM_API ssize_t em_reader_read(em_reader *r, void *dst, size_t len);
/** Exactly n bytes into dst. Returns 0, EM_EOF if the stream ended before the
 * first byte, EM_EUNEXPECTEDEOF if it ended part-way, or em_err. When n <=
 * buffer_max nothing is consumed unless it succeeds, so a retry after
 * EM_EAGAIN or EM_ETIMEDOUT loses nothing. */
EM_API EM_NODISCARD int em_reader_read_exact(em_reader *r, void *dst, size_t n);
/** Bytes up to and including delim, at most limit bytes. *out points into
 * the reader. Returns the length, EM_ELIMIT if limit bytes pass with no
 * delim, EM_EOF at a clean end, EM_EUNEXPECTEDEOF at a partial record.
 * limit 0, or one above buffer_max, means buffer_max. On EM_ELIMIT,
 * EM_EUNEXPECTEDEOF and stream errors the bytes stay buffered (a retry after
 * EM_EAGAIN or EM_ETIMEDOUT resumes). */
EM_API ssize_t em_reader_read_until(em_reader *r, char delim, size_t limit, em_slice *out);
/** A line ending in LF or CRLF, without the terminator. Same returns as
 * em_reader_read_until (the length excludes the terminator). */
EM_API ssize_t em_reader_read_line(em_reader *r, size_t limit, em_slice *line);
/** Bytes already buffered (readable without touching the stream). */
EM_API size_t em_reader_buffered(const em_reader *r);

#ifdef __cplusplus
}
#endif
#endif
