/* Content-Encoding encoders (zlib deflate into gzip or zlib framing), the
 * one-shot helpers over both directions, and Accept-Encoding negotiation
 * (RFC 9110 §12.5.3). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ember/http/encoding.h"
#include "http_internal.h"

#define PIECE (16 * 1024)

struct em_http_encoder {
    z_stream z;
    em_http_coding coding;
    bool finished;
    int err; /* sticky */
    unsigned char out[PIECE];
};

const char *em_http_coding_name(em_http_coding coding) {
    switch (coding) {
    case EM_HTTP_CODING_GZIP:
        return "gzip";
    case EM_HTTP_CODING_DEFLATE:
        return "deflate";
    default:
        return "identity";
    }
}

int em_http_encoder_new(em_http_encoder **out, em_http_coding coding, int level) {
    *out = NULL;
    if (level < -1 || level > 9 ||
        (coding != EM_HTTP_CODING_GZIP && coding != EM_HTTP_CODING_DEFLATE &&
         coding != EM_HTTP_CODING_IDENTITY))
        return EM_EINVAL;
    em_http_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return EM_ENOMEM;
    e->coding = coding;
    if (coding != EM_HTTP_CODING_IDENTITY) {
        /* gzip: deflateInit2's header has no name and mtime 0, so the same
         * input always gives the same bytes (cacheable, testable). */
        int bits = coding == EM_HTTP_CODING_GZIP ? 16 + MAX_WBITS : MAX_WBITS;
        if (deflateInit2(&e->z, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            free(e);
            return EM_ENOMEM;
        }
    }
    *out = e;
    return 0;
}

void em_http_encoder_free(em_http_encoder *e) {
    if (!e)
        return;
    if (e->coding != EM_HTTP_CODING_IDENTITY)
        deflateEnd(&e->z);
    free(e);
}

/* Deflate in with flush until zlib has nothing more to say. */
static int run(em_http_encoder *e, em_slice in, int flush, em_http_sink sink, void *arg) {
    if (e->err)
        return e->err;
    if (e->finished)
        return EM_EINVAL;
    if (e->coding == EM_HTTP_CODING_IDENTITY) {
        if (flush == Z_FINISH)
            e->finished = true;
        return in.len ? (e->err = sink(arg, in)) : 0;
    }
    const unsigned char *p = (const unsigned char *)in.ptr;
    size_t len = in.len;
    for (;;) {
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        e->z.next_in = (unsigned char *)p;
        e->z.avail_in = (uInt)n;
        int f = n == len ? flush : Z_NO_FLUSH;
        int zr;
        do {
            e->z.next_out = e->out;
            e->z.avail_out = PIECE;
            zr = deflate(&e->z, f);
            if (zr == Z_STREAM_ERROR)
                return e->err = EM_EINVAL;
            size_t got = PIECE - e->z.avail_out;
            if (got) {
                int rc = sink(arg, em_slice_make(e->out, got));
                if (rc)
                    return e->err = rc;
            }
            /* deflate() is done with this flush once it leaves room in the
             * window (Z_FINISH: once it says Z_STREAM_END). */
        } while (f == Z_FINISH ? zr != Z_STREAM_END : e->z.avail_out == 0);
        p += n - e->z.avail_in;
        len -= n - e->z.avail_in;
        e->z.next_in = NULL;
        e->z.avail_in = 0;
        if (!len)
            break;
    }
    if (flush == Z_FINISH)
        e->finished = true;
    return 0;
}

int em_http_encoder_feed(em_http_encoder *e, em_slice in, em_http_sink sink, void *arg) {
    if (!in.len)
        return e->err ? e->err : e->finished ? EM_EINVAL : 0;
    return run(e, in, Z_NO_FLUSH, sink, arg);
}

int em_http_encoder_flush(em_http_encoder *e, em_http_sink sink, void *arg) {
    return run(e, em_slice_make("", 0), Z_SYNC_FLUSH, sink, arg);
}

int em_http_encoder_finish(em_http_encoder *e, em_http_sink sink, void *arg) {
    return run(e, em_slice_make("", 0), Z_FINISH, sink, arg);
}

/* ---- one-shot ------------------------------------------------------------- */

static int to_buf(void *arg, em_slice piece) {
    return em_buf_append((em_buf *)arg, piece.ptr, piece.len);
}

int em_http_compress(em_http_coding coding, int level, em_slice in, em_buf *out) {
    em_http_encoder *e;
    int rc = em_http_encoder_new(&e, coding, level);
    if (rc)
        return rc;
    rc = em_http_encoder_feed(e, in, to_buf, out);
    if (!rc)
        rc = em_http_encoder_finish(e, to_buf, out);
    em_http_encoder_free(e);
    return rc;
}

int em_http_decompress(em_slice content_encoding, em_slice in, const em_http_decoder_opts *opts,
                       em_buf *out) {
    em_http_decoder *d;
    int rc = em_http_decoder_new(&d, content_encoding, opts);
    if (rc)
        return rc;
    rc = em_http_decoder_feed(d, in, to_buf, out);
    if (!rc)
        rc = em_http_decoder_finish(d, to_buf, out);
    em_http_decoder_free(d);
    return rc;
}

/* ---- Accept-Encoding ------------------------------------------------------ */

/* RFC 9110 §12.4.2: qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ),
 * as thousandths; -1 if malformed. */
static int parse_q(em_slice v) {
    if (!v.len || (v.ptr[0] != '0' && v.ptr[0] != '1'))
        return -1;
    int q = (v.ptr[0] - '0') * 1000, scale = 100;
    if (v.len == 1)
        return q;
    if (v.ptr[1] != '.' || v.len > 5)
        return -1;
    for (size_t i = 2; i < v.len; i++, scale /= 10) {
        if (v.ptr[i] < '0' || v.ptr[i] > '9')
            return -1;
        q += (v.ptr[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

/* The q-value of one list element "coding *( OWS ; OWS param )"; the
 * coding name goes to *name. A malformed q counts as 0 (refused). */
static int element_q(em_slice el, em_slice *name) {
    size_t i = 0;
    while (i < el.len && el.ptr[i] != ';')
        i++;
    *name = em_slice_trim(em_slice_make(el.ptr, i));
    int q = 1000;
    while (i < el.len) {
        size_t j = ++i;
        while (j < el.len && el.ptr[j] != ';')
            j++;
        em_slice param = em_slice_trim(em_slice_make(el.ptr + i, j - i));
        i = j;
        size_t eq = 0;
        while (eq < param.len && param.ptr[eq] != '=')
            eq++;
        if (eq == param.len)
            continue;
        em_slice key = em_slice_trim(em_slice_make(param.ptr, eq));
        if (em_slice_eq_nocase(key, EM_SLICE_LIT("q"))) {
            q = parse_q(em_slice_trim(em_slice_make(param.ptr + eq + 1, param.len - eq - 1)));
            if (q < 0)
                q = 0;
        }
    }
    return q;
}

/* The coding to use, and whether identity is acceptable too. */
static em_http_coding negotiate(em_slice ae, bool *identity_ok) {
    int q_gzip = -1, q_deflate = -1, q_star = -1, q_identity = -1;
    size_t i = 0;
    while (i < ae.len) {
        size_t j = i;
        while (j < ae.len && ae.ptr[j] != ',')
            j++;
        em_slice name;
        int q = element_q(em_slice_make(ae.ptr + i, j - i), &name);
        i = j + 1;
        if (em_slice_eq_nocase(name, EM_SLICE_LIT("gzip")) ||
            em_slice_eq_nocase(name, EM_SLICE_LIT("x-gzip")))
            q_gzip = q > q_gzip ? q : q_gzip;
        else if (em_slice_eq_nocase(name, EM_SLICE_LIT("deflate")))
            q_deflate = q > q_deflate ? q : q_deflate;
        else if (em_slice_eq_nocase(name, EM_SLICE_LIT("*")))
            q_star = q > q_star ? q : q_star;
        else if (em_slice_eq_nocase(name, EM_SLICE_LIT("identity")))
            q_identity = q > q_identity ? q : q_identity;
    }
    /* Identity is acceptable unless "identity;q=0", or "*;q=0" without
     * identity listed (§12.5.3). */
    *identity_ok = q_identity >= 0 ? q_identity > 0 : q_star != 0;
    /* "*" matches any coding not listed explicitly (§12.5.3). */
    if (q_gzip < 0)
        q_gzip = q_star;
    if (q_deflate < 0)
        q_deflate = q_star;
    if (q_gzip > 0 && q_gzip >= q_deflate)
        return EM_HTTP_CODING_GZIP;
    if (q_deflate > 0)
        return EM_HTTP_CODING_DEFLATE;
    return EM_HTTP_CODING_IDENTITY;
}

em_http_coding em_http_accept_coding(em_slice ae) {
    bool identity_ok;
    return negotiate(ae, &identity_ok);
}

em_http_coding em__http_negotiate_coding(em_slice ae, bool *identity_ok) {
    return negotiate(ae, identity_ok);
}
