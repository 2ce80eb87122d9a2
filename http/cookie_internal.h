/* Shared by http/cookie_*.c: the parsed Set-Cookie, the jar's layout, and
 * the date arithmetic. */
#ifndef EMBER_HTTP_COOKIE_INTERNAL_H
#define EMBER_HTTP_COOKIE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember/http/cookie.h"

/* A Set-Cookie string after RFC 6265 §5.2 (slices into the input). */
typedef struct em__cookie_sc {
    em_slice name, value;
    bool has_expires, has_max_age, has_domain, has_path;
    int64_t expires; /* Unix seconds */
    int64_t max_age; /* seconds, <= 0: expired at once */
    em_slice domain; /* leading '.' removed, case as written */
    em_slice path;   /* empty: the default path */
    bool secure, http_only;
    int same_site; /* 0 none/default, 1 Strict, 2 Lax, 3 None */
} em__cookie_sc;

/* Parse a Set-Cookie value. Returns 0 or EM_EINVAL (ignore the cookie). */
int em__cookie_parse_set(em_slice s, em__cookie_sc *out);

/* Days since 1970-01-01 of the proleptic Gregorian date y-m-d, and back. */
int64_t em__cookie_days_from_civil(int64_t y, unsigned m, unsigned d);
void em__cookie_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* One stored cookie (§5.3's fields). Strings are NUL-terminated and live
 * in the same allocation as the struct. */
typedef struct em__cookie {
    char *name, *value, *domain, *path;
    size_t name_len, value_len, domain_len, path_len;
    int64_t expiry; /* INT64_MAX for a session cookie */
    bool persistent, host_only, secure, http_only;
    bool dir_path; /* cookies.txt writes path + "/": curl's default path */
    int64_t creation, last_access;
    uint64_t creation_seq, access_seq; /* ties of the times, in order */
} em__cookie;

struct em_cookie_jar {
    pthread_mutex_t mu;
    em__cookie **v;
    size_t n, cap;
    uint64_t seq;
    unsigned max_cookies, max_per_domain;
    size_t max_bytes;
    bool no_psl;
    void *psl; /* const psl_ctx_t *, NULL without a list */
};

/* What cookie_file.c inserts: the jar's lock held, after §5.3's
 * replacement rule (the new cookie keeps an old namesake's creation time)
 * and the limits. Returns 0 or EM_ENOMEM. */
int em__cookie_jar_insert_locked(em_cookie_jar *jar, const em__cookie *c, int64_t now);
/* Drop the expired cookies (lock held). */
void em__cookie_jar_purge_locked(em_cookie_jar *jar, int64_t now);

#endif
