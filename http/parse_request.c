/* Request heads (RFC 9112 §3): the request line, then the field lines
 * (headers.c), then the framing decision (§6.3). */
#include "http_internal.h"

void em_http_parser_init(em_http_parser *p, const em_http_limits *limits) {
    memset(p, 0, sizeof *p);
    p->limits = limits;
}

/* Back to the start state, keeping the limits. */
static void reset(em_http_parser *p) {
    em_http_parser_init(p, p->limits);
}

em_http_method em_http_method_id(em_slice m) {
    const char *s = m.ptr;
    switch (m.len) {
    case 3:
        if (!memcmp(s, "GET", 3))
            return EM_HTTP_GET;
        if (!memcmp(s, "PUT", 3))
            return EM_HTTP_PUT;
        break;
    case 4:
        if (!memcmp(s, "POST", 4))
            return EM_HTTP_POST;
        if (!memcmp(s, "HEAD", 4))
            return EM_HTTP_HEAD;
        break;
    case 5:
        if (!memcmp(s, "PATCH", 5))
            return EM_HTTP_PATCH;
        if (!memcmp(s, "TRACE", 5))
            return EM_HTTP_TRACE;
        break;
    case 6:
        if (!memcmp(s, "DELETE", 6))
            return EM_HTTP_DELETE;
        break;
    case 7:
        if (!memcmp(s, "OPTIONS", 7))
            return EM_HTTP_OPTIONS;
        if (!memcmp(s, "CONNECT", 7))
            return EM_HTTP_CONNECT;
        break;
    default:
        break;
    }
    return EM_HTTP_METHOD_OTHER;
}

const char *em_http_method_name(em_http_method m) {
    static const char *const names[] = {"",       "GET",     "HEAD",    "POST",  "PUT",
                                        "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"};
    return (unsigned)m < sizeof names / sizeof names[0] ? names[m] : "";
}

int em__http_version8(const char *s, size_t n) {
    static const char pat[] = "HTTP/0.0";
    if (n >= 8 && !memcmp(s, "HTTP/1.", 7) && (s[7] == '1' || s[7] == '0'))
        return 0;
    for (size_t i = 0; i < n && i < 8; i++) {
        int ok = (i == 5 || i == 7) ? (s[i] >= '0' && s[i] <= '9') : s[i] == pat[i];
        if (!ok)
            return EM_EPARSE;
    }
    return n < 8 ? EM_EAGAIN : 0;
}

/* RFC 9112 §3.2: which form the target takes and whether the method allows
 * it (authority-form for CONNECT only, asterisk-form for OPTIONS only). */
static int target_form(em_http_request *req) {
    const char *t = req->target.ptr;
    size_t n = req->target.len;
    if (req->method_id == EM_HTTP_CONNECT) {
        if (!em__http_authority_valid(t, n))
            return EM_EBADTARGET;
        req->target_form = EM_HTTP_TARGET_AUTHORITY;
        return 0;
    }
    if (t[0] == '/') {
        req->target_form = EM_HTTP_TARGET_ORIGIN;
        return 0;
    }
    if (n == 1 && t[0] == '*') {
        if (req->method_id != EM_HTTP_OPTIONS)
            return EM_EBADTARGET;
        req->target_form = EM_HTTP_TARGET_ASTERISK;
        return 0;
    }
    /* absolute-form: scheme ":" ... (RFC 3986 §3.1) */
    unsigned char c = (unsigned char)t[0];
    if (!((c | 0x20) >= 'a' && (c | 0x20) <= 'z'))
        return EM_EBADTARGET;
    size_t i = 1;
    while (i < n && em__http_is((unsigned char)t[i], EM__HTTP_SCHEME))
        i++;
    if (i == n || t[i] != ':')
        return EM_EBADTARGET;
    /* An origin server serves http and https URIs (RFC 9110 §4.2): "//", a
     * host that is not empty (§4.2.1: MUST reject) and no userinfo
     * (§4.2.4: an error), as the router and Host must agree on it. */
    bool http = (i == 4 && em__http_eq_lit(t, "http", 4)) ||
                (i == 5 && em__http_eq_lit(t, "https", 5));
    if (!http || n - i < 3 || t[i + 1] != '/' || t[i + 2] != '/')
        return EM_EBADTARGET;
    em_slice a = em__http_target_authority(req->target);
    if (!a.len || memchr(a.ptr, '@', a.len) || !em__http_host_valid(a.ptr, a.len))
        return EM_EBADTARGET;
    req->target_form = EM_HTTP_TARGET_ABSOLUTE;
    return 0;
}

