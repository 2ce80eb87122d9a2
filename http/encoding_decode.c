/* Content-Encoding decoders: a chain of zlib inflaters, one per coding,
 * undone in reverse order (RFC 9110 §8.4), with the output capped in size
 * and in ratio to the input, so a bomb (a few MB that inflate to many GB)
 * costs no more than the caps: each stage inflates into a fixed 16 KiB
 * window and hands it on before taking more input. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ember/http/encoding.h"

#define PIECE (16 * 1024)

enum { ST_FRESH, ST_RUNNING, ST_ENDED };

typedef struct stage {
    z_stream z;
    em_http_coding coding;
    unsigned char state;
    bool inited;
    unsigned char hdr[2]; /* deflate: first byte, held until the second decides */
    unsigned char nhdr;
    unsigned char out[PIECE];
} stage;

struct em_http_decoder {
    uint64_t total;    /* decoded bytes handed to the sink */
    uint64_t consumed; /* coded bytes the first stage took */
    uint64_t max_out;
    unsigned max_ratio;
    int err; /* sticky */
    bool started;
    unsigned n; /* stages, first = the last coding applied */
    em_http_sink sink;
    void *arg;
    stage st[];
};

static bool token_is(em_slice t, const char *name) {
    return em_slice_eq_nocase(t, em_slice_from_cstr(name));
}

/* Parse a Content-Encoding list into codings, in the order applied. */
static int parse_codings(em_slice v, em_http_coding *out, unsigned *n) {
    *n = 0;
    size_t i = 0;
    while (i <= v.len) {
        size_t j = i;
        while (j < v.len && v.ptr[j] != ',')
            j++;
        em_slice t = em_slice_trim(em_slice_make(v.ptr + i, j - i));
        i = j + 1;
        if (!t.len)
            continue;
        em_http_coding c;
        if (token_is(t, "gzip") || token_is(t, "x-gzip"))
            c = EM_HTTP_CODING_GZIP;
        else if (token_is(t, "deflate"))
            c = EM_HTTP_CODING_DEFLATE;
        else if (token_is(t, "identity"))
            c = EM_HTTP_CODING_IDENTITY;
        else
            return EM_ENOTSUP;
        if (*n == EM_HTTP_MAX_CODINGS)
            return EM_EINVAL;
        out[(*n)++] = c;
    }
    return 0;
}

int em_http_decoder_new(em_http_decoder **out, em_slice content_encoding,
                        const em_http_decoder_opts *opts) {
    *out = NULL;
    em_http_coding c[EM_HTTP_MAX_CODINGS];
    unsigned n, k = 0;
    int rc = parse_codings(content_encoding, c, &n);
    if (rc)
        return rc;
    for (unsigned i = 0; i < n; i++)
        k += c[i] != EM_HTTP_CODING_IDENTITY;
    em_http_decoder *d = calloc(1, sizeof *d + k * sizeof d->st[0]);
    if (!d)
        return EM_ENOMEM;
    d->max_out = opts && opts->max_out ? opts->max_out : EM_HTTP_DECODE_MAX_OUT;
    d->max_ratio = opts && opts->max_ratio ? opts->max_ratio : EM_HTTP_DECODE_MAX_RATIO;
    /* Decoding undoes the codings in reverse order. */
    for (unsigned i = n; i-- > 0;)
        if (c[i] != EM_HTTP_CODING_IDENTITY)
            d->st[d->n++].coding = c[i];
    *out = d;
    return 0;
}

void em_http_decoder_free(em_http_decoder *d) {
    if (!d)
        return;
    for (unsigned i = 0; i < d->n; i++)
        if (d->st[i].inited)
            inflateEnd(&d->st[i].z);
    free(d);
}

uint64_t em_http_decoder_total(const em_http_decoder *d) {
    return d->total;
}

uint64_t em_http_decoder_consumed(const em_http_decoder *d) {
    return d->consumed;
}

/* The final output, through the caps. */
static int emit(em_http_decoder *d, const unsigned char *p, size_t len) {
    uint64_t cap = d->max_out;
    if (d->total + len > EM_HTTP_DECODE_RATIO_FREE) {
        /* Past the free first MiB, output may not outgrow the input more
         * than max_ratio times: a bomb stops here, not at max_out. */
        uint64_t by_ratio =
            d->consumed > UINT64_MAX / d->max_ratio ? UINT64_MAX : d->consumed * d->max_ratio;
        if (by_ratio < EM_HTTP_DECODE_RATIO_FREE)
            by_ratio = EM_HTTP_DECODE_RATIO_FREE;
        if (by_ratio < cap)
            cap = by_ratio;
    }
    int err = 0;
    if (d->total + len > cap) {
        err = EM_EBODYTOOLARGE;
        len = d->total < cap ? (size_t)(cap - d->total) : 0;
    }
    if (len) {
        d->total += len;
        int rc = d->sink(d->arg, em_slice_make(p, len));
        if (rc)
            return rc;
    }
    return err;
}

static int run(em_http_decoder *d, unsigned i, const unsigned char *p, size_t len);

