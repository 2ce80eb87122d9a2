/* Cookies for servers: a request's Cookie header into name/value slices,
 * and Set-Cookie values (RFC 6265 §4.1) that cannot inject headers. */
#include <inttypes.h>
#include <string.h>

#include "cookie_internal.h"
#include "http_internal.h"

static bool is_tchar(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(em_slice s) {
    for (size_t i = 0; i < s.len; i++)
        if (!is_tchar((unsigned char)s.ptr[i]))
            return false;
    return s.len > 0;
}

static bool is_ctl(unsigned char c) {
    return c < 0x20 || c == 0x7F;
}

/* ---- Cookie: ------------------------------------------------------------- */

size_t em_cookie_parse_header(em_slice h, em_cookie *out, size_t max) {
    size_t n = 0, pos = 0;
    while (pos < h.len && n < max) {
        em_slice rest = em_slice_sub(h, pos, h.len - pos);
        ssize_t semi = em_slice_find_byte(rest, ';');
        em_slice pair = em_slice_trim(semi < 0 ? rest : em_slice_sub(rest, 0, (size_t)semi));
        pos += semi < 0 ? rest.len : (size_t)semi + 1;
        ssize_t eq = em_slice_find_byte(pair, '=');
        if (eq < 0)
            continue;
        em_slice name = em_slice_trim(em_slice_sub(pair, 0, (size_t)eq));
        em_slice value = em_slice_trim(em_slice_sub(pair, (size_t)eq + 1, pair.len));
        if (!is_token(name))
            continue;
        if (value.len && value.ptr[0] == '"') {
            if (value.len < 2 || value.ptr[value.len - 1] != '"')
                continue;
            value = em_slice_sub(value, 1, value.len - 2);
        }
        bool ok = true;
        for (size_t i = 0; i < value.len && ok; i++)
            ok = !is_ctl((unsigned char)value.ptr[i]) && value.ptr[i] != '"';
        if (!ok)
            continue;
        out[n].name = name;
        out[n].value = value;
        n++;
    }
    return n;
}

/* ---- Set-Cookie: --------------------------------------------------------- */

/* cookie-octet: US-ASCII except CTLs, whitespace, DQUOTE, ',', ';', '\'. */
static bool is_cookie_octet(unsigned char c) {
    return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
           (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
}

static bool valid_value(em_slice v) {
    if (v.len >= 2 && v.ptr[0] == '"' && v.ptr[v.len - 1] == '"')
        v = em_slice_sub(v, 1, v.len - 2);
    for (size_t i = 0; i < v.len; i++)
        if (!is_cookie_octet((unsigned char)v.ptr[i]))
            return false;
    return true;
}

/* RFC 6265 §4.1.1: a subdomain (RFC 1034 §3.5, RFC 1123 §2.1), labels of
 * letters, digits and '-' that neither start nor end with '-'; a leading
 * '.' is tolerated (user agents ignore it, §4.1.2.3). */
static bool valid_domain(em_slice d) {
    size_t i = d.len && d.ptr[0] == '.';
    if (i == d.len)
        return false;
    size_t start = i;
    for (; i <= d.len; i++) {
        if (i == d.len || d.ptr[i] == '.') {
            if (i == start || d.ptr[start] == '-' || d.ptr[i - 1] == '-')
                return false;
            start = i + 1;
            continue;
        }
        char c = d.ptr[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return true;
}

/* path-value: any CHAR except CTLs or ';'. */
static bool valid_path(em_slice p) {
    for (size_t i = 0; i < p.len; i++) {
        unsigned char c = (unsigned char)p.ptr[i];
        if (is_ctl(c) || c == ';' || c >= 0x80)
            return false;
    }
    return true;
}

static bool prefixed(em_slice s, const char *p) {
    size_t n = strlen(p);
    return s.len >= n && em_slice_eq_nocase(em_slice_make(s.ptr, n), em_slice_make(p, n));
}

#define YEAR_1601     (-11644473600LL) /* 1601-01-01T00:00:00Z */
#define YEAR_9999_END 253402300799LL   /* 9999-12-31T23:59:59Z */

/* An IMF-fixdate (RFC 9110 §5.6.7): "Sun, 06 Nov 1994 08:49:37 GMT". */
static int append_date(em_buf *b, int64_t t) {
    int64_t days = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
    int64_t secs = t - days * 86400;
    int64_t y;
    unsigned m, d;
    em__cookie_civil_from_days(days, &y, &m, &d);
    unsigned w = (unsigned)(((days % 7) + 7 + 4) % 7); /* day 0 was a Thursday */
    return em_buf_printf(b, "%.3s, %02u %.3s %04" PRId64 " %02d:%02d:%02d GMT",
                         em__http_day_abbr(w), d, em__http_month_abbr(m - 1), y, (int)(secs / 3600),
                         (int)(secs / 60 % 60), (int)(secs % 60));
}

int em_set_cookie_format(const em_set_cookie *c, em_buf *out) {
    const char *ss = NULL;
    if (c->same_site) {
        static const char *const names[] = {"Strict", "Lax", "None"};
        for (int i = 0; i < 3; i++)
            if (em_slice_eq_nocase(em_slice_from_cstr(c->same_site), em_slice_from_cstr(names[i])))
                ss = names[i];
        if (!ss || (ss == names[2] && !c->secure))
            return EM_EINVAL;
    }
    if (!is_token(c->name) || !valid_value(c->value) || c->max_age < -1 ||
        (c->expires && (c->expires < YEAR_1601 || c->expires > YEAR_9999_END)) ||
        (c->domain.len && !valid_domain(c->domain)) || !valid_path(c->path))
        return EM_EINVAL;
    if (prefixed(c->name, "__Secure-") && !c->secure)
        return EM_EINVAL;
    if (prefixed(c->name, "__Host-") &&
        (!c->secure || c->domain.len || !em_slice_eq(c->path, EM_SLICE_LIT("/"))))
        return EM_EINVAL;
    /* Built aside and appended at once: on any error out is unchanged. */
    em_buf b;
    em_buf_init(&b, 0);
    int rc = em_buf_append_slice(&b, c->name);
    if (!rc)
        rc = em_buf_append(&b, "=", 1);
    if (!rc)
        rc = em_buf_append_slice(&b, c->value);
    if (!rc && c->expires) {
        rc = em_buf_append(&b, "; Expires=", 10);
        if (!rc)
            rc = append_date(&b, c->expires);
    }
    if (!rc && c->max_age >= 0)
        rc = em_buf_printf(&b, "; Max-Age=%" PRId64, c->max_age);
    if (!rc && c->domain.len)
        rc = em_buf_printf(&b, "; Domain=%.*s", (int)c->domain.len, c->domain.ptr);
    if (!rc && c->path.len)
        rc = em_buf_printf(&b, "; Path=%.*s", (int)c->path.len, c->path.ptr);
    if (!rc && c->secure)
        rc = em_buf_append(&b, "; Secure", 8);
    if (!rc && c->http_only)
        rc = em_buf_append(&b, "; HttpOnly", 10);
    if (!rc && ss)
        rc = em_buf_printf(&b, "; SameSite=%s", ss);
    if (!rc)
        rc = em_buf_append(out, em_buf_data(&b), em_buf_len(&b));
    em_buf_free(&b);
    return rc;
}