em_slice em__http_target_authority(em_slice t) {
    const char *s = memchr(t.ptr, ':', t.len);
    if (!s || t.ptr + t.len - s < 3)
        return em_slice_make("", 0);
    s += 3; /* "://" */
    const char *e = s, *end = t.ptr + t.len;
    while (e < end && *e != '/' && *e != '?')
        e++;
    return em_slice_make(s, (size_t)(e - s));
}

/* method SP request-target SP HTTP-version CRLF, resumable. Returns the
 * offset just past the CRLF, EM_EAGAIN or an error. */
static ssize_t request_line(em_http_parser *p, const char *buf, size_t len, size_t lim,
                            em_http_request *req) {
    const char *end = buf + (len < lim ? len : lim);
    const char *s = buf + p->_pos;
    const char *mark = buf + p->_mark;
    int rc;

    switch (p->_state) {
    case EM__HTTP_ST_METHOD:
        goto method;
    case EM__HTTP_ST_TARGET:
        goto target;
    case EM__HTTP_ST_VERSION:
        goto version;
    default:
        break;
    }
    /* RFC 9112 §2.2: ignore empty lines before the request line (they count
     * towards the request line's limit). */
    for (;;) {
        if (s == end)
            goto more;
        if (*s != '\r')
            break;
        if (end - s < 2)
            goto more;
        if (s[1] != '\n')
            return EM_EBADEOL;
        s += 2;
    }
    if (*s == '\n')
        return EM_EBADEOL;
    mark = s;
    if (end - s >= 4 && !memcmp(s, "GET ", 4)) { /* the common case, at once */
        req->method.ptr = s;
        req->method.len = 3;
        req->method_id = EM_HTTP_GET;
        mark = s += 4;
        goto target;
    }
method:
    while (s < end && em__http_is((unsigned char)*s, EM__HTTP_TCHAR))
        s++;
    if (s == end) {
        p->_state = EM__HTTP_ST_METHOD;
        goto more;
    }
    if (*s != ' ' || s == mark)
        return EM_EBADMETHOD;
    req->method.ptr = mark;
    req->method.len = (size_t)(s - mark);
    req->method_id = em_http_method_id(req->method);
    mark = ++s;
target:
    s = em__http_scan->target(s, end, buf);
    if (s == end) {
        p->_state = EM__HTTP_ST_TARGET;
        goto more;
    }
    if (*s != ' ')
        return *s == '\r' || *s == '\n' ? EM_EPARSE : EM_EBADTARGET;
    if (s == mark)
        return EM_EBADTARGET;
    req->target.ptr = mark;
    req->target.len = (size_t)(s - mark);
    rc = target_form(req);
    if (rc)
        return rc;
    s++;
version:
    if (end - s >= 10 && !memcmp(s, "HTTP/1.1\r\n", 10)) {
        req->version_minor = 1;
        return s + 10 - buf;
    }
    rc = em__http_version8(s, (size_t)(end - s));
    if (rc == 0 && end - s >= 9 && s[8] != '\r')
        rc = s[8] == '\n' ? EM_EBADEOL : EM_EPARSE;
    if (rc == 0 && end - s >= 10 && s[9] != '\n')
        rc = EM_EBADEOL;
    if (rc == 0 && end - s < 10)
        rc = EM_EAGAIN;
    if (rc == EM_EAGAIN) {
        p->_state = EM__HTTP_ST_VERSION;
        goto more;
    }
    if (rc)
        return rc;
    /* RFC 9112 §2.6: only HTTP/1.x is spoken here -> 505; RFC 9110 §2.5:
     * a higher minor version is read as the highest we implement, 1.1. */
    if (s[5] != '1')
        return EM_EBADVERSION;
    req->version_minor = s[7] > '1' ? 1 : s[7] - '0';
    return s + 10 - buf;
more:
    if (lim <= len)
        return EM_EURITOOLONG;
    p->_pos = (size_t)(s - buf);
    p->_mark = (size_t)(mark - buf);
    return EM_EAGAIN;
}

