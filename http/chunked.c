/* Chunked transfer coding (RFC 9112 §7.1), decoded without copying: data
 * comes back as slices of the caller's buffer, size lines are consumed byte
 * by byte as they arrive (so a split never rescans), and the trailer
 * section goes through the field parser once it is complete. */
#include "http_internal.h"

enum {
    C_SIZE0 = 0, /* first hex digit of a chunk size */
    C_SIZE,      /* more digits, or what follows them */
    C_BWS,       /* whitespace after the size or a value: ';' must follow */
    C_NAME0,     /* after ';': OWS, then an extension name */
    C_NAME,
    C_NAME_BWS, /* whitespace after a name: '=' or ';' must follow */
    C_VAL0,     /* after '=': OWS, then a token or a quoted-string */
    C_VAL,
    C_QS,     /* inside a quoted-string */
    C_QP,     /* after a backslash in a quoted-string */
    C_QS_END, /* after the closing quote */
    C_LF,     /* CR seen at the end of the size line */
    C_DATA,
    C_DATA_CR, /* chunk data done: CRLF must follow */
    C_DATA_LF,
    C_TRAILERS,
    C_DONE
};

void em_http_chunked_init(em_http_chunked *c, const em_http_limits *limits) {
    em_http_header *t = c->trailers;
    size_t cap = c->max_trailers;
    bool response = c->response;
    memset(c, 0, sizeof *c);
    c->limits = limits;
    c->trailers = t;
    c->max_trailers = cap;
    c->response = response;
}

bool em_http_chunked_done(const em_http_chunked *c) {
    return c->_state == C_DONE;
}

static inline int is_ows(char ch) {
    return ch == ' ' || ch == '\t';
}

