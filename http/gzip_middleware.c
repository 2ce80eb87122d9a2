/* The compression middleware (em_http_gzip): decodes coded request bodies
 * before the handler, and compresses the handler's responses, whole or
 * streamed, through the response filter seam of exchange_internal.h.
 *
 * One gz_req per request, on the heap, attached to the exchange from the
 * middleware's entry until cx ends; it then frees itself: after the call
 * that ended cx returns, or after the abort callbacks it stands in front
 * of (holds counts the frames of ours that still use it). */
#include <stdlib.h>
#include <string.h>

#include "ember/http/encoding.h"
#include "exchange_internal.h"

const char *const em_http_gzip_default_types[] = {
    "text/",
    "application/json",
    "application/javascript",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/ld+json",
    "application/manifest+json",
    "application/wasm",
    "image/svg+xml",
    "image/x-icon",
    "font/ttf",
    "font/otf",
    NULL,
};

#define DEFAULT_MIN_SIZE 1024

typedef struct gz_req {
    em__http_filter base; /* first: ex->cbs points here */
    const em_http_gzip_opts *o;
    const em_http_stream_cbs *user; /* the handler's callbacks */
    em_http_body_cb user_body_cb;   /* ... and body callback, when wrapped */
    em_http_coding coding;          /* what the client accepts; identity: none */
    bool identity_ok;               /* ... and whether the uncoded body too */
    em_http_encoder *enc;           /* a compressed stream is open */
    em_buf out;                     /* its output for one write */
    em_buf body;                    /* the decoded request body */
    uint64_t left;                  /* bytes the writer announced and still owes */
    bool sized;
    bool ended; /* cx is over: free once holds drops to 0 */
    unsigned holds;
} gz_req;

static const em_http_gzip_opts default_opts = {0};

static gz_req *req_of(em_http_ctx *cx) {
    return (gz_req *)(void *)em__http_filter_of(em__http_ex(cx));
}

/* ---- lifetime --------------------------------------------------------------- */

static void attach(struct em__http_exchange *ex, gz_req *f) {
    ex->cbs = &f->base.cbs;
    ex->state |= CX_FILTERED;
}

/* Hand the exchange back to the handler's own callbacks. */
static void detach(struct em__http_exchange *ex, gz_req *f) {
    ex->state &= ~(unsigned)CX_FILTERED;
    ex->cbs = f->user;
    if (f->user_body_cb && ex->body_cb != f->user_body_cb)
        ex->body_cb = f->user_body_cb;
}

static void gz_free(gz_req *f) {
    em_http_encoder_free(f->enc);
    em_buf_free(&f->out);
    em_buf_free(&f->body);
    free(f);
}

/* cx ended. Detached first when the exchange outlives the call; after a
 * call that returned EM_ECLOSED it may be freed, and ex->cbs left pointing
 * here is never read again (the exchange has ended). */
static void release(gz_req *f) {
    f->ended = true;
    if (!f->holds)
        gz_free(f);
}

/* After a call to the server that was to end cx: did it? */
static bool call_ended(int rc) {
    return rc != EM_EINVAL && rc != EM_EALREADY;
}

/* ---- the callbacks the server sees ------------------------------------------ */

static void tramp_sent(em_http_ctx *cx, uint64_t token) {
    gz_req *f = req_of(cx);
    if (f && f->user && f->user->on_sent)
        f->user->on_sent(cx, token);
}

static void tramp_unthrottled(em_http_ctx *cx) {
    gz_req *f = req_of(cx);
    if (f && f->user && f->user->on_unthrottled)
        f->user->on_unthrottled(cx);
}

/* Only installed when the handler has an on_abort of its own: without
 * one, the server's rule is that the next call says EM_ECLOSED, and that
 * call frees f. */
static void tramp_abort(em_http_ctx *cx, int err) {
    gz_req *f = req_of(cx);
    struct em__http_exchange *ex = em__http_ex(cx);
    f->holds++;
    detach(ex, f);
    f->user->on_abort(cx, err);
    f->holds--;
    release(f);
}

static void tramp_body(em_http_ctx *cx, em_slice piece, int status) {
    struct em__http_exchange *ex = em__http_ex(cx);
    gz_req *f = req_of(cx);
    f->holds++;
    if (status < 0)
        detach(ex, f);
    f->user_body_cb(cx, piece, status);
    f->holds--;
    if (status < 0 || f->ended)
        release(f);
}

