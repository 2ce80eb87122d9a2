/* Fuzz the cookie jar (http/cookie_*.c): the input is a script of lines,
 * each an operation on one jar (small limits, so eviction runs):
 *   U<url>     the request URL (kept when it does not parse)
 *   u<digit>   one of a few fixed URLs (http, https, IPs, localhost, a
 *              public suffix host)
 *   S<value>   em_cookie_jar_set(url, value, now)
 *   G          em_cookie_jar_header(url, now)
 *   T<digits>  advance the clock by up to 10^7 s
 *   F          cookies.txt round trip
 *   P<value>   the server helpers: em_cookie_parse_header on value, and
 *              em_set_cookie_format of what it found
 *   D<value>   em_cookie_date_parse
 *   C          clear
 * Invariants (abort on failure): a Cookie header never holds CR, LF or NUL
 * and has as many "; "-separated pairs as the count returned; the jar never
 * holds more than max_cookies, nor more than max_per_domain cookies of one
 * domain (counted in its cookies.txt); em_cookie_jar_write's text read
 * into a fresh jar writes back the same text; a formatted Set-Cookie has
 * no CR/LF/NUL and the jar accepts it for an https URL of its domain; a
 * parsed date is in years 1601..9999. No leaks (ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/http.h"
#include "fuzz.h"

#define MAX_COOKIES    12
#define MAX_PER_DOMAIN 4

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "cookie: %s\n", what);
        abort();
    }
}

static const char *const fixed_urls[] = {
    "http://www.example.com/a/b", "https://www.example.com/a/",
    "http://example.com/",        "https://sub.www.example.com/a/b/c?q",
    "http://192.0.2.1/x",         "http://[::1]:8080/",
    "http://localhost/p",         "https://foo.co.uk/",
    "https://user.github.io/",    "ws://www.example.com/a/b",
};

static void check_header(em_slice h, int n) {
    check(n >= 0, "header failed");
    int pairs = h.len ? 1 : 0;
    for (size_t i = 0; i < h.len; i++) {
        check(h.ptr[i] != '\r' && h.ptr[i] != '\n' && h.ptr[i] != 0, "CR/LF/NUL in header");
        if (h.ptr[i] == ';') {
            check(i + 1 < h.len && h.ptr[i + 1] == ' ', "';' without ' '");
            pairs++;
        }
    }
    check(pairs == n, "pair count differs from the count returned");
}

/* Counts per domain, from the cookies.txt text. */
static void check_limits(em_cookie_jar *jar, em_slice text) {
    check(em_cookie_jar_count(jar) <= MAX_COOKIES, "over max_cookies");
    char doms[MAX_COOKIES + 1][300];
    int counts[MAX_COOKIES + 1] = {0}, nd = 0, lines = 0;
    const char *p = text.ptr, *end = text.ptr + text.len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        check(nl != NULL, "unterminated line");
        if (nl - p >= 10 && !memcmp(p, "#HttpOnly_", 10))
            p += 10;
        if (p < nl && *p != '#') {
            const char *tab = memchr(p, '\t', (size_t)(nl - p));
            check(tab != NULL, "line without tab");
            const char *d = *p == '.' ? p + 1 : p;
            size_t dl = (size_t)(tab - d);
            check(dl < 300, "domain too long");
            int k = 0;
            while (k < nd && !(strlen(doms[k]) == dl && !memcmp(doms[k], d, dl)))
                k++;
            if (k == nd) {
                check(nd <= MAX_COOKIES, "more domains than cookies");
                memcpy(doms[nd], d, dl);
                doms[nd++][dl] = 0;
            }
            check(++counts[k] <= MAX_PER_DOMAIN, "over max_per_domain");
            lines++;
        }
        p = nl + 1;
    }
    check(lines == (int)em_cookie_jar_count(jar), "file and count differ");
}

/* The jars that only read files or formatted values skip loading the
 * public suffix list (psl_latest reads a file: the fuzzer's main cost). */
static em_cookie_jar *new_jar(bool psl) {
    em_cookie_jar_opts o = {.max_cookies = MAX_COOKIES,
                            .max_per_domain = MAX_PER_DOMAIN,
                            .no_public_suffix_check = !psl};
    em_cookie_jar *jar;
    check(em_cookie_jar_new(&jar, &o) == 0, "jar_new");
    return jar;
}

