/** @file
 * ember http: cookies. A client cookie jar (RFC 6265 §5 with RFC 6265bis's
 * additions), Netscape cookies.txt files as curl and wget use them, and
 * two helpers for servers (read a Cookie header, write a Set-Cookie value).
 * Included by "ember/http.h".
 *
 * The jar follows the user-agent algorithms of RFC 6265 §5:
 *   - Set-Cookie parsing (§5.2): name/value split at the first '=' of the
 *     part before the first ';', space/tab trimmed, attributes matched
 *     case-insensitively with the last one winning; Expires read with
 *     §5.1.1's date algorithm (em_cookie_date_parse); Max-Age wins over
 *     Expires; a leading '.' of Domain is dropped; a Path that is empty or
 *     does not start with '/' means the default path (§5.1.4). Refused
 *     outright: no '=' or an empty name, control bytes (6265bis: never a
 *     CR or LF in a stored cookie), a tab inside the name, value or path
 *     (as curl: it would break cookies.txt), a name and value longer than
 *     max_cookie_bytes together (6265bis §5.6; an attribute value over
 *     1024 bytes is ignored, not the cookie).
 *   - storage (§5.3): domain-match (§5.1.3), the host-only flag, a Domain
 *     that is a public suffix (libpsl, ICANN and private sections:
 *     "co.uk", "github.io") refused unless it equals the request host (the
 *     cookie is then host-only); a Domain on an IP host must be that
 *     address and gives a host-only cookie (as curl and browsers); replacing a cookie (same name, domain and
 *     path) keeps its creation time; an already expired cookie deletes its
 *     namesake. Expiry is capped at 400 days from now (6265bis §5.5).
 *   - 6265bis: a Secure cookie, or one named "__Secure-..." or "__Host-..."
 *     (prefixes matched case-insensitively), only from a secure origin;
 *     "__Secure-" needs Secure, "__Host-" needs Secure, no Domain and
 *     Path=/; a non-Secure cookie from an insecure origin may not shadow a
 *     Secure one of the same name (§5.7 "leave secure cookies alone").
 *   - secure origins: https and wss URLs, and also (as 6265bis allows and
 *     curl does) http to "localhost", "*.localhost", 127.0.0.0/8 and ::1.
 *     Those get and set Secure cookies.
 *   - the Cookie header (§5.4): matching domain and path, Secure ones only
 *     to secure origins, HttpOnly ones included (this is not a browser),
 *     longer paths first, then earlier creation.
 *   - SameSite is parsed but neither stored nor enforced: a client has no
 *     "site for cookies", and cookies.txt has no field for it.
 *   - a cookie expires when now >= its expiry time.
 *   - limits: max_cookies in all and max_per_domain per Domain value; past
 *     either, expired cookies go first, then the least recently used
 *     (last access: stored or sent) of that domain (its non-Secure ones
 *     before its Secure ones, 6265bis §5.7) or of the whole jar.
 *
 * Times are Unix seconds passed in by the caller (a fake clock in tests).
 * Thread-safety: a jar has an internal mutex; every em_cookie_jar_* call
 * may come from any thread. The server helpers are pure and reentrant. */
#ifndef EMBER_HTTP_COOKIE_H
#define EMBER_HTTP_COOKIE_H

#include <stdbool.h>
#include <stdint.h>

#include "ember/http/url.h"
#include "ember/io.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the client jar ---------------------------------------------------- */

/** A client cookie jar (opaque; em_cookie_jar_new()). Thread-safe. */
typedef struct em_cookie_jar em_cookie_jar;

/** Limits of a jar; zero fields take the defaults given. Copied by
 * em_cookie_jar_new(). */
typedef struct em_cookie_jar_opts {
    unsigned max_cookies;        /**< 0: 3000 in all */
    unsigned max_per_domain;     /**< 0: 50 per Domain value */
    size_t max_cookie_bytes;     /**< 0: 4096 (the name and value together, as
                                    6265bis §5.6; attributes are capped at 1024
                                    bytes each and do not count) */
    bool no_public_suffix_check; /**< tests only: accept Domain=co.uk */
} em_cookie_jar_opts;

/** A new empty jar; opts may be NULL (every default). The public suffix list
 * is libpsl's newest (psl_latest: Debian's publicsuffix package, or the
 * list built into libpsl). Returns 0 and *out (free it with
 * em_cookie_jar_free), or EM_ENOMEM. Without any suffix list the jar stores
 * only host-only cookies (a Domain other than the host is refused). */
EM_API EM_NODISCARD int em_cookie_jar_new(em_cookie_jar **out, const em_cookie_jar_opts *opts);
/** Free the jar and every cookie in it. NULL is fine. No other thread may
 * be using it. */
EM_API void em_cookie_jar_free(em_cookie_jar *jar);

/** Take one Set-Cookie field value received in the response to a request
 * for url, at now. Returns 0 (stored, replaced, or deleted when already
 * expired) or EM_EINVAL (ignored: malformed, too big, a public-suffix or
 * foreign Domain, Secure or a __Secure-/__Host- cookie from an insecure
 * origin, a non-Secure cookie shadowing a Secure one from an insecure
 * origin), EM_ENOMEM. set_cookie is copied. */
EM_API int em_cookie_jar_set(em_cookie_jar *jar, const em_url *url, em_slice set_cookie,
                             int64_t now);

/** Append the Cookie header value for a request to url at now ("a=1; b=2",
 * no CR/LF ever) to out. Returns the number of cookies written (0: nothing
 * appended), or EM_ENOBUFS/EM_ENOMEM from out (then out may hold part of
 * the value: drop it). Updates the last-access time of those sent. */