static void set_user(gz_req *f, const em_http_stream_cbs *cbs) {
    f->user = cbs;
    f->base.cbs.on_abort = cbs && cbs->on_abort ? tramp_abort : NULL;
}

/* ---- what gets compressed ---------------------------------------------------- */

static bool type_listed(const char *const *types, em_slice ct) {
    size_t n = 0;
    while (n < ct.len && ct.ptr[n] != ';')
        n++;
    ct = em_slice_trim(em_slice_make(ct.ptr, n));
    for (; *types; types++) {
        em_slice t = em_slice_from_cstr(*types);
        if (t.len && t.ptr[t.len - 1] == '/') { /* a whole top-level type */
            if (ct.len > t.len && em_slice_eq_nocase(em_slice_make(ct.ptr, t.len), t))
                return true;
        } else if (em_slice_eq_nocase(ct, t)) {
            return true;
        }
    }
    return false;
}

/* The handler's header lines named name: does any value contain needle
 * (case-insensitive; empty needle: is there such a line at all)? */
static bool hdrs_have(const em_buf *hdrs, em_slice name, em_slice needle) {
    em_slice all = em_buf_slice(hdrs);
    size_t i = 0;
    while (i < all.len) {
        size_t e = i;
        while (e < all.len && all.ptr[e] != '\r')
            e++;
        em_slice line = em_slice_make(all.ptr + i, e - i);
        i = e + 2;
        if (line.len <= name.len || line.ptr[name.len] != ':' ||
            !em_slice_eq_nocase(em_slice_make(line.ptr, name.len), name))
            continue;
        em_slice v = em_slice_make(line.ptr + name.len + 1, line.len - name.len - 1);
        if (!needle.len)
            return true;
        for (size_t k = 0; k + needle.len <= v.len; k++)
            if (em_slice_eq_nocase(em_slice_make(v.ptr + k, needle.len), needle))
                return true;
    }
    return false;
}

/* Would a response of this kind be compressed for a client that asks? A
 * HEAD is, like the GET it stands for (RFC 9110 §9.3.2): its header fields,
 * Content-Length included, are the GET's; the server sends no body. */
static bool eligible(gz_req *f, em_http_ctx *cx, int status, em_slice ct) {
    struct em__http_exchange *ex = em__http_ex(cx);
    if (status < 200 || status > 999 ||
        !em__http_status_has_body(status) || (ex->state & CX_ANSWERED) ||
        !em__http_field_value_ok(ct))
        return false;
    if (hdrs_have(&ex->hdrs, EM_SLICE_LIT("Content-Encoding"), em_slice_make("", 0)))
        return false; /* never twice */
    /* RFC 9110 §14.4: a part's Content-Range counts the bytes of the
     * identity representation; coding the part would contradict it. */
    if (status == 206 || hdrs_have(&ex->hdrs, EM_SLICE_LIT("Content-Range"), em_slice_make("", 0)))
        return false;
    return type_listed(f->o->types ? f->o->types : em_http_gzip_default_types, ct);
}

static size_t min_size(const gz_req *f) {
    return f->o->min_size ? f->o->min_size : DEFAULT_MIN_SIZE;
}

static int level(const gz_req *f) {
    return f->o->level > 0 && f->o->level <= 9 ? f->o->level : 6;
}

/* RFC 9110 §12.5.5: the answer depends on Accept-Encoding. */
static int add_vary(em_http_ctx *cx) {
    struct em__http_exchange *ex = em__http_ex(cx);
    if (hdrs_have(&ex->hdrs, EM_SLICE_LIT("Vary"), EM_SLICE_LIT("accept-encoding")) ||
        hdrs_have(&ex->hdrs, EM_SLICE_LIT("Vary"), EM_SLICE_LIT("*")))
        return 0;
    return em_http_header_add(cx, EM_SLICE_LIT("Vary"), EM_SLICE_LIT("Accept-Encoding"));
}

/* RFC 9110 §8.8.3: a strong validator names one representation, byte for
 * byte; the coded one is another, so a strong ETag of the handler's goes
 * out weak (W/), as nginx does. Rebuilds the handler's header lines. */