/* Output of stage i goes to stage i + 1, or out. */
static int pass_on(em_http_decoder *d, unsigned i, const unsigned char *p, size_t len) {
    if (!len)
        return 0;
    return i + 1 < d->n ? run(d, i + 1, p, len) : emit(d, p, len);
}

/* RFC 1950 §2.2: CM 8, CINFO <= 7, and the check bits. */
static bool zlib_header(const unsigned char h[2]) {
    return (h[0] & 0x0f) == 8 && (h[0] >> 4) <= 7 && ((unsigned)h[0] << 8 | h[1]) % 31 == 0;
}

static int start(stage *s, int window_bits) {
    memset(&s->z, 0, sizeof s->z);
    if (inflateInit2(&s->z, window_bits) != Z_OK)
        return EM_ENOMEM;
    s->inited = true;
    return 0;
}

/* Inflate from the current input of s until it is used up (or the stream
 * ends), passing every full window on. */
static int pump(em_http_decoder *d, unsigned i) {
    stage *s = &d->st[i];
    for (;;) {
        s->z.next_out = s->out;
        s->z.avail_out = PIECE;
        uInt before = s->z.avail_in;
        int zr = inflate(&s->z, Z_NO_FLUSH);
        if (i == 0)
            d->consumed += before - s->z.avail_in;
        size_t got = PIECE - s->z.avail_out;
        /* What came before a fault goes on first, so the output is the
         * same however the input was split. */
        int rc = pass_on(d, i, s->out, got);
        if (rc)
            return rc;
        if (zr == Z_MEM_ERROR)
            return EM_ENOMEM;
        if (zr == Z_NEED_DICT || zr == Z_DATA_ERROR || zr == Z_STREAM_ERROR)
            return EM_EPARSE;
        if (zr == Z_STREAM_END) {
            s->state = ST_ENDED;
            return 0;
        }
        /* Z_BUF_ERROR or Z_OK: stop once the input is gone and the window
         * was not filled (nothing more is pending inside zlib). */
        if (s->z.avail_in == 0 && s->z.avail_out != 0)
            return 0;
    }
}

static int run(em_http_decoder *d, unsigned i, const unsigned char *p, size_t len) {
    stage *s = &d->st[i];
    while (len) {
        if (s->state == ST_ENDED) {
            /* RFC 1952 §2.2: a gzip file is a series of members; anything
             * after a deflate stream is garbage. A non-gzip header fails in
             * inflate as corrupt data. */
            if (s->coding != EM_HTTP_CODING_GZIP || *p != 0x1f)
                return EM_EPARSE;
            if (inflateReset(&s->z) != Z_OK)
                return EM_EPARSE;
            s->state = ST_RUNNING;
        }
        if (s->state == ST_FRESH) {
            int rc;
            if (s->coding == EM_HTTP_CODING_GZIP) {
                if (*p != 0x1f) /* not even the magic's first byte: fail now */
                    return EM_EPARSE;
                rc = start(s, 16 + MAX_WBITS);
            } else {
                /* deflate: zlib if the first two bytes say so, else raw. */
                s->hdr[s->nhdr++] = *p++;
                len--;
                if (s->nhdr < 2) {
                    if (i == 0)
                        d->consumed++;
                    continue;
                }
                rc = start(s, zlib_header(s->hdr) ? MAX_WBITS : -MAX_WBITS);
                if (rc)
                    return rc;
                s->state = ST_RUNNING;
                s->z.next_in = s->hdr;
                s->z.avail_in = 2;
                if (i == 0) /* pump counts the header bytes again */
                    d->consumed -= 1;
                rc = pump(d, i);
                if (rc)
                    return rc;
                if (s->z.avail_in) /* the stream ended within the 2 bytes */
                    return EM_EPARSE;
                continue;
            }
            if (rc)
                return rc;
            s->state = ST_RUNNING;
        }
        size_t n = len > (1u << 30) ? (1u << 30) : len;
        s->z.next_in = (unsigned char *)p;
        s->z.avail_in = (uInt)n;
        int rc = pump(d, i);
        size_t used = n - s->z.avail_in;
        s->z.next_in = NULL;
        s->z.avail_in = 0;
        if (rc)
            return rc;
        p += used;
        len -= used;
    }
    return 0;
}

int em_http_decoder_feed(em_http_decoder *d, em_slice in, em_http_sink sink, void *arg) {
    if (d->err)
        return d->err;
    if (!in.len)
        return 0;
    d->started = true;
    d->sink = sink;
    d->arg = arg;
    int rc;
    if (d->n == 0) {
        d->consumed += in.len;
        rc = emit(d, (const unsigned char *)in.ptr, in.len);
    } else {
        rc = run(d, 0, (const unsigned char *)in.ptr, in.len);
    }
    d->err = rc;
    return rc;
}

int em_http_decoder_finish(em_http_decoder *d, em_http_sink sink, void *arg) {
    (void)sink;
    (void)arg;
    if (d->err)
        return d->err;
    if (!d->started)
        return 0;
    for (unsigned i = 0; i < d->n; i++)
        if (d->st[i].state != ST_ENDED)
            return d->err = EM_EPARTIAL;
    return 0;
}
