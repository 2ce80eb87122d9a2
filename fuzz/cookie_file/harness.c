/* Fuzz the cookies.txt reader (http/cookie_file.c, em_cookie_jar_read):
 * the input is the file's text, read into a jar with small limits.
 * Invariants (abort on failure): reading never fails but for memory; the
 * jar keeps its limits; what it writes back reads into a fresh jar that
 * holds as many cookies and writes the same text; a Cookie header built
 * from the jar for a few URLs holds no CR, LF or NUL. No leaks (ASan). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ember/http.h"
#include "fuzz.h"

#define NOW 1700000000 /* a fixed clock: lines expiring before it are dropped */

static void check(bool ok, const char *what) {
    if (!ok) {
        fprintf(stderr, "cookie_file: %s\n", what);
        abort();
    }
}

static em_cookie_jar *new_jar(void) {
    /* A file is trusted (no public-suffix rule), so no list is loaded. */
    em_cookie_jar_opts o = {.max_cookies = 16, .max_per_domain = 8, .no_public_suffix_check = true};
    em_cookie_jar *jar;
    check(em_cookie_jar_new(&jar, &o) == 0, "jar_new");
    return jar;
}

static void check_headers(em_cookie_jar *jar) {
    static const char *const urls[] = {"http://example.com/", "https://www.example.com/a/b",
                                       "http://localhost/", "http://192.0.2.1/x"};
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        em_url u;
        check(em_url_parse(&u, em_slice_from_cstr(urls[i])) == 0, "url");
        em_buf h;
        em_buf_init(&h, 0);
        check(em_cookie_jar_header(jar, &u, NOW, &h) >= 0, "header");
        em_slice s = em_buf_slice(&h);
        for (size_t k = 0; k < s.len; k++)
            check(s.ptr[k] != '\r' && s.ptr[k] != '\n' && s.ptr[k] != 0, "CR/LF/NUL in header");
        em_buf_free(&h);
        em_url_free(&u);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    em_cookie_jar *jar = new_jar();
    check(em_cookie_jar_read(jar, em_slice_make((const char *)data, size), NOW) == 0, "read");
    check(em_cookie_jar_count(jar) <= 16, "over max_cookies");
    em_buf a, b;
    em_buf_init(&a, 0);
    em_buf_init(&b, 0);
    check(em_cookie_jar_write(jar, NOW, &a) == 0, "write");
    em_cookie_jar *j2 = new_jar();
    check(em_cookie_jar_read(j2, em_buf_slice(&a), NOW) == 0, "read back");
    check(em_cookie_jar_count(j2) == em_cookie_jar_count(jar), "count after read back");
    check(em_cookie_jar_write(j2, NOW, &b) == 0, "write again");
    check(em_slice_eq(em_buf_slice(&a), em_buf_slice(&b)), "round trip differs");
    check_headers(jar);
    em_cookie_jar_free(j2);
    em_cookie_jar_free(jar);
    em_buf_free(&a);
    em_buf_free(&b);
    return 0;
}
