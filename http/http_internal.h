/* Shared between the files of the http module; not installed. */
#ifndef EMBER_HTTP_INTERNAL_H
#define EMBER_HTTP_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "ember/http.h"

/* ---- byte classes ------------------------------------------------------- */

enum {
    EM__HTTP_TCHAR = 0x01,  /* RFC 9110 §5.6.2 token character */
    EM__HTTP_VSTOP = 0x02,  /* ends a field value scan: CTL except HTAB, DEL */
    EM__HTTP_TSTOP = 0x04,  /* ends a target scan: <= SP, '#', >= DEL */
    EM__HTTP_HOSTC = 0x08,  /* reg-name: unreserved, sub-delims (not '%') */
    EM__HTTP_HEX = 0x10,    /* HEXDIG */
    EM__HTTP_SCHEME = 0x20, /* ALPHA DIGIT "+" "-" "." */
    EM__HTTP_QDTEXT = 0x40, /* quoted-string text (RFC 9110 §5.6.4) */
    EM__HTTP_QPAIR = 0x80   /* may follow a backslash in a quoted-string */
};

/* Class bits of every byte (simd.c). */
extern const uint8_t em__http_cls[256];

static inline int em__http_is(unsigned char c, unsigned cls) {
    return em__http_cls[c] & cls;
}