static int weaken_etag(struct em__http_exchange *ex) {
    if (!hdrs_have(&ex->hdrs, EM_SLICE_LIT("ETag"), EM_SLICE_LIT("\"")))
        return 0;
    em_slice all = em_buf_slice(&ex->hdrs);
    em_buf nb;
    em_buf_init(&nb, 0);
    int rc = 0;
    size_t i = 0;
    while (!rc && i < all.len) {
        size_t e = i;
        while (e < all.len && all.ptr[e] != '\r')
            e++;
        em_slice line = em_slice_make(all.ptr + i, e - i);
        size_t next = e + 2 <= all.len ? e + 2 : all.len;
        em_slice v = line.len > 5 ? em_slice_trim(em_slice_make(line.ptr + 5, line.len - 5))
                                  : em_slice_make("", 0);
        if (line.len > 5 && line.ptr[4] == ':' &&
            em_slice_eq_nocase(em_slice_make(line.ptr, 4), EM_SLICE_LIT("ETag")) && v.len &&
            v.ptr[0] == '"') {
            rc = em_buf_append(&nb, line.ptr, (size_t)(v.ptr - line.ptr));
            rc = rc ? rc : EM__HTTP_PUT_LIT(&nb, "W/");
            rc = rc ? rc : em_buf_append(&nb, v.ptr, next - (size_t)(v.ptr - all.ptr));
        } else {
            rc = em_buf_append(&nb, line.ptr, next - i);
        }
        i = next;
    }
    if (!rc) {
        em_buf_clear(&ex->hdrs);
        rc = em_buf_append(&ex->hdrs, em_buf_data(&nb), em_buf_len(&nb));
    }
    em_buf_free(&nb);
    return rc;
}

static int add_encoding(gz_req *f, em_http_ctx *cx) {
    int rc = weaken_etag(em__http_ex(cx));
    return rc ? rc
              : em_http_header_add(cx, EM_SLICE_LIT("Content-Encoding"),
                                   em_slice_from_cstr(em_http_coding_name(f->coding)));
}

/* ---- the filter ------------------------------------------------------------------ */

static void f_defer(em__http_filter *base, em_http_ctx *cx, const em_http_stream_cbs *cbs) {
    gz_req *f = (gz_req *)base;
    set_user(f, cbs);
    em__http_defer_raw(cx, &f->base.cbs);
}

static int f_respond(em__http_filter *base, em_http_ctx *cx, int status, em_slice ct,
                     em_slice body) {
    gz_req *f = (gz_req *)base;
    struct em__http_exchange *ex = em__http_ex(cx);
    em_buf z;
    em_buf_init(&z, 0);
    em_slice send = body;
    /* Small or incompressible bodies go as they are, unless the client
     * refused identity and takes a coding (RFC 9110 §12.5.3). */
    bool must = !f->identity_ok && f->coding != EM_HTTP_CODING_IDENTITY;
    if (eligible(f, cx, status, ct) && (body.len >= min_size(f) || must)) {
        int rc = add_vary(cx);
        if (!rc && f->coding != EM_HTTP_CODING_IDENTITY &&
            em_http_compress(f->coding, level(f), body, &z) == 0 &&
            (em_buf_len(&z) < body.len || must)) {
            rc = add_encoding(f, cx);
            send = em_buf_slice(&z);
        }
        (void)rc; /* only EM_ENOMEM: then the head build fails the same way */
    }
    detach(ex, f);
    int rc = em__http_respond_raw(cx, status, ct, send);
    em_buf_free(&z);
    if (call_ended(rc))
        release(f);
    else
        attach(ex, f);
    return rc;
}

static int f_prebuilt(em__http_filter *base, em_http_ctx *cx, const em_http_prebuilt *p) {
    gz_req *f = (gz_req *)base;
    struct em__http_exchange *ex = em__http_ex(cx);
    detach(ex, f);
    int rc = em__http_respond_prebuilt_raw(cx, p);
    if (call_ended(rc))
        release(f);
    else
        attach(ex, f);
    return rc;
}

static int f_stream_start(em__http_filter *base, em_http_ctx *cx, int status, em_slice ct,
                          int64_t length, const em_http_stream_cbs *cbs) {
    gz_req *f = (gz_req *)base;
    int64_t framing = length;
    bool vary = false;
    bool must = !f->identity_ok && f->coding != EM_HTTP_CODING_IDENTITY;
    if (length >= EM_HTTP_LENGTH_UNKNOWN && eligible(f, cx, status, ct) &&
        (length < 0 || (uint64_t)length >= min_size(f) || must)) {
        vary = true;
        if (f->coding != EM_HTTP_CODING_IDENTITY &&
            em_http_encoder_new(&f->enc, f->coding, level(f)) == 0)
            framing = EM_HTTP_LENGTH_UNKNOWN; /* compressed: chunked */
    }
    int rc = vary ? add_vary(cx) : 0;
    if (!rc && f->enc)
        rc = add_encoding(f, cx);
    set_user(f, cbs);
    if (!rc)
        rc = em__http_stream_start_raw(cx, status, ct, framing, &f->base.cbs);
    if (rc || !f->enc) {
        em_http_encoder_free(f->enc);
        f->enc = NULL;
    }
    if (f->enc) {
        f->sized = length >= 0;
        f->left = length >= 0 ? (uint64_t)length : 0;
    }
    if (rc == EM_ECLOSED)
        release(f); /* cx ended: ex may be gone, leave it alone */
    return rc;
}

