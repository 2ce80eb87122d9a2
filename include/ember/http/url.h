/** @file
 * ember http: absolute URLs for the client (RFC 3986). A strict parser for
 * http, https, ws and wss URLs, the reference resolver for Location
 * headers (§5.2), and the writers for request targets, Host values and
 * whole URLs. Included by "ember/http.h".
 *
 * What the parser accepts, and what it changes:
 *   - scheme: "http", "https", "ws" or "wss" in any case, stored lowercased.
 *     An authority ("//host") is required: "http:foo" and "http:/foo" fail.
 *   - userinfo: RFC 3986 userinfo characters (unreserved, sub-delims, ':')
 *     and valid %XX escapes, kept as written. One '@' only: "http://a@b@c/"
 *     fails (write a '@' in a password as %40).
 *   - host: a reg-name of ASCII letters, digits, '-', '.', '_' and '~',
 *     stored lowercased; a canonical dotted quad ("192.0.2.1"); or an IPv6
 *     literal in brackets, stored without them in inet_ntop()'s canonical
 *     form ("[0:0::1]" -> "::1"). Refused: an empty host or label ("a..b",
 *     ".a"; one trailing '.' is fine), %-escapes and bytes >= 0x80 in a host
 *     (no IDNA here), sub-delims in a host, IPv6 zone ids ("%25eth0"),
 *     IPvFuture ("[v1.x]"), and any host whose last label looks numeric
 *     ("1.2.3", "0x7f.1", "010.0.0.1", "2130706433", "1.2.3.4.", "a.123")
 *     but is not a canonical dotted quad: resolvers and browsers read those
 *     forms differently, a classic SSRF trick.
 *   - port: decimal 1..65535, leading zeros allowed; "host:" (empty) means
 *     the scheme's default (80 for http/ws, 443 for https/wss).
 *   - path and query: space, '"', '<', '>', '\\', '^', '`', '{', '|', '}'
 *     and bytes >= 0x80 are percent-encoded for you (a backslash is data,
 *     %5C, never a separator); every other byte, and every %XX escape, is
 *     kept byte for byte (escapes keep their case; %2F stays encoded). The
 *     path loses its dot-segments (§5.2.4), also written "%2e"/"%2E"
 *     (§6.2.2.3), and is "/" when empty.
 *   - a fragment ('#' and what follows) is dropped.
 *   - always refused: control bytes (0x00-0x1F, 0x7F) anywhere, even in the
 *     fragment (header injection); a '%' not followed by two hex digits
 *     outside the fragment; input longer than EM_URL_MAX_LEN bytes, or a
 *     URL whose normalised form (em_url_format() with userinfo) would be.
 *
 * Thread-safety: every function here is pure and reentrant. A parsed
 * em_url is immutable: any number of threads may read it at once, and one
 * of them frees it when all are done. */
#ifndef EMBER_HTTP_URL_H
#define EMBER_HTTP_URL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ember/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Longest URL accepted, in bytes: the input to em_url_parse(), the ref of
 * em_url_resolve(), and the normalised result of either (percent-encoding
 * can triple a byte). Longer ones fail with EM_EINVAL. */
#define EM_URL_MAX_LEN 8192

/** A parsed absolute URL. Every string is NUL-terminated and lives in _buf,
 * one allocation the em_url owns: the strings are valid until
 * em_url_free(). Copying the struct copies pointers, not strings; free one
 * copy only. */
typedef struct em_url {
    const char *scheme;   /**< lowercased: "http", "https", "ws" or "wss" */
    const char *userinfo; /**< as given (still percent-encoded), NULL when absent
                             ("" for "http://@host/") */
    const char *host;     /**< lowercased reg-name, or an IP literal without brackets */
    bool host_is_ip;      /**< an IPv4 or IPv6 literal */
    bool host_is_ipv6;    /**< an IPv6 literal (written in brackets) */
    uint16_t port;        /**< explicit, or the scheme's default (80/443) */
    bool port_explicit;   /**< a port was written (even the default one) */
    const char *path;     /**< percent-encoded, never empty ("/" at least), no
                             dot-segments (RFC 3986 §5.2.4) */
    const char *query;    /**< without '?', NULL when absent ("" for a bare "?") */
    char *_buf;           /**< one allocation holding every string above */
} em_url;

