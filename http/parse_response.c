/* Response heads (RFC 9112 §4): the status line, the field lines
 * (headers.c), then the framing decision (§6.3). */
#include "http_internal.h"

/* HTTP-version SP 3DIGIT [ SP reason-phrase ] CRLF, resumable. The SP after
 * the code is required by the grammar but often missing in the wild, so
 * "HTTP/1.1 200\r\n" is accepted with an empty reason. */
static ssize_t status_line(em_http_parser *p, const char *buf, size_t len, size_t lim,
                           em_http_response *resp) {
    const char *end = buf + (len < lim ? len : lim);
    const char *s = buf + p->_pos;
    int rc;

    switch (p->_state) {
    case EM__HTTP_ST_STATUS:
        goto status;
    case EM__HTTP_ST_REASON:
        goto reason;
    default:
        break;
    }
    rc = em__http_version8(s, (size_t)(end - s));
    if (rc == 0 && end - s >= 9 && s[8] != ' ')
        rc = EM_EPARSE;
    if (rc == 0 && end - s < 9)
        rc = EM_EAGAIN;
    if (rc == EM_EAGAIN)
        goto more;
    if (rc)
        return rc;
    if (s[5] != '1') /* RFC 9110 §2.5: 1.2 and up are read as 1.1 */
        return EM_EBADVERSION;
    resp->version_minor = s[7] > '1' ? 1 : s[7] - '0';
    s += 9;
    p->_state = EM__HTTP_ST_STATUS;
status:
    for (int i = 0; i < 4; i++) {
        if (end - s <= i)
            goto more;
        if (i < 3 ? !(s[i] >= '0' && s[i] <= '9') : s[i] != ' ' && s[i] != '\r')
            return s[i] == '\n' ? EM_EBADEOL : EM_EPARSE;
    }
    /* RFC 9110 §15: a code outside 100..599 is invalid, and a client
     * SHOULD process it as a 5xx: kept as received, framed as one. */
    resp->status = (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
    s += s[3] == ' ' ? 4 : 3;
    p->_mark = (size_t)(s - buf);
    p->_state = EM__HTTP_ST_REASON;
reason:
    /* reason-phrase = 1*( HTAB / SP / VCHAR / obs-text ): a field value's
     * alphabet, so the value scanner serves. */
    s = em__http_scan->value(s, end, buf);
    if (s == end)
        goto more;
    if (*s != '\r')
        return *s == '\n' ? EM_EBADEOL : EM_EPARSE;
    if (end - s < 2)
        goto more;
    if (s[1] != '\n')
        return EM_EBADEOL;
    resp->reason.ptr = buf + p->_mark;
    resp->reason.len = (size_t)(s - resp->reason.ptr);
    return s + 2 - buf;
more:
    if (lim <= len)
        return EM_EHDRTOOLARGE;
    p->_pos = (size_t)(s - buf);
    return EM_EAGAIN;
}

/* RFC 9112 §6.3, responses, in the RFC's order: HEAD, 1xx, 204 and 304
 * have no body whatever the fields say; 2xx to CONNECT and 101 turn the
 * connection into a tunnel; else CL with TE -> error (a splitting vector); TE
 * ending in chunked -> chunked, other TE -> until close; CL -> length;
 * neither -> until close. */
static int finish(em_http_parser *p, em_http_response *resp, em_http_method method,
                  uint64_t max_body) {
    unsigned f = p->_flags;
    int st = resp->status < 100 || resp->status > 599 ? 500 : resp->status; /* RFC 9110 §15 */
    resp->num_headers = p->_nhdr;
    /* Rule 1 comes first: with no body the empty line ends the message
     * whatever the fields say, so a CL with TE (a splitting vector) or TE
     * in 1.0 only forbids reuse (§6.1: close after processing it). */
    bool bodiless = method == EM_HTTP_HEAD || st < 200 || st == 204 || st == 304;
    bool faulty = (f & EM_HTTP_F_TRANSFER_ENCODING) &&
                  ((f & EM_HTTP_F_CONTENT_LENGTH) || resp->version_minor == 0);
    if (faulty && !bodiless)
        return (f & EM_HTTP_F_CONTENT_LENGTH) ? EM_ECLTE : EM_EBADTE;
    if (f & EM_HTTP_F_CONTENT_LENGTH)
        resp->content_length = p->_cl;
    if (f & EM_HTTP_F_TRANSFER_ENCODING) {
        if (p->_te & EM__HTTP_TE_CHUNKED_LAST)
            f |= EM_HTTP_F_CHUNKED;
        if (p->_te & EM__HTTP_TE_CODED)
            f |= EM_HTTP_F_TE_CODED;
    }
    if (method == EM_HTTP_HEAD || st < 200 || st == 204 || st == 304) {
        resp->body = EM_HTTP_BODY_NONE;
        /* RFC 9110 §9.3.6: any 2xx to CONNECT, 204 included, is a tunnel. */
        if (st == 101 || (method == EM_HTTP_CONNECT && st >= 200 && st < 300))
            f |= EM_HTTP_F_TUNNEL;
    } else if (method == EM_HTTP_CONNECT && st < 300) {
        resp->body = EM_HTTP_BODY_NONE;
        f |= EM_HTTP_F_TUNNEL;
    } else if (f & EM_HTTP_F_TRANSFER_ENCODING) {
        resp->body = (f & EM_HTTP_F_CHUNKED) ? EM_HTTP_BODY_CHUNKED : EM_HTTP_BODY_UNTIL_CLOSE;
    } else if (f & EM_HTTP_F_CONTENT_LENGTH) {
        if (p->_cl > max_body)
            return EM_EBODYTOOLARGE;
        resp->body = p->_cl ? EM_HTTP_BODY_LENGTH : EM_HTTP_BODY_NONE;
    } else {
        resp->body = EM_HTTP_BODY_UNTIL_CLOSE;
    }
    if (!faulty && !(f & EM_HTTP_F_CONN_CLOSE) && resp->body != EM_HTTP_BODY_UNTIL_CLOSE &&
        !(f & EM_HTTP_F_TUNNEL) && (resp->version_minor == 1 || (f & EM_HTTP_F_CONN_KEEP_ALIVE)))
        f |= EM_HTTP_F_KEEP_ALIVE;
    resp->flags = f;
    return 0;
}

ssize_t em_http_parse_response(em_http_parser *p, const char *buf, size_t len,
                               em_http_method method, em_http_response *resp) {
    const em_http_limits *l = p->limits;
    ssize_t rc;

    if (p->_state == EM__HTTP_ST_START) {
        resp->num_headers = 0;
        resp->reason = (em_slice){NULL, 0};
        resp->content_length = 0;
        resp->status = 0;
        resp->body = EM_HTTP_BODY_NONE;
        resp->flags = 0;
        resp->version_minor = 0;
    } else if (buf != p->_base) {
        em__http_rebase(&resp->reason, p->_base, buf);
        em__http_rebase_fields(resp->headers, p->_nhdr, p->_base, buf);
    }
    p->_base = buf;
    if (p->_state < EM__HTTP_ST_LINE) {
        size_t max_line = l ? em__http_lim(l->max_start_line, EM_HTTP_DEFAULT_MAX_START_LINE)
                            : EM_HTTP_DEFAULT_MAX_START_LINE;
        rc = status_line(p, buf, len, max_line, resp);
        if (rc < 0)
            goto out;
        p->_fields = p->_pos = (size_t)rc;
        p->_state = EM__HTTP_ST_LINE;
    }
    em__http_field_limits fl = em__http_field_limits_of(l, resp->max_headers);
    bool tunnel = method == EM_HTTP_CONNECT && resp->status >= 200 && resp->status < 300;
    rc = em__http_parse_fields(p, buf, len, em__http_add_sat(p->_fields, fl.max_bytes),
                               resp->headers, fl.max_n,
                               tunnel ? EM__HTTP_MODE_TUNNEL : EM__HTTP_MODE_RESPONSE);
    if (rc >= 0) {
        int frc = finish(p, resp, method, fl.max_body);
        if (frc)
            rc = frc;
    }
out:
    if (rc != EM_EAGAIN)
        em_http_parser_init(p, p->limits);
    return rc;
}