static void round_trip(em_cookie_jar *jar, int64_t now) {
    em_buf a, b;
    em_buf_init(&a, 0);
    em_buf_init(&b, 0);
    check(em_cookie_jar_write(jar, now, &a) == 0, "write");
    check_limits(jar, em_buf_slice(&a));
    em_cookie_jar *j2 = new_jar(false);
    check(em_cookie_jar_read(j2, em_buf_slice(&a), now) == 0, "read");
    check(em_cookie_jar_count(j2) == em_cookie_jar_count(jar), "count after read");
    check(em_cookie_jar_write(j2, now, &b) == 0, "write again");
    check(em_slice_eq(em_buf_slice(&a), em_buf_slice(&b)), "cookies.txt round trip differs");
    em_cookie_jar_free(j2);
    em_buf_free(&a);
    em_buf_free(&b);
}

static void server_helpers(em_slice v, int64_t now) {
    em_cookie c[8];
    size_t n = em_cookie_parse_header(v, c, 8);
    check(n <= 8, "parse_header over max");
    for (size_t i = 0; i < n; i++) {
        check(c[i].name.ptr >= v.ptr && c[i].name.ptr + c[i].name.len <= v.ptr + v.len,
              "name outside the header");
        check(c[i].name.len > 0, "empty name");
        em_set_cookie sc = {.name = c[i].name,
                            .value = c[i].value,
                            .max_age = (int64_t)i - 1,
                            .expires = (i & 1) ? now : 0,
                            .secure = i & 2,
                            .same_site = (i & 4) ? "None" : NULL,
                            .path = EM_SLICE_LIT("/"),
                            .domain = (i & 1) ? EM_SLICE_LIT("example.com") : em_slice_make("", 0)};
        em_buf b;
        em_buf_init(&b, 0);
        if (em_set_cookie_format(&sc, &b) == 0) {
            em_slice s = em_buf_slice(&b);
            for (size_t k = 0; k < s.len; k++)
                check(s.ptr[k] != '\r' && s.ptr[k] != '\n' && s.ptr[k] != 0, "CR/LF in Set-Cookie");
            em_cookie_jar *jar = new_jar(false);
            em_url u;
            check(em_url_parse(&u, EM_SLICE_LIT("https://www.example.com/")) == 0, "url");
            int rc = em_cookie_jar_set(jar, &u, s, now);
            /* Refused only when it is too long or the name/value has a tab
             * (cookie-octets have none), or a prefix rule's Path/Secure. */
            check(rc == 0 || s.len > 4096, "the jar refused a formatted Set-Cookie");
            em_url_free(&u);
            em_cookie_jar_free(jar);
        }
        em_buf_free(&b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    em_cookie_jar *jar = new_jar(true);
    em_url url;
    check(em_url_parse(&url, em_slice_from_cstr(fixed_urls[0])) == 0, "url");
    int64_t now = 1700000000;
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        char op = *p;
        em_slice arg = em_slice_make(p + 1, (size_t)(le - p - 1));
        switch (op) {
        case 'U': {
            em_url u;
            if (em_url_parse(&u, arg) == 0) {
                em_url_free(&url);
                url = u;
            }
            break;
        }
        case 'u':
            if (arg.len) {
                em_url_free(&url);
                check(em_url_parse(&url, em_slice_from_cstr(
                                             fixed_urls[(unsigned char)arg.ptr[0] % 10])) == 0,
                      "fixed url");
            }
            break;
        case 'S': {
            int rc = em_cookie_jar_set(jar, &url, arg, now);
            check(rc == 0 || rc == EM_EINVAL, "set: unexpected error");
            check(em_cookie_jar_count(jar) <= MAX_COOKIES, "over max_cookies");
            break;
        }
        case 'G': {
            em_buf b;
            em_buf_init(&b, 0);
            int n = em_cookie_jar_header(jar, &url, now, &b);
            check_header(em_buf_slice(&b), n);
            em_buf_free(&b);
            break;
        }
        case 'T': {
            int64_t d = 0;
            for (size_t i = 0; i < arg.len && i < 7; i++)
                if (arg.ptr[i] >= '0' && arg.ptr[i] <= '9')
                    d = d * 10 + (arg.ptr[i] - '0');
            now += d;
            break;
        }
        case 'F':
            round_trip(jar, now);
            break;
        case 'P':
            server_helpers(arg, now);
            break;
        case 'D': {
            int64_t t;
            if (em_cookie_date_parse(arg, &t) == 0)
                check(t >= -11644473600LL && t <= 253402300799LL, "date out of range");
            break;
        }
        case 'C':
            em_cookie_jar_clear(jar);
            break;
        default:
            break;
        }
        p = le + 1;
    }
    round_trip(jar, now);
    em_url_free(&url);
    em_cookie_jar_free(jar);
    return 0;
}
