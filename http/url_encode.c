/* The normalisation em_url applies to paths and queries: percent-encoding
 * the bytes RFC 3986 does not allow there (as curl and browsers do) and
 * removing dot-segments (§5.2.4). Both are idempotent, so a formatted
 * em_url parses back to itself. */
#include "url_internal.h"

#include <string.h>

static bool is_hex(unsigned char c) {
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Bytes a client must escape before sending: outside RFC 3986's pchar,
 * '/' and '?' but printable. '[' and ']' are left alone, as curl and Go do. */
static bool needs_escape(unsigned char c) {
    return c >= 0x80 || c == ' ' || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^' ||
           c == '`' || c == '{' || c == '|' || c == '}';
}

ssize_t em__url_encode(char *out, em_slice in) {
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (size_t i = 0; i < in.len; i++) {
        unsigned char c = (unsigned char)in.ptr[i];
        if (c == '%' && (in.len - i < 3 || !is_hex((unsigned char)in.ptr[i + 1]) ||
                         !is_hex((unsigned char)in.ptr[i + 2])))
            return EM_EINVAL; /* "%zz" would reach the server as "%zz" or "%25zz": refuse */
        if (needs_escape(c)) {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        } else {
            out[o++] = (char)c;
        }
    }
    return (ssize_t)o;
}

/* 1 for ".", 2 for "..", 0 otherwise; a dot may be written "%2e"/"%2E"
 * (WHATWG does the same: "/%2e%2E/" climbs like "/../"). */
static int dots(const char *s, size_t n) {
    int d = 0;
    size_t i = 0;
    while (i < n && d < 3) {
        if (s[i] == '.')
            i++;
        else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' && (s[i + 2] | 0x20) == 'e')
            i += 3;
        else
            return 0;
        d++;
    }
    return i == n && d <= 2 ? d : 0;
}

/* Segment by segment, which gives the same result as the RFC's buffer
 * rules A-E for absolute paths. The output never overtakes the input. */
size_t em__url_remove_dots(char *p, size_t len) {
    size_t o = 0, i = 0;
    while (i < len) {
        size_t start = ++i; /* past the '/' */
        while (i < len && p[i] != '/')
            i++;
        size_t n = i - start;
        bool last = i == len;
        int d = dots(p + start, n);
        if (d == 2) { /* drop the last output segment with its '/' */
            while (o > 0 && p[o - 1] != '/')
                o--;
            if (o > 0)
                o--;
        }
        if (d) {
            if (last)
                p[o++] = '/'; /* "/a/.." is "/", "/a/b/." is "/a/b/" */
            continue;
        }
        p[o++] = '/';
        memmove(p + o, p + start, n);
        o += n;
    }
    if (o == 0)
        p[o++] = '/';
    return o;
}
