/* Shared by the URL files of http/ (url_parse.c, url_encode.c,
 * url_resolve.c, url_format.c), which call each other in one direction:
 * resolve -> parse -> encode, and resolve/format -> parse. */
#ifndef EM_HTTP_URL_INTERNAL_H
#define EM_HTTP_URL_INTERNAL_H

#include "ember/http/url.h"

/* A URI reference split as RFC 3986 Appendix B's regular expression does,
 * the fragment dropped. Slices point into the split input. */
typedef struct em__url_parts {
    em_slice scheme, authority, path, query;
    bool has_scheme, has_authority, has_query;
} em__url_parts;

/* url_parse.c: split s into *p. EM_EINVAL when s is longer than
 * EM_URL_MAX_LEN, holds a control byte, or has a scheme that is not
 * RFC 3986 scheme syntax. Nothing is allocated. */
int em__url_split(em_slice s, em__url_parts *p);

/* url_parse.c: validate and normalise p into *out (one allocation), which
 * is zeroed on failure. p needs a scheme and an authority. */
int em__url_build(em_url *out, const em__url_parts *p);
/* em_url_parse that may use *spare (a buffer of *spare_cap bytes the
 * caller gives up) for out's strings instead of allocating: when it does,
 * *spare becomes NULL (out owns it now, em_url_free frees it). *cap gets
 * the size of out's buffer, so the caller can take it back as its spare
 * later. */
int em__url_parse_spare(em_url *out, em_slice s, char **spare, size_t spare_cap, size_t *cap);

/* url_encode.c: copy a path or query into out (room for 3 * in.len bytes),
 * percent-encoding what RFC 3986 does not allow there (space, '"', '<',
 * '>', '\\', '^', '`', '{', '|', '}', bytes >= 0x80; the caller refused the
 * controls). Returns the length written, or EM_EINVAL for a '%' not followed
 * by two hex digits. */
ssize_t em__url_encode(char *out, em_slice in);

/* url_encode.c: RFC 3986 §5.2.4 remove_dot_segments in place on an absolute
 * path p[len] (p[0] == '/'), dots also written %2e/%2E (§6.2.2.3). Returns
 * the new length, at least 1 ("/"). */
size_t em__url_remove_dots(char *p, size_t len);

/* url_format.c: write [userinfo "@"] host [":" port] for u into buf[cap]
 * (NUL-terminated), as em_url_format() does. Returns the length or
 * EM_ENOSPC. */
ssize_t em__url_put_authority(const em_url *u, bool with_userinfo, char *buf, size_t cap);

#endif
