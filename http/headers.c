/* Field lines (RFC 9112 §5): the parser shared by request heads, response
 * heads and chunked trailers, the classification of the fields that decide
 * framing, and lookups over a parsed field array. */
#include "http_internal.h"

static inline uint64_t load64(const char *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint32_t load32(const char *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint16_t load16(const char *p) {
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

#define LC64 0x2020202020202020ull
#define LC32 0x20202020u
#define LC16 0x2020u

/* Classify a name already known to be all tchar: OR-ing 0x20 then folds
 * case exactly, since no other tchar maps onto a letter or '-'. One length
 * switch and at most three word compares. */
static inline em_http_hdr classify_tchar(const char *n, size_t len) {
    switch (len) {
    case 4:
        return (load32(n) | LC32) == load32("host") ? EM_HTTP_HDR_HOST : EM_HTTP_HDR_OTHER;
    case 6:
        return (load32(n) | LC32) == load32("expe") && (load16(n + 4) | LC16) == load16("ct")
                   ? EM_HTTP_HDR_EXPECT
                   : EM_HTTP_HDR_OTHER;
    case 7:
        return (load32(n) | LC32) == load32("upgr") && (load32(n + 3) | LC32) == load32("rade")
                   ? EM_HTTP_HDR_UPGRADE
                   : EM_HTTP_HDR_OTHER;
    case 10:
        return (load64(n) | LC64) == load64("connecti") && (load32(n + 6) | LC32) == load32("tion")
                   ? EM_HTTP_HDR_CONNECTION
                   : EM_HTTP_HDR_OTHER;
    case 14:
        return (load64(n) | LC64) == load64("content-") &&
                       (load64(n + 6) | LC64) == load64("t-length")
                   ? EM_HTTP_HDR_CONTENT_LENGTH
                   : EM_HTTP_HDR_OTHER;
    case 17:
        return (load64(n) | LC64) == load64("transfer") &&
                       (load64(n + 8) | LC64) == load64("-encodin") && (n[16] | 0x20) == 'g'
                   ? EM_HTTP_HDR_TRANSFER_ENCODING
                   : EM_HTTP_HDR_OTHER;
    default:
        return EM_HTTP_HDR_OTHER;
    }
}

static inline int is_ows(char c) {
    return c == ' ' || c == '\t';
}

/* The common framing fields inline; the rest, and every unusual value, in
 * framing.c. Field values hold no CTL, so OR-ing 0x20 folds case exactly
 * for literals of letters and '-'. */
static inline int field_framing(em_http_parser *p, const em_http_header *f, size_t idx, int mode,
                                const em__http_scanners *sc, const char *lo) {
    const char *v = f->value.ptr;
    size_t n = f->value.len;
    if (f->id == EM_HTTP_HDR_HOST && mode == EM__HTTP_MODE_REQUEST &&
        !(p->_flags & EM_HTTP_F_HOST)) {
        const char *e = v + n, *q = sc->host(v, e, lo);
        while (q != e && em__http_is((unsigned char)*q, EM__HTTP_HOSTC))
            q = sc->host(q + 1, e, lo); /* a scanner's false stop */
        if (q == e) {                   /* a plain reg-name; anything else gets the full check */
            p->_flags |= EM_HTTP_F_HOST;
            p->_host = idx + 1;
            return 0;
        }
    } else if (f->id == EM_HTTP_HDR_CONNECTION) {
        if (n == 10 && (load64(v) | LC64) == load64("keep-ali") &&
            (load16(v + 8) | LC16) == load16("ve")) {
            p->_flags |= EM_HTTP_F_CONN_KEEP_ALIVE;
            return 0;
        }
        if (n == 5 && (load32(v) | LC32) == load32("clos") && (v[4] | 0x20) == 'e') {
            p->_flags |= EM_HTTP_F_CONN_CLOSE;
            return 0;
        }
    }
    return em__http_field_framing(p, f, idx, mode);
}

ssize_t em__http_parse_fields(em_http_parser *p, const char *buf, size_t len, size_t lim,
                              em_http_header *h, size_t max, int mode) {
    const em__http_scanners *sc = em__http_scan;
    const char *end = buf + (len < lim ? len : lim);
    const char *s = buf + p->_pos;
    const char *name = buf + p->_mark;
    const char *val;
    size_t nlen = p->_name_len;
    size_t n = p->_nhdr; /* a local: stores through h cannot alias it */
    size_t slot_mask = SIZE_MAX;
    em_http_header scratch;
    int rc;

    if (!h) { /* validate and count only: every field goes to scratch */
        h = &scratch;
        slot_mask = 0;
    }
    switch (p->_state) {
    case EM__HTTP_ST_NAME:
        goto name_scan;
    case EM__HTTP_ST_VALUE:
        val = name + nlen + 1;
        goto value_scan;
    default:
        break;
    }
    for (;;) {
        if (s == end) {
            p->_state = EM__HTTP_ST_LINE;
            goto more;
        }
        if (!em__http_is((unsigned char)*s, EM__HTTP_TCHAR)) {
            if (*s == '\r') {
                if (end - s < 2) {
                    p->_state = EM__HTTP_ST_LINE;
                    goto more;
                }
                if (s[1] != '\n')
                    return EM_EBADEOL;
                p->_nhdr = n;
                return s + 2 - buf;
            }
            if (*s == '\n')
                return EM_EBADEOL; /* bare LF: rejected, see http.h */
            /* RFC 9112 §2.2: whitespace before the first field line is
             * not a field. §5.2: obs-fold in a request -> 400; in a
             * response a user agent MUST take it as SP: the previous
             * field's value goes on over the fold (CR LF and all; the
             * owner of the buffer rewrites them, em__http_unfold), unless
             * that field is one ember interprets (framing, Connection,
             * ...): those stay unambiguous. */
            if (!is_ows(*s) || !n)
                return EM_EBADHEADER;
            if (!em__http_mode_response(mode) || h[(n - 1) & slot_mask].id != EM_HTTP_HDR_OTHER)
                return EM_EOBSFOLD;
            n--;
            name = h[n & slot_mask].name.ptr;
            nlen = h[n & slot_mask].name.len;
            val = name + nlen + 1;
            p->_flags |= EM_HTTP_F_OBS_FOLD;
            goto value_scan;
        }
        if (n >= max)
            return EM_ETOOMANYHDRS;
        name = s;
        {
            const char *colon;
            s = sc->field(s, end, buf, &colon);
            if (colon != end && *colon == ':') {
                nlen = (size_t)(colon - name);
                val = colon + 1;
                goto value_found;
            }
            s = colon;
            goto name_check;
        }
    name_scan:
        s = sc->name(s, end, buf);
    name_check:
        for (;;) {
            if (s == end) {
                p->_state = EM__HTTP_ST_NAME;
                goto more;
            }
            if (*s == ':')
                break;
            /* RFC 9112 §5.1: no whitespace between name and colon (-> 400). */
            if (!em__http_is((unsigned char)*s, EM__HTTP_TCHAR))
                return *s == '\n' ? EM_EBADEOL : EM_EBADHEADER;
            s = sc->name(s + 1, end, buf); /* a scanner's false stop ('|', '~') */
        }
        nlen = (size_t)(s - name);
        val = ++s;
    value_scan:
        /* The scan covers the OWS around the value too; it is trimmed once
         * the line is complete. */
        s = sc->value(s, end, buf);
    value_found:
        if (s == end) {
            p->_state = EM__HTTP_ST_VALUE;
            goto more;
        }
        if (*s != '\r')
            return *s == '\n' ? EM_EBADEOL : EM_EBADHEADER; /* NUL, CTL, DEL */
        if (end - s < 2) {
            p->_state = EM__HTTP_ST_VALUE;
            goto more;
        }
        if (s[1] != '\n')
            return EM_EBADEOL; /* bare CR (RFC 9112 §2.2) */
        {
            /* Trim OWS (usually one SP); the CR at s bounds the loop. */
            const char *ve = s;
            val += *val == ' ';
            while (is_ows(*val))
                val++;
            while (ve > val && is_ows(ve[-1]))
                ve--;
            if (p->_flags & EM_HTTP_F_OBS_FOLD) { /* a fold may start or end it */
                while (ve > val && (is_ows(ve[-1]) || ve[-1] == '\n' || ve[-1] == '\r'))
                    ve--;
                while (val < ve && (is_ows(*val) || *val == '\n' || *val == '\r'))
                    val++;
            }
            em_http_header *f = &h[n & slot_mask];
            f->name.ptr = name;
            f->name.len = nlen;
            f->value.ptr = val;
            f->value.len = (size_t)(ve - val);
            f->id = classify_tchar(name, nlen);
            if (f->id != EM_HTTP_HDR_OTHER && !em__http_mode_trailer(mode)) {
                rc = field_framing(p, f, n, mode, sc, buf);
                if (rc)
                    return rc;
            }
            n++;
        }
        s += 2;
    }
more:
    if (lim <= len)
        return EM_EHDRTOOLARGE; /* the section cannot end within lim */
    p->_pos = (size_t)(s - buf);
    p->_mark = (size_t)(name - buf);
    p->_name_len = nlen;
    p->_nhdr = n;
    return EM_EAGAIN;
}

void em__http_unfold(em_http_header *h, size_t n) {
    for (size_t i = 0; i < n; i++) {
        char *v = (char *)h[i].value.ptr; /* the caller's writable buffer */
        size_t len = h[i].value.len;
        for (size_t k = 0; k < len; k++)
            if (v[k] == '\r' || v[k] == '\n')
                v[k] = ' ';
        while (len && is_ows(*v)) {
            v++;
            len--;
        }
        while (len && is_ows(v[len - 1]))
            len--;
        h[i].value = em_slice_make(v, len);
    }
}

/* ---- lookups ------------------------------------------------------------ */

em_http_hdr em_http_header_id(em_slice name) {
    for (size_t i = 0; i < name.len; i++)
        if (!em__http_is((unsigned char)name.ptr[i], EM__HTTP_TCHAR))
            return EM_HTTP_HDR_OTHER;
    return classify_tchar(name.ptr, name.len);
}

static int eq_nocase(const char *a, const char *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (em__http_lower((unsigned char)a[i]) != em__http_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

const em_http_header *em_http_header_find(const em_http_header *h, size_t n, em_slice name) {
    for (size_t i = 0; i < n; i++)
        if (h[i].name.len == name.len && eq_nocase(h[i].name.ptr, name.ptr, name.len))
            return &h[i];
    return NULL;
}

const em_http_header *em_http_header_find_id(const em_http_header *h, size_t n, em_http_hdr id) {
    for (size_t i = 0; i < n; i++)
        if (h[i].id == id)
            return &h[i];
    return NULL;
}