/* RFC 9112 §6.3, requests: CL with TE is a smuggling vector -> 400; TE
 * must end in chunked (else the length is unknowable -> 400); TE in
 * HTTP/1.0 is faulty framing (§6.1) -> 400; no CL and no TE -> no body. */
static int finish(em_http_parser *p, em_http_request *req, uint64_t max_body) {
    unsigned f = p->_flags;
    req->num_headers = p->_nhdr;
    if (p->_host)
        req->host = req->headers[p->_host - 1].value;
    /* RFC 9112 §3.2.2: an absolute-form target's authority replaces Host. */
    if (req->target_form == EM_HTTP_TARGET_ABSOLUTE)
        req->host = em__http_target_authority(req->target);
    /* RFC 9112 §3.2: an HTTP/1.1 request without Host -> 400. */
    if (req->version_minor == 1 && !(f & EM_HTTP_F_HOST))
        return EM_EBADHOST;
    if (f & EM_HTTP_F_TRANSFER_ENCODING) {
        if (f & EM_HTTP_F_CONTENT_LENGTH)
            return EM_ECLTE;
        if (req->version_minor == 0 || !(p->_te & EM__HTTP_TE_CHUNKED_LAST))
            return EM_EBADTE;
        f |= EM_HTTP_F_CHUNKED | (p->_te & EM__HTTP_TE_CODED ? EM_HTTP_F_TE_CODED : 0);
        req->body = EM_HTTP_BODY_CHUNKED;
    } else if (f & EM_HTTP_F_CONTENT_LENGTH) {
        if (p->_cl > max_body)
            return EM_EBODYTOOLARGE;
        req->content_length = p->_cl;
        req->body = p->_cl ? EM_HTTP_BODY_LENGTH : EM_HTTP_BODY_NONE;
    }
    /* RFC 9110 §10.1.1: ignore 100-continue from an HTTP/1.0 client. */
    if (req->version_minor == 0)
        f &= ~(unsigned)EM_HTTP_F_EXPECT_CONTINUE;
    if (!(f & EM_HTTP_F_CONN_CLOSE) && (req->version_minor == 1 || (f & EM_HTTP_F_CONN_KEEP_ALIVE)))
        f |= EM_HTTP_F_KEEP_ALIVE;
    req->flags = f;
    return 0;
}

ssize_t em_http_parse_request(em_http_parser *p, const char *buf, size_t len,
                              em_http_request *req) {
    const em_http_limits *l = p->limits;
    ssize_t rc;

    if (p->_state == EM__HTTP_ST_START && p->_pos == 0) {
        static const em_slice none = {NULL, 0};
        req->num_headers = 0;
        req->method = none;
        req->target = none;
        req->host = none;
        req->content_length = 0;
        req->method_id = EM_HTTP_METHOD_OTHER;
        req->target_form = EM_HTTP_TARGET_ORIGIN;
        req->body = EM_HTTP_BODY_NONE;
        req->flags = 0;
        req->version_minor = 0;
    } else if (buf != p->_base) {
        em__http_rebase(&req->method, p->_base, buf);
        em__http_rebase(&req->target, p->_base, buf);
        em__http_rebase_fields(req->headers, p->_nhdr, p->_base, buf);
    }
    p->_base = buf;
    if (p->_state < EM__HTTP_ST_LINE) {
        size_t max_line = l ? em__http_lim(l->max_start_line, EM_HTTP_DEFAULT_MAX_START_LINE)
                            : EM_HTTP_DEFAULT_MAX_START_LINE;
        rc = request_line(p, buf, len, max_line, req);
        if (rc < 0)
            goto out;
        p->_fields = p->_pos = (size_t)rc;
        p->_state = EM__HTTP_ST_LINE;
    }
    em__http_field_limits fl = em__http_field_limits_of(l, req->max_headers);
    rc = em__http_parse_fields(p, buf, len, em__http_add_sat(p->_fields, fl.max_bytes),
                               req->headers, fl.max_n, EM__HTTP_MODE_REQUEST);
    if (rc >= 0) {
        int frc = finish(p, req, fl.max_body);
        if (frc)
            rc = frc;
    }
out:
    if (rc != EM_EAGAIN)
        reset(p);
    return rc;
}