/** Parse the absolute URL s (not NUL-terminated; see the rules at the top).
 * Returns 0 and fills *out, which the caller then releases with
 * em_url_free(); or EM_EINVAL (malformed, unsupported scheme, too long) or
 * EM_ENOMEM, leaving *out zeroed (em_url_free() on it is harmless). */
EM_API EM_NODISCARD int em_url_parse(em_url *out, em_slice s);

/** Resolve ref against base (RFC 3986 §5.2.2, the strict algorithm, with
 * §5.2.3 merge and §5.2.4 remove_dot_segments): what a client does with a
 * Location header. ref may be absolute ("https://x/"), scheme-relative
 * ("//x/y"), path-absolute ("/y"), relative ("y", "../y", "?q") or empty;
 * its fragment is dropped. The target must pass em_url_parse()'s rules:
 * "ftp://x/" or "mailto:a" fail with EM_EINVAL, and so does "http:g" (the
 * strict algorithm keeps it as a URL without authority). Without an
 * authority in ref the target keeps base's userinfo; drop credentials
 * across origins yourself (em_url_same_origin()).
 * Returns 0 and fills *out (free it with em_url_free()), or EM_EINVAL or
 * EM_ENOMEM. out may be base itself: on success base's old storage is freed,
 * on failure base is left as it was. Otherwise *out is zeroed on failure. */
EM_API EM_NODISCARD int em_url_resolve(em_url *out, const em_url *base, em_slice ref);

/** Release u's storage and set every field to NULL/false/0. NULL, a zeroed
 * em_url and one already freed are fine. */
EM_API void em_url_free(em_url *u);

/** Whether u's scheme runs over TLS: "https" or "wss". */
EM_API bool em_url_is_tls(const em_url *u);

/** The scheme's default port: 80 for "http"/"ws", 443 for "https"/"wss", 0
 * for anything else. */
EM_API uint16_t em_url_default_port(const char *scheme);

/** Write the origin-form request target "path" or "path?query" into
 * buf[cap], NUL-terminated. Returns its length (without the NUL), EM_ENOSPC
 * when cap is too small (buf then holds nothing useful), EM_EINVAL for a
 * NULL or unparsed u. */
EM_API ssize_t em_url_target(const em_url *u, char *buf, size_t cap);

/** Write the Host header value into buf[cap], NUL-terminated: the host (an
 * IPv6 literal in brackets) plus ":port" only when port is not the scheme's
 * default. Returns the length, EM_ENOSPC or EM_EINVAL as em_url_target(). */
EM_API ssize_t em_url_host_header(const em_url *u, char *buf, size_t cap);

/** Write the whole URL into buf[cap], NUL-terminated:
 * scheme "://" [userinfo "@"] host [":" port] path ["?" query]. The
 * userinfo only when with_userinfo (keep it out of logs and Referer); the
 * port when it was explicit. em_url_parse() of the result gives back an
 * identical em_url. Returns the length, EM_ENOSPC or EM_EINVAL as
 * em_url_target(); EM_URL_MAX_LEN + 1 bytes always suffice. */
EM_API ssize_t em_url_format(const em_url *u, bool with_userinfo, char *buf, size_t cap);

/** Whether a and b have the same origin: scheme, host and port (explicit or
 * default: "http://h/" and "http://h:80/" match). A client forwards
 * credentials (userinfo, Authorization, cookies it was told to) on a
 * redirect only when this holds. False when either is NULL or unparsed. */
EM_API bool em_url_same_origin(const em_url *a, const em_url *b);

#ifdef __cplusplus
}
#endif
#endif