static int to_out(void *arg, em_slice piece) {
    return em_buf_append((em_buf *)arg, piece.ptr, piece.len);
}

static int f_stream_write(em__http_filter *base, em_http_ctx *cx, em_slice data, uint64_t *token) {
    gz_req *f = (gz_req *)base;
    int rc;
    if (!f->enc || !data.len) {
        rc = em__http_stream_write_raw(cx, data, token);
    } else if (f->sized && data.len > f->left) {
        if (token)
            *token = 0;
        return EM_EINVAL; /* past the announced length */
    } else {
        /* Flushed at every write: its bytes reach the client now. */
        rc = em_http_encoder_feed(f->enc, data, to_out, &f->out);
        if (!rc)
            rc = em_http_encoder_flush(f->enc, to_out, &f->out);
        if (rc) {
            if (token)
                *token = 0;
            em_buf_clear(&f->out);
            return rc;
        }
        rc = em__http_stream_write_raw(cx, em_buf_slice(&f->out), token);
        em_buf_clear(&f->out);
        if (rc == 0 || rc == EM_HTTP_FULL)
            f->left -= f->sized ? data.len : 0;
    }
    if (rc == EM_ECLOSED)
        release(f); /* cx ended: ex may be gone, leave it alone */
    return rc;
}

static int f_stream_end(em__http_filter *base, em_http_ctx *cx) {
    gz_req *f = (gz_req *)base;
    struct em__http_exchange *ex = em__http_ex(cx);
    if (!(ex->state & CX_STREAMING) || (ex->state & CX_DONE))
        return em__http_stream_end_raw(cx); /* EM_EINVAL; cx goes on */
    int rc = 0;
    detach(ex, f);
    if (!f->enc) {
        rc = em__http_stream_end_raw(cx);
    } else if (f->sized && f->left && cx->req.method_id != EM_HTTP_HEAD) {
        /* short of the announced length (a HEAD sends no body: RFC 9110
         * §9.3.2, so its handler owes none) */
        rc = em__http_stream_fail(cx);
    } else {
        rc = em_http_encoder_finish(f->enc, to_out, &f->out);
        if (!rc)
            rc = em__http_stream_write_raw(cx, em_buf_slice(&f->out), NULL);
        if (rc == 0 || rc == EM_HTTP_FULL)
            rc = em__http_stream_end_raw(cx);
        else if (rc != EM_ECLOSED)
            rc = em__http_stream_fail(cx); /* cannot end the coded stream properly */
    }
    release(f);
    return rc;
}

/* The body callback goes through tramp_body, so f is freed with cx also
 * when the body fails (the client left): a callback set after the handler
 * returned (from a timer) as much as one set inside it. */
static int f_body_read(em__http_filter *base, em_http_ctx *cx, em_http_body_cb cb) {
    gz_req *f = (gz_req *)base;
    int rc;
    if (!cb || f->user_body_cb) {
        rc = em__http_body_read_raw(cx, NULL); /* EM_EINVAL, or EM_ECLOSED */
    } else {
        f->user_body_cb = cb;
        rc = em__http_body_read_raw(cx, tramp_body);
        if (rc == EM_EINVAL)
            f->user_body_cb = NULL;
    }
    if (rc == EM_ECLOSED)
        release(f); /* cx ended: ex may be gone, leave it alone */
    return rc;
}

static const em__http_filter_vt gz_vt = {
    f_defer, f_respond, f_prebuilt, f_stream_start, f_stream_write, f_stream_end, f_body_read,
};

/* ---- request bodies ------------------------------------------------------------ */

/* RFC 9110 §5.3: a list field over several lines is one list, joined with
 * commas: into tmp when there are several. *n counts the lines. */
