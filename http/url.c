/* Percent-decoding (RFC 3986 §2.1), query-string lookup, and the
 * dot-segment test the server applies to request paths before any handler
 * sees them (§3.3). All work on the raw slices the parser hands out,
 * without allocating. */
#include "ember/http.h"
#include "http_internal.h"

#include <string.h>

static int hex_value(unsigned char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* 'A'-'F' -> 'a'-'f' */
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* The byte the escape "%XY" at p[i] stands for, or -1 when p[i..len) does
 * not start with '%' and two hex digits. */
static int escape_at(const char *p, size_t len, size_t i) {
    if (p[i] != '%' || len - i < 3)
        return -1;
    int hi = hex_value((unsigned char)p[i + 1]), lo = hex_value((unsigned char)p[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi << 4 | lo;
}

bool em__http_pct_valid(em_slice s) {
    for (size_t i = 0; i < s.len; i++)
        if (s.ptr[i] == '%' && escape_at(s.ptr, s.len, i) < 0)
            return false;
    return true;
}

EM_API ssize_t em_http_percent_decode(em_slice in, char *out, size_t cap, unsigned flags) {
    size_t n = 0;
    for (size_t i = 0; i < in.len; i++, n++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c == '%') {
            int e = escape_at(in.ptr, in.len, i);
            if (e < 0)
                return EM_EINVAL; /* "%", "%4", "%zz": not an escape */
            c = (unsigned char)e;
            /* In one segment an encoded '/' would let a capture smuggle a
             * path separator past the router; NUL ends C strings early. */
            if ((flags & EM_HTTP_DECODE_SEGMENT) && (c == '/' || c == 0))
                return EM_EINVAL;
            i += 2;
        } else if (c == '+' && (flags & EM_HTTP_DECODE_FORM)) {
            c = ' ';
        }
        if (n >= cap)
            return EM_ENOBUFS;
        out[n] = (char)c; /* n <= i: decoding in place never overtakes */
    }
    return (ssize_t)n;
}

/* Whether seg (no '/') decodes to "." or "..": dots written as '.' or as
 * "%2e"/"%2E" in any mix. */
static bool is_dot_segment(const char *p, size_t len) {
    size_t dots = 0;
    for (size_t i = 0; i < len; i++, dots++) {
        if (p[i] == '.')
            continue;
        if (escape_at(p, len, i) == '.') {
            i += 2;
            continue;
        }
        return false;
    }
    return dots == 1 || dots == 2;
}

EM_API bool em_http_path_has_dot_segment(em_slice path) {
    size_t start = 0;
    for (size_t i = 0; i <= path.len; i++) {
        if (i == path.len || path.ptr[i] == '/') {
            if (i > start && is_dot_segment(path.ptr + start, i - start))
                return true;
            start = i + 1;
        }
    }
    return false;
}

/* Whether the form-encoded key k decodes to exactly name. A key with a
 * malformed escape matches nothing. */
static bool key_equals(const char *k, size_t klen, em_slice name) {
    size_t n = 0;
    for (size_t i = 0; i < klen; i++, n++) {
        unsigned char c = (unsigned char)k[i];
        if (c == '%') {
            int e = escape_at(k, klen, i);
            if (e < 0)
                return false;
            c = (unsigned char)e;
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (n >= name.len || (unsigned char)name.ptr[n] != c)
            return false;
    }
    return n == name.len;
}

EM_API bool em_http_query_get(em_slice query, em_slice name, em_slice *value) {
    size_t start = 0;
    for (size_t i = 0; i <= query.len; i++) {
        if (i < query.len && query.ptr[i] != '&')
            continue;
        const char *pair = query.ptr + start;
        size_t len = i - start;
        start = i + 1;
        if (!len)
            continue; /* "&&" and a trailing '&' make empty pairs: no names */
        const char *eq = memchr(pair, '=', len);
        size_t klen = eq ? (size_t)(eq - pair) : len;
        if (key_equals(pair, klen, name)) {
            *value = eq ? em_slice_make(eq + 1, len - klen - 1) : em_slice_make(pair + len, 0);
            return true;
        }
    }
    return false;
}
