/* The request side of an exchange, apart from reading it: moving a head's
 * slices after its bytes moved, splitting the target, and the requests the
 * server refuses before any handler. */
#include "exchange_internal.h"

/* Move s from the old head at [from, from + len] to the same offset at to.
 * Slices outside it (the "/" an absolute-form target without a path gets)
 * stay put. */
static void shift(em_slice *s, uintptr_t from, size_t len, uintptr_t to) {
    uintptr_t p = (uintptr_t)s->ptr;
    if (s->len && p >= from && p - from <= len)
        s->ptr = (const char *)(to + (p - from));
}

/* The head's bytes moved (the input grew, or the head was copied out):
 * move its slices with them. */
void em__http_request_rebase(struct em__http_exchange *ex, const char *base) {
    uintptr_t from = (uintptr_t)ex->base, to = (uintptr_t)base;
    size_t n = ex->head_len;
    em_http_request *r = &ex->cx.req;
    shift(&r->method, from, n, to);
    shift(&r->target, from, n, to);
    shift(&r->host, from, n, to);
    for (size_t i = 0; i < r->num_headers; i++) {
        shift(&r->headers[i].name, from, n, to);
        shift(&r->headers[i].value, from, n, to);
    }
    shift(&ex->cx.path, from, n, to);
    shift(&ex->cx.query, from, n, to);
    ex->base = base;
}

/* Split the target into path and query (RFC 9112 §3.2). */
void em__http_request_split_target(em_http_ctx *cx) {
    em_slice t = cx->req.target;
    if (cx->req.target_form == EM_HTTP_TARGET_ABSOLUTE) {
        /* "scheme://authority[path][?query]" (RFC 3986 §3): the path
         * starts right after the authority, which ends at the first '/'
         * or '?'; an empty path is "/". */
        em_slice a = em__http_target_authority(t);
        size_t at = (size_t)(a.ptr + a.len - t.ptr);
        t = em_slice_sub(t, at, t.len - at);
        if (!t.len || t.ptr[0] == '?') {
            cx->path = EM_SLICE_LIT("/");
            cx->query = t.len ? em_slice_sub(t, 1, t.len - 1) : em_slice_make("", 0);
            return;
        }
    }
    ssize_t q = em_slice_find_byte(t, '?');
    if (q >= 0) {
        cx->path = em_slice_sub(t, 0, (size_t)q);
        cx->query = em_slice_sub(t, (size_t)q + 1, t.len - (size_t)q - 1);
    } else {
        cx->path = t;
        cx->query = em_slice_make("", 0);
    }
}

static bool has_encoded_slash(em_slice p) {
    for (size_t i = 0; i + 2 < p.len; i++)
        if (p.ptr[i] == '%' && p.ptr[i + 1] == '2' && (p.ptr[i + 2] | 0x20) == 'f')
            return true;
    return false;
}

/* The status for a well-framed request the server answers itself, before
 * any handler, or 0. Its body is never read, so the connection closes after
 * the answer, as after a bad request line. */
int em__http_request_refusal(const em_http_server *srv, const em_http_ctx *cx) {
    em_slice p = cx->path;
    /* Both checks below need a '.' or a '%': most paths have neither, and
     * two vector scans rule that out for every request. */
    if (p.len && (memchr(p.ptr, '.', p.len) || memchr(p.ptr, '%', p.len))) {
        /* No guessing what "/a/../b" means to the handler. */
        if (!srv->_opts.allow_dot_segments && em_http_path_has_dot_segment(p))
            return 400;
        /* RFC 9112 §3.2: a target off the grammar SHOULD get 400; a path
         * whose '%' decodes to nothing cannot be routed honestly. */
        if (!em__http_pct_valid(p))
            return 400;
        /* "%2e%2e%2f" has no dot segment, and decodes to "../". */
        if (!srv->_opts.allow_encoded_slash && has_encoded_slash(p))
            return 400;
    }
    /* "gzip, chunked": the server only removes chunked, and handing a
     * handler a body still coded would be lying about it (RFC 9112 §6.1). */
    if (cx->req.flags & EM_HTTP_F_TE_CODED)
        return 501;
    /* RFC 9110 §10.1.1: an expectation we cannot meet. */
    if (cx->req.flags & EM_HTTP_F_EXPECT_OTHER)
        return 417;
    return 0;
}