static em_slice list_field(em_http_ctx *cx, em_slice name, em_buf *tmp, size_t *n, int *err) {
    em_slice first = em_slice_make("", 0);
    *n = 0;
    *err = 0;
    for (size_t i = 0; i < cx->req.num_headers; i++) {
        const em_http_header *h = &cx->req.headers[i];
        if (!em_slice_eq_nocase(h->name, name))
            continue;
        if ((*n)++ == 0) {
            first = h->value;
            continue;
        }
        if ((*n == 2 && em_buf_append_slice(tmp, first) != 0) || em_buf_append(tmp, ",", 1) != 0 ||
            em_buf_append_slice(tmp, h->value) != 0) {
            *err = EM_ENOMEM;
            return first;
        }
    }
    return *n > 1 ? em_buf_slice(tmp) : first;
}

/* Decode a coded whole body into f->body. Returns 0 or the status to
 * answer with. */
static int decode_body(gz_req *f, em_http_ctx *cx) {
    if (f->o->no_request_decode || !cx->body.len)
        return 0;
    size_t lines;
    int rc;
    em_buf tmp;
    em_buf_init(&tmp, 0);
    em_slice ce = list_field(cx, EM_SLICE_LIT("Content-Encoding"), &tmp, &lines, &rc);
    if (!rc && lines)
        rc = em_http_decompress(ce, cx->body, &f->o->decode, &f->body);
    em_buf_free(&tmp);
    if (!lines)
        return 0;
    if (rc == EM_ENOTSUP || rc == EM_EINVAL)
        return 415;
    if (rc == EM_EBODYTOOLARGE)
        return 413;
    if (rc == EM_ENOMEM)
        return 503;
    if (rc)
        return 400;
    cx->body = em_buf_slice(&f->body);
    /* The handler sees an identity body: drop the field, every line. */
    size_t kept = 0;
    for (size_t i = 0; i < cx->req.num_headers; i++)
        if (!em_slice_eq_nocase(cx->req.headers[i].name, EM_SLICE_LIT("Content-Encoding")))
            cx->req.headers[kept++] = cx->req.headers[i];
    cx->req.num_headers = kept;
    return 0;
}

/* ---- the middleware ---------------------------------------------------------------- */

/* The coding to answer with, from every Accept-Encoding line. */
static em_http_coding accept_coding(em_http_ctx *cx, bool *identity_ok) {
    size_t lines;
    int err;
    em_buf tmp;
    em_buf_init(&tmp, 0);
    /* ENOMEM: the first line alone */
    em_http_coding c = em__http_negotiate_coding(
        list_field(cx, EM_SLICE_LIT("Accept-Encoding"), &tmp, &lines, &err), identity_ok);
    em_buf_free(&tmp);
    return c;
}

static void gz_handler(em_http_ctx *cx, const em_http_handler *h) {
    struct em__http_exchange *ex = em__http_ex(cx);
    /* Nested twice, or an upgrade: nothing for us to do. */
    if (em__http_filter_of(ex) || cx->req.method_id == EM_HTTP_CONNECT ||
        em_http_request_header(cx, "Upgrade").len) {
        em_http_next(cx, h);
        return;
    }
    gz_req *f = calloc(1, sizeof *f);
    if (!f) {
        em_http_next(cx, h); /* uncompressed beats no answer */
        return;
    }
    f->o = h->data ? h->data : &default_opts;
    f->base.vt = &gz_vt;
    f->base.cbs.on_sent = tramp_sent;
    f->base.cbs.on_unthrottled = tramp_unthrottled;
    em_buf_init(&f->out, 0);
    em_buf_init(&f->body, 0);
    f->coding = accept_coding(cx, &f->identity_ok);
    int status = decode_body(f, cx);
    if (status) {
        gz_free(f);
        if (status == 415 && em_http_header_add(cx, EM_SLICE_LIT("Accept-Encoding"),
                                                EM_SLICE_LIT("gzip, deflate")) != 0) {
            /* only ENOMEM: answer without it */
        }
        em_http_respond_text(cx, status, em_http_status_reason(status));
        return;
    }
    set_user(f, ex->cbs);
    attach(ex, f);
    f->holds++;
    em_http_next(cx, h);
    f->holds--;
    if (f->ended) {
        gz_free(f);
        return;
    }
    if (!(ex->state & CX_DEFERRED) || (ex->state & (CX_DONE | CX_ENDED))) {
        /* Not held (the server answers a handler that did not, or the
         * client is gone): nothing more goes through us. */
        detach(ex, f);
        gz_free(f);
    }
}

void em_http_gzip(em_http_handler *mw, const em_http_handler *next, const em_http_gzip_opts *opts) {
    mw->fn = gz_handler;
    mw->next = next;
    mw->data = (void *)(uintptr_t)opts;
}
