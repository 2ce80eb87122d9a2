/* Byte slices: borrowed (ptr, len) views, never NUL-terminated. */
#include <string.h>

#include "ember/io.h"

/* Slices may carry a NULL ptr when empty: never hand those to mem* (their
 * arguments are declared nonnull) and never do arithmetic on them. */

EM_API em_slice em_slice_from_cstr(const char *s) {
    return s ? em_slice_make(s, strlen(s)) : em_slice_make("", 0);
}

EM_API bool em_slice_eq(em_slice a, em_slice b) {
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline unsigned char lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

EM_API bool em_slice_eq_nocase(em_slice a, em_slice b) {
    if (a.len != b.len)
        return false;
    for (size_t i = 0; i < a.len; i++) {
        if (lower((unsigned char)a.ptr[i]) != lower((unsigned char)b.ptr[i]))
            return false;
    }
    return true;
}

EM_API bool em_slice_starts_with(em_slice s, em_slice prefix) {
    return s.len >= prefix.len && (prefix.len == 0 || memcmp(s.ptr, prefix.ptr, prefix.len) == 0);
}

EM_API ssize_t em_slice_find_byte(em_slice s, char c) {
    if (s.len == 0)
        return -1;
    const char *p = memchr(s.ptr, c, s.len);
    return p ? (ssize_t)(p - s.ptr) : -1;
}

EM_API ssize_t em_slice_find(em_slice s, em_slice needle) {
    if (needle.len == 0)
        return 0;
    if (s.len < needle.len)
        return -1;
    const char *p = memmem(s.ptr, s.len, needle.ptr, needle.len);
    return p ? (ssize_t)(p - s.ptr) : -1;
}

EM_API em_slice em_slice_trim(em_slice s) {
    size_t b = 0, e = s.len;
    while (b < e && (s.ptr[b] == ' ' || s.ptr[b] == '\t'))
        b++;
    while (e > b && (s.ptr[e - 1] == ' ' || s.ptr[e - 1] == '\t'))
        e--;
    return b == 0 ? em_slice_make(s.ptr, e) : em_slice_make(s.ptr + b, e - b);
}

EM_API em_slice em_slice_sub(em_slice s, size_t off, size_t n) {
    if (off >= s.len)
        return em_slice_make(s.len ? s.ptr + s.len : s.ptr, 0);
    if (n > s.len - off)
        n = s.len - off;
    return em_slice_make(s.ptr + off, n);
}

EM_API int em_slice_to_u64(em_slice s, uint64_t *out) {
    if (s.len == 0)
        return EM_EINVAL;
    uint64_t v = 0;
    bool overflow = false;
    /* Validate every byte before reporting overflow, so "99…9x" is EINVAL. */
    for (size_t i = 0; i < s.len; i++) {
        unsigned d = (unsigned char)s.ptr[i] - (unsigned)'0';
        if (d > 9)
            return EM_EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            v = v * 10 + d;
    }
    if (overflow)
        return EM_ERANGE;
    *out = v;
    return 0;
}