EM_API int em_cookie_jar_header(em_cookie_jar *jar, const em_url *url, int64_t now, em_buf *out);

/** Cookies stored (expired ones are dropped when the jar is next touched). */
EM_API size_t em_cookie_jar_count(em_cookie_jar *jar);
/** Drop every cookie. */
EM_API void em_cookie_jar_clear(em_cookie_jar *jar);

/* ---- cookies.txt -------------------------------------------------------- */

/** Netscape cookies.txt, as curl (-b/-c) and wget (--load-cookies,
 * --save-cookies) read and write it: one cookie per line, seven fields
 * separated by tabs: domain (".example.com" with TRUE for a Domain
 * cookie, "example.com" with FALSE for a host-only one), include
 * subdomains, path, secure (TRUE/FALSE), expiry (Unix seconds, 0 for a
 * session cookie), name, value. A "#HttpOnly_" prefix marks an HttpOnly
 * cookie; other lines starting with '#', and empty lines, are comments.
 * As curl does, a default path (§5.1.4: "/dir" for a cookie set by
 * /dir/page) is written with its trailing '/' ("/dir/"), and a path
 * read with a trailing '/' matches as if without it.
 *
 * em_cookie_jar_load adds the cookies of the file at path to the jar
 * (malformed and expired lines are skipped; a later line does not replace
 * an earlier one with the same name, domain and path: files list the
 * newest first, as curl writes them). A file is trusted: no public-suffix
 * or Secure-origin rule applies to it, only the jar's limits. Returns 0, or
 * EM_ELIMIT for a file over 64 MiB, or an em_err from the
 * file system (-errno), EM_ENOMEM. em_cookie_jar_save writes every
 * unexpired cookie, session ones too, to path (replaced atomically: a
 * temporary file renamed over it; "-" is stdout) in curl's layout: its
 * three comment lines, a blank line, then the cookies newest first.
 * Returns 0 or an em_err. */
EM_API int em_cookie_jar_load(em_cookie_jar *jar, const char *path, int64_t now);
/** Write the jar to path as cookies.txt (see em_cookie_jar_load() above).
 * Returns 0 or an em_err. */
EM_API int em_cookie_jar_save(em_cookie_jar *jar, const char *path, int64_t now);
/** The same in memory: read cookies.txt text, or append it to out. */
EM_API int em_cookie_jar_read(em_cookie_jar *jar, em_slice text, int64_t now);
/** Append the jar as cookies.txt text to out. Returns 0 or an em_err
 * (EM_ENOBUFS, EM_ENOMEM). */
EM_API int em_cookie_jar_write(em_cookie_jar *jar, int64_t now, em_buf *out);

/* ---- dates -------------------------------------------------------------- */

/** Parse a cookie date with RFC 6265 §5.1.1's algorithm (any of the forms
 * it accepts: "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94
 * 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", ...; two-digit years 70-99
 * are 19xx, 0-69 20xx; years before 1601, impossible days and times
 * refused). Returns 0 and *out in Unix seconds, or EM_EINVAL. */
EM_API EM_NODISCARD int em_cookie_date_parse(em_slice s, int64_t *out);

/* ---- server helpers ------------------------------------------------------ */

/** One cookie of a request's Cookie header. */
typedef struct em_cookie {
    /** the name, a slice of the header */
    em_slice name, value; /**< the value, without surrounding quotes */
} em_cookie;

/** Split a Cookie header value ("a=1; b=2") into name/value slices into
 * header (zero-copy; valid as long as header's bytes). Space and tab around
 * pairs are skipped; a value in double quotes is returned without them.
 * A malformed pair (no '=', a name that is not a token, a control byte or
 * a stray '"' in the value) is skipped. Fills at most max entries of out
 * and returns how many it filled. */
EM_API size_t em_cookie_parse_header(em_slice header, em_cookie *out, size_t max);

/** What em_set_cookie_format writes. Zero-fill it, then set max_age = -1
 * (none); expires 0 means none (delete a cookie with max_age = 0). */
typedef struct em_set_cookie {
    /** the cookie's name */
    em_slice name, value; /**< name: a token; value: cookie-octets (RFC 6265
                             §4.1.1), optionally in double quotes */
    int64_t expires;      /**< Unix seconds written as an IMF-fixdate; 0: none */
    int64_t max_age;      /**< seconds; -1: none */
    /** the Domain attribute (empty: none) */
    em_slice domain, path; /**< empty: none */
    /** the Secure attribute */
    bool secure, http_only; /**< the HttpOnly attribute */
    const char *same_site;  /**< NULL, "Strict", "Lax" or "None" (needs secure) */
} em_set_cookie;

/** Append the Set-Cookie field value for c to out ("n=v; Expires=...;
 * Max-Age=...; Domain=...; Path=...; Secure; HttpOnly; SameSite=..." in
 * that order, the absent ones left out). Returns 0, or EM_EINVAL for an
 * invalid field (any CR, LF, ';' or control byte, a name that is not a
 * token, a value outside cookie-octets, an expiry outside years
 * 1601..9999, max_age < -1, SameSite=None without Secure, a
 * "__Secure-"/"__Host-" name without what its prefix needs), or
 * EM_ENOBUFS/EM_ENOMEM; on any error out is unchanged. */
EM_API EM_NODISCARD int em_set_cookie_format(const em_set_cookie *c, em_buf *out);

#ifdef __cplusplus
}
#endif
#endif