static inline int hexval(unsigned char ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch |= 0x20;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* After the last chunk: trailer-section CRLF. Consumed only when complete;
 * until then the trailer parser keeps its place relative to buf. */
static ssize_t trailers(em_http_chunked *c, const char *buf, size_t len) {
    const em_http_limits *l = c->limits;
    size_t max_bytes = EM_HTTP_DEFAULT_MAX_TRAILER_BYTES, max_n = EM_HTTP_DEFAULT_MAX_TRAILERS;
    if (l) {
        max_bytes = em__http_lim(l->max_trailer_bytes, max_bytes);
        max_n = em__http_lim(l->max_trailers, max_n);
    }
    if (c->trailers && max_n > c->max_trailers)
        max_n = c->max_trailers;
    em_http_parser *tp = &c->_tp;
    if (tp->_base && tp->_base != buf && c->trailers) {
        for (size_t i = 0; i < tp->_nhdr; i++) {
            em__http_rebase(&c->trailers[i].name, tp->_base, buf);
            em__http_rebase(&c->trailers[i].value, tp->_base, buf);
        }
    }
    tp->_base = buf;
    ssize_t rc =
        em__http_parse_fields(tp, buf, len, max_bytes, c->trailers, max_n,
                              c->response ? EM__HTTP_MODE_RESP_TRAILER : EM__HTTP_MODE_TRAILER);
    if (rc >= 0) {
        c->num_trailers = c->trailers ? tp->_nhdr : 0;
        c->_state = C_DONE;
    }
    return rc;
}

ssize_t em_http_chunked_decode(em_http_chunked *c, const char *buf, size_t len, em_slice *data) {
    const em_http_limits *l = c->limits;
    size_t max_ext = l ? em__http_lim(l->max_chunk_ext, EM_HTTP_DEFAULT_MAX_CHUNK_EXT)
                       : EM_HTTP_DEFAULT_MAX_CHUNK_EXT;
    uint64_t max_body = l && l->max_body ? l->max_body : EM_HTTP_DEFAULT_MAX_BODY;
    size_t i = 0;

    data->ptr = buf;
    data->len = 0;
    if (c->_state == C_DONE)
        return 0;
    while (i < len) {
        unsigned char ch = (unsigned char)buf[i];
        int st = c->_state;
        if (st == C_DATA) {
            size_t n = len - i;
            if (n > c->_remaining)
                n = (size_t)c->_remaining;
            data->ptr = buf + i;
            data->len = n;
            c->_remaining -= n;
            c->_total += n;
            if (c->_remaining == 0)
                c->_state = C_DATA_CR;
            return (ssize_t)(i + n); /* one data run per call */
        }
        if (st == C_TRAILERS) {
            ssize_t rc = trailers(c, buf + i, len - i);
            if (rc >= 0)
                return (ssize_t)i + rc;
            if (rc == EM_EAGAIN)
                return i ? (ssize_t)i : EM_EAGAIN;
            return rc;
        }
        /* RFC 9112 §7.1.1: extensions are bounded -> 4xx. */
        if (st >= C_BWS && st <= C_QS_END && ch != '\r' && ++c->_count > max_ext)
            return EM_EEXTTOOLONG;
        switch (st) {
        case C_SIZE0:
        case C_SIZE: {
            int v = hexval(ch);
            if (v >= 0) {
                /* 16 significant digits fill 64 bits: a 17th is an
                 * overflow. Leading zeros are legal (RFC 9112 §7.1), up to
                 * 64 digits in all, so a size line stays bounded. */
                if ((c->_remaining >> 60) || ++c->_count > 64)
                    return EM_EBADCHUNK;
                c->_remaining = c->_remaining << 4 | (unsigned)v;
                c->_state = C_SIZE;
                break;
            }
            if (st == C_SIZE0)
                return EM_EBADCHUNK;
            if (c->_remaining > max_body - c->_total)
                return EM_EBODYTOOLARGE;
            c->_count = 1; /* this byte starts the extensions, if any */
            if (ch == '\r')
                c->_state = C_LF;
            else if (ch == ';')
                c->_state = C_NAME0;
            else if (is_ows(ch))
                c->_state = C_BWS;
            else
                return EM_EBADCHUNK;
            break;
        }
        case C_BWS:
            if (ch == ';')
                c->_state = C_NAME0;
            else if (!is_ows(ch))
                return EM_EBADCHUNK;
            break;
        case C_NAME0:
            if (em__http_is(ch, EM__HTTP_TCHAR))
                c->_state = C_NAME;
            else if (!is_ows(ch))
                return EM_EBADCHUNK;
            break;
        case C_NAME:
        case C_VAL:
            if (em__http_is(ch, EM__HTTP_TCHAR))
                break;
            if (ch == '\r')
                c->_state = C_LF;
            else if (ch == ';')
                c->_state = C_NAME0;
            else if (ch == '=' && st == C_NAME)
                c->_state = C_VAL0;
            else if (is_ows(ch))
                c->_state = st == C_NAME ? C_NAME_BWS : C_BWS;
            else
                return EM_EBADCHUNK;
            break;
        case C_NAME_BWS:
            if (ch == '=')
                c->_state = C_VAL0;
            else if (ch == ';')
                c->_state = C_NAME0;
            else if (!is_ows(ch))
                return EM_EBADCHUNK;
            break;
        case C_VAL0:
            if (ch == '"')
                c->_state = C_QS;
            else if (em__http_is(ch, EM__HTTP_TCHAR))
                c->_state = C_VAL;
            else if (!is_ows(ch))
                return EM_EBADCHUNK;
            break;
        case C_QS:
            if (ch == '"')
                c->_state = C_QS_END;
            else if (ch == '\\')
                c->_state = C_QP;
            else if (!em__http_is(ch, EM__HTTP_QDTEXT))
                return EM_EBADCHUNK;
            break;
        case C_QP:
            if (!em__http_is(ch, EM__HTTP_QPAIR))
                return EM_EBADCHUNK;
            c->_state = C_QS;
            break;
        case C_QS_END:
            if (ch == '\r')
                c->_state = C_LF;
            else if (ch == ';')
                c->_state = C_NAME0;
            else if (is_ows(ch))
                c->_state = C_BWS;
            else
                return EM_EBADCHUNK;
            break;
        case C_LF:
            if (ch != '\n')
                return EM_EBADCHUNK;
            c->_count = 0;
            c->_state = c->_remaining ? C_DATA : C_TRAILERS;
            break;
        case C_DATA_CR:
            if (ch != '\r')
                return EM_EBADCHUNK;
            c->_state = C_DATA_LF;
            break;
        case C_DATA_LF:
            if (ch != '\n')
                return EM_EBADCHUNK;
            c->_state = C_SIZE0;
            break;
        default:
            return EM_EBADCHUNK;
        }
        i++;
    }
    return i ? (ssize_t)i : EM_EAGAIN;
}