static inline unsigned char em__http_lower(unsigned char c) {
    return (unsigned char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

/* Case-insensitive compare of n bytes against a lower-case literal. */
static inline int em__http_eq_lit(const char *s, const char *lower, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (em__http_lower((unsigned char)s[i]) != (unsigned char)lower[i])
            return 0;
    return 1;
}

static inline int em__http_slice_is(em_slice s, const char *lower, size_t n) {
    return s.len == n && em__http_eq_lit(s.ptr, lower, n);
}

/* ---- SIMD dispatch ------------------------------------------------------ */

/* A scanner returns the first byte in [p, end) that might end the current
 * token, or end. It never skips a byte that matters; where the table below
 * allows, it may stop early on a byte that turns out to be fine (the caller
 * checks the byte and resumes past it). Value and target scanners are exact,
 * which the parsers rely on. A scanner reads only [lo, end): lo <= p is the
 * start of the caller's buffer, so the last few bytes can be classified by
 * one wide load that ends at end instead of a byte loop. test_simd.c holds
 * every level to this contract. */
typedef const char *(*em__http_scan_fn)(const char *p, const char *end, const char *lo);

/* Both scans of a field line at once: *colon = name(p, end, lo), and the
 * result is value(*colon + 1, end, lo), or end when *colon == end. A short
 * line then costs one call and one wide load. */
typedef const char *(*em__http_field_fn)(const char *p, const char *end, const char *lo,
                                         const char **colon);

typedef struct em__http_scanners {
    em__http_scan_fn name;   /* stops on every non-tchar (and may on '|', '~') */
    em__http_scan_fn value;  /* stops exactly on the first EM__HTTP_VSTOP byte */
    em__http_scan_fn target; /* stops exactly on the first EM__HTTP_TSTOP byte */
    em__http_scan_fn host;   /* stops on every non-EM__HTTP_HOSTC (and may on ';', '=', '~') */
    em__http_field_fn field;
    int level;
} em__http_scanners;

enum { EM__HTTP_SIMD_SCALAR = 0, EM__HTTP_SIMD_SSE42 = 1, EM__HTTP_SIMD_AVX2 = 2 };

/* The kernels in use: chosen once at start-up from the CPU's features
 * (EMBER_SIMD=off, scalar, sse42 or avx2 caps the choice). The one mutable
 * global of the module. */
extern const em__http_scanners *em__http_scan;

extern const em__http_scanners em__http_scan_scalar;
#if defined(__x86_64__) || defined(__i386__)
extern const em__http_scanners em__http_scan_sse42;
extern const em__http_scanners em__http_scan_avx2;
#endif

/* Whether this CPU can run the kernels of level. */
int em__http_simd_supported(int level);
/* Use level's kernels from now on (tests, fuzzers, benchmarks). Returns 0,
 * or EM_ENOTSUP if the CPU lacks it. Not thread-safe: call while no parser
 * runs. */
int em__http_simd_force(int level);
/* The level in use. */
int em__http_simd_level(void);
/* The level chosen at start-up (the best the CPU and EMBER_SIMD allow). */
int em__http_simd_default(void);

/* ---- parser states (em_http_parser._state) ------------------------------ */

enum {
    EM__HTTP_ST_START = 0, /* nothing parsed yet */
    EM__HTTP_ST_METHOD,
    EM__HTTP_ST_TARGET,
    EM__HTTP_ST_VERSION,
    EM__HTTP_ST_STATUS, /* response: after the version */
    EM__HTTP_ST_REASON,
    EM__HTTP_ST_LINE, /* at the start of a field line (or the final CRLF) */
    EM__HTTP_ST_NAME,
    EM__HTTP_ST_VALUE
};

/* What the field parser does with the fields it finds. */
enum {
    EM__HTTP_MODE_REQUEST, /* classify and record framing; Host and Expect count */
    EM__HTTP_MODE_RESPONSE,
    EM__HTTP_MODE_TRAILER,      /* classify only */
    EM__HTTP_MODE_RESP_TRAILER, /* a response's trailers: classify only, obs-fold as SP */
    /* a 2xx to CONNECT: as a response, but Content-Length and
     * Transfer-Encoding are not read (RFC 9110 §9.3.6: the client MUST
     * ignore them; the connection is a tunnel from the empty line on) */
    EM__HTTP_MODE_TUNNEL
};
/* A response's field lines (head or trailers): obs-fold is read as SP
 * (RFC 9112 §5.2), where a request's is refused. */
static inline bool em__http_mode_response(int mode) {
    return mode == EM__HTTP_MODE_RESPONSE || mode == EM__HTTP_MODE_TUNNEL ||
           mode == EM__HTTP_MODE_RESP_TRAILER;
}
/* Trailer fields are classified, never read for framing. */
static inline bool em__http_mode_trailer(int mode) {
    return mode == EM__HTTP_MODE_TRAILER || mode == EM__HTTP_MODE_RESP_TRAILER;
}

/* _te bits: transfer-coding progress (RFC 9112 §6.1). */
enum {
    EM__HTTP_TE_SEEN = 1,
    EM__HTTP_TE_CHUNKED = 2,      /* chunked was applied */
    EM__HTTP_TE_CHUNKED_LAST = 4, /* ... and is the final coding so far */
    EM__HTTP_TE_CODED = 8         /* another coding was applied */
};

/* Parse field lines from buf + p->_pos up to and including the empty line,
 * storing them in h[p->_nhdr ...] (h may be NULL: validate and count only).
 * max is the field count limit, lim the offset the section must end by
 * (exclusive). Returns the offset just past the final CRLF, EM_EAGAIN
 * (state saved in p), or an error. */
ssize_t em__http_parse_fields(em_http_parser *p, const char *buf, size_t len, size_t lim,
                              em_http_header *h, size_t max, int mode);
/* A response parsed with EM_HTTP_F_OBS_FOLD: rewrite each CR and LF inside
 * the n values with SP (RFC 9112 §5.2) and trim the whitespace the fold
 * left at either end. The values must point into a buffer the caller may
 * write (the HTTP client's own). */
void em__http_unfold(em_http_header *h, size_t n);

/* "HTTP/" DIGIT "." DIGIT, checked byte by byte over what has arrived so
 * the verdict never depends on how the bytes were split. Returns 0 when all
 * 8 bytes are there and well formed, EM_EAGAIN for a good prefix, EM_EPARSE
 * otherwise (parse_request.c). */
int em__http_version8(const char *s, size_t n);

/* Whether every '%' in s starts an escape, '%' and two hex digits (RFC
 * 3986 §2.1), url.c. */
bool em__http_pct_valid(em_slice s);

/* The authority of an absolute-form target "scheme://authority[/...][?...]"
 * (empty when t has no "://"), parse_request.c. */
em_slice em__http_target_authority(em_slice t);

/* Record what a classified field says about framing (framing.c). idx is
 * its index in the field array. Returns 0 or an error. */
int em__http_field_framing(em_http_parser *p, const em_http_header *f, size_t idx, int mode);

/* RFC 9110 §7.2 Host value: uri-host [ ":" port ], possibly empty. */
int em__http_host_valid(const char *s, size_t n);
/* RFC 9112 §3.2.3 authority-form: uri-host ":" port, port non-empty. */
int em__http_authority_valid(const char *s, size_t n);

/* Move a slice found in a buffer that has since moved from old to now. */
static inline void em__http_rebase(em_slice *s, const char *old, const char *now) {
    if (s->ptr)
        s->ptr = now + ((uintptr_t)s->ptr - (uintptr_t)old);
}

/* Effective limits, defaults filled in. */
static inline size_t em__http_lim(size_t v, size_t def) {
    return v ? v : def;
}

/* a + b, saturating (limits may be SIZE_MAX). */
static inline size_t em__http_add_sat(size_t a, size_t b) {
    return a + b < a ? SIZE_MAX : a + b;
}

/* Move the first n field slices after their buffer moved from old to now. */
static inline void em__http_rebase_fields(em_http_header *h, size_t n, const char *old,
                                          const char *now) {
    for (size_t i = 0; i < n; i++) {
        em__http_rebase(&h[i].name, old, now);
        em__http_rebase(&h[i].value, old, now);
    }
}

/* The limits of a head's field section, defaults filled in; max_n is also
 * capped by the caller's array of cap entries. */
typedef struct em__http_field_limits {
    size_t max_bytes, max_n;
    uint64_t max_body;
} em__http_field_limits;

static inline em__http_field_limits em__http_field_limits_of(const em_http_limits *l, size_t cap) {
    em__http_field_limits f = {EM_HTTP_DEFAULT_MAX_HEADER_BYTES, EM_HTTP_DEFAULT_MAX_HEADERS,
                               EM_HTTP_DEFAULT_MAX_BODY};
    if (l) {
        f.max_bytes = em__http_lim(l->max_header_bytes, f.max_bytes);
        f.max_n = em__http_lim(l->max_headers, f.max_n);
        f.max_body = l->max_body ? l->max_body : f.max_body;
    }
    if (f.max_n > cap)
        f.max_n = cap;
    return f;
}

/* Hand o (malloc'd, o first in its block) to r: freed by
 * em_http_router_free (router.c). */
int em__http_router_own(em_http_router *r, struct em__http_router_owned *o);

/* ---- serialization (serialize.c): message heads, shared by server and client */

/* Whether name is a field-name token and value holds no control byte but
 * HTAB (RFC 9110 §5.5; CR, LF and NUL would split or end a field line). */
bool em__http_field_name_ok(em_slice name);
bool em__http_field_value_ok(em_slice value);
/* Append a string literal (its length known at compile time). */
#define EM__HTTP_PUT_LIT(b, s) em_buf_append((b), "" s, sizeof(s) - 1)
/* "HTTP/1.1 200 OK\r\n" */
int em__http_put_status_line(em_buf *b, int status);
/* "name: value\r\n", both checked first (EM_EINVAL). */
int em__http_put_field(em_buf *b, em_slice name, em_slice value);
/* "Content-Length: n\r\n" */
int em__http_put_content_length(em_buf *b, uint64_t n);
/* The size line of a chunk of n bytes ("1a2b\r\n") into buf[20]; returns
 * its length. */
size_t em__http_chunk_size_line(char buf[20], size_t n);
/* RFC 9110 §6.4.1: 1xx, 204 and 304 never carry a body or a length. */
static inline bool em__http_status_has_body(int status) {
    return status >= 200 && status != 204 && status != 304;
}
/* em_http_accept_coding, and whether the uncoded body is acceptable too
 * (RFC 9110 §12.5.3: not after "identity;q=0", or "*;q=0" without
 * identity listed). */
em_http_coding em__http_negotiate_coding(em_slice ae, bool *identity_ok);
/* The English abbreviations of RFC 9110 §5.6.7 (three bytes, no NUL):
 * month 0 is "Jan", day 0 "Sun". Dates on the wire and in the access log
 * never follow the application's LC_TIME, as strftime's %b and %a do. */
static inline const char *em__http_month_abbr(unsigned month0) {
    return &"JanFebMarAprMayJunJulAugSepOctNovDec"[3 * (month0 % 12)];
}
static inline const char *em__http_day_abbr(unsigned wday0) {
    return &"SunMonTueWedThuFriSat"[3 * (wday0 % 7)];
}
/* "Date: <IMF-fixdate>\r\n" for time t into buf[40]; returns its length. */
size_t em__http_date_line(char buf[40], long long t);

#endif
