/* The body reader: Content-Length, chunked and until-close bodies behind
 * one incremental call (RFC 9112 §6.3), for the server and the client. */
#include "http_internal.h"

void em_http_body_reader_init(em_http_body_reader *r, em_http_body mode, uint64_t content_length,
                              const em_http_limits *limits) {
    memset(r, 0, sizeof *r);
    r->mode = mode;
    r->max = limits && limits->max_body ? limits->max_body : EM_HTTP_DEFAULT_MAX_BODY;
    switch (mode) {
    case EM_HTTP_BODY_LENGTH:
        r->left = content_length;
        r->done = content_length == 0;
        break;
    case EM_HTTP_BODY_CHUNKED:
        em_http_chunked_init(&r->chunked, limits);
        break;
    case EM_HTTP_BODY_UNTIL_CLOSE:
        break;
    default:
        r->done = true;
        break;
    }
}

ssize_t em_http_body_reader_read(em_http_body_reader *r, const char *buf, size_t len,
                                 em_slice *piece) {
    *piece = em_slice_make(buf, 0);
    if (r->done)
        return 0;
    if (!len)
        return EM_EAGAIN;
    size_t n;
    switch (r->mode) {
    case EM_HTTP_BODY_LENGTH:
        n = len < r->left ? len : (size_t)r->left;
        r->left -= n;
        r->done = r->left == 0;
        break;
    case EM_HTTP_BODY_CHUNKED: {
        ssize_t got = em_http_chunked_decode(&r->chunked, buf, len, piece);
        if (got < 0)
            return got;
        r->total += piece->len;
        r->done = em_http_chunked_done(&r->chunked);
        return got;
    }
    default: /* until close: everything, up to the limit */
        if (len > r->max - r->total)
            return EM_EBODYTOOLARGE;
        n = len;
        break;
    }
    r->total += n;
    piece->len = n;
    return (ssize_t)n;
}

int em_http_body_reader_eof(em_http_body_reader *r) {
    if (r->mode == EM_HTTP_BODY_UNTIL_CLOSE)
        r->done = true;
    return r->done ? 0 : EM_EUNEXPECTEDEOF;
}
